/**
 * `npm run build`: type-checks the deployable code, then bundles it into dist/index.js (package.json `main`),
 * the one file the Functions host loads. '@azure/functions-core' stays external: the worker provides it.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { buildConsoleAssets } from '../console/build';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  // --no-typecheck: bundle only (the bundle's own test); the build proper always type-checks first.
  if (!process.argv.includes('--no-typecheck')) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--noEmit'], {
      stdio: 'inherit',
    });
  }
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  // The operator console (console/) ships inside the bundle: the function serves these strings.
  const consoleAssets = buildConsoleAssets();
  const result = await build({
    entryPoints: [path.join(root, 'index.ts')],
    outfile: path.join(root, 'dist', 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    sourcemap: true,
    minify: true,
    keepNames: true,
    legalComments: 'external',
    external: ['@azure/functions-core'],
    // Some Azure SDK packages ship ESM that reads import.meta.url, which is empty in a CommonJS bundle.
    define: { 'import.meta.url': 'importMetaUrl', CONSOLE_ASSETS: JSON.stringify(consoleAssets) },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  console.log(`dist/index.js built (${(bytes / 1024).toFixed(0)} KiB with source map)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
