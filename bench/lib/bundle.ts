import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Bundles a bench entry the way scripts/build.ts bundles the app (one minified CommonJS file, the ESM
 * import.meta.url shim), so a measurement runs the code as deployed: plain node, no tsx transpiler in memory.
 */
export async function bundleBenchEntry(entry: string): Promise<string> {
  const outfile = path.join(ROOT, '.bench', `${path.basename(entry, '.ts')}.js`);
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    keepNames: true,
    logLevel: 'warning',
    external: ['@azure/functions-core'],
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  return outfile;
}
