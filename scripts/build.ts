/**
 * `npm run build`: type-checks the deployable code, then bundles it into dist/ (package.json `main` is
 * dist/index.mjs, the one file the Functions host loads; the chunks beside it load on first use). How and
 * why it is bundled this way: scripts/bundle.ts.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { appBundleOptions, compiledConsole, ENTRY_FILE, loadedAtStart } from './bundle';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  // --no-typecheck: bundle only (the bundle's own test); the build proper always type-checks first.
  if (!process.argv.includes('--no-typecheck')) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--noEmit'], {
      stdio: 'inherit',
    });
  }
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const options = appBundleOptions(path.join(root, 'index.ts'), path.join(root, 'dist'));
  const result = await build({ ...options, plugins: [...(options.plugins ?? []), compiledConsole()] });
  const outputs = Object.entries(result.metafile?.outputs ?? {}).filter(([file]) => file.endsWith('.mjs'));
  const atStart = loadedAtStart(path.join(root, 'dist', ENTRY_FILE));
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
  const total = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
  console.log(`dist/${ENTRY_FILE} built: ${kib(atStart.bytes)} in ${atStart.files} files loaded at start, ${kib(total)} in ${outputs.length} files in all (source maps beside them)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
