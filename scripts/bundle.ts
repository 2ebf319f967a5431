/**
 * How the deployable app is bundled, shared by `npm run build` and the bench (which bundles a minimal app the
 * same way to compare cold starts, and its own entries to run them as deployed).
 *
 * - ES modules with code splitting: `dist/index.mjs` holds only what registering the functions needs
 *   (`@azure/functions` and the function files); every `await import(...)` in a handler becomes a chunk in
 *   `dist/chunks/`, loaded on the first invocation that needs it. A host that starts only to answer a
 *   webhook never loads the Business Central or iPaaS.com clients.
 * - zod with its English messages only (the app never switches locale): its 60-odd other locales are a
 *   quarter of a megabyte of parsing at every cold start.
 * - Source maps are written beside each file but only read when asked for (`NODE_OPTIONS=--enable-source-maps`,
 *   docs/performance.md): reading them on every start costs more than the import itself.
 */
import path from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';

/** Where package.json `main` points: the entry the Functions worker imports. */
export const ENTRY_FILE = 'index.mjs';
export const CHUNK_DIR = 'chunks';

/** Replaces zod's index of locales with one that exports English only (`z.locales.en`). */
export function zodEnglishOnly(): Plugin {
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
        if (!/[\\/]node_modules[\\/]zod[\\/]/u.test(args.importer)) return undefined;
        return { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' };
      });
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        resolveDir: path.dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * esbuild options for an app entry. CommonJS dependencies bundled into ES modules still call `require` for
 * Node's built-ins (and '@azure/functions-core', which the Functions worker provides to `require`), so every
 * output file defines one.
 */
export function appBundleOptions(entry: string, outdir: string, options: { sourcemap?: boolean } = {}): BuildOptions {
  return {
    entryPoints: { index: entry },
    outdir,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
    sourcemap: options.sourcemap ?? true,
    minify: true,
    keepNames: true,
    legalComments: 'external',
    external: ['@azure/functions-core'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [zodEnglishOnly()],
    metafile: true,
    logLevel: 'warning',
  };
}
