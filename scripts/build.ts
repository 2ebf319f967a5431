/**
 * `npm run build`: type-checks the deployable code, then bundles it into dist/index.js (package.json `main`),
 * the one file the Functions host loads. '@azure/functions-core' stays external: the worker provides it.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  // --no-typecheck: bundle only (the bundle's own test); the build proper always type-checks first.
  if (!process.argv.includes('--no-typecheck')) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--noEmit'], {
      stdio: 'inherit',
    });
  }
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  // Two bundles: the app, and the Azure Monitor SDK that the app requires from next to itself only in
  // Azure (startup/telemetry.ts), so cold starts without Application Insights never parse it.
  const result = await build({
    entryPoints: { index: path.join(root, 'index.ts'), azureMonitor: path.join(root, 'startup', 'azureMonitor.ts') },
    outdir: path.join(root, 'dist'),
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
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    metafile: true,
    logLevel: 'warning',
  });
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, output]) => `${path.basename(file)} ${(output.bytes / 1024).toFixed(0)} KiB`);
  console.log(`dist/ built: ${sizes.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
