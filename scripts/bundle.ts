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
 * - One copy of `@azure/core-tracing` and of each OpenTelemetry package: npm nests identical versions under several
 *   parents (the hoisted copy may be another version a dev tool wants), and each nested copy would be a module of its
 *   own in the bundle, with its own state. Azure SDK tracing works only when the clients and the tracing set-up share
 *   one `@azure/core-tracing` (startup/azureSdkTracing.ts). Two different versions stop the build (align them with
 *   package.json `overrides`).
 * - The Functions hook that `@azure/monitor-opentelemetry` registers on its own (a preInvocation hook binding the
 *   host's trace context) is left out: `@azure/functions-opentelemetry-instrumentation` registers that hook, plus the
 *   log forwarding, once (startup/azureMonitor.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';
import { buildConsoleAssets } from '../console/build';

/**
 * What runs where: Azure runs the bundle on Node 22 (infra/modules/functionApp.bicep); the project installs, tests
 * and runs locally (`npm start`, `func start` on the bundle) on Node 20.18 and later (package.json engines). The
 * bundle is written for the oldest of them, so the same dist/ runs everywhere; test/infra/pipeline.test.ts keeps
 * the three in line.
 */
export const BUNDLE_TARGET = 'node20';

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

/** Packages bundled once: tracing state lives in them, and the Azure SDK clients must see the instrumented copy. */
export const SINGLE_COPY_PACKAGES = /^(@opentelemetry\/[^/]+|@azure\/core-tracing)(?:\/.*)?$/; // esbuild filters are Go regular expressions: no flags

/** The folder `node_modules/<name>` that holds `file`. */
function packageRoot(file: string, name: string): string | undefined {
  const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
  const at = file.lastIndexOf(marker);
  return at < 0 ? undefined : file.slice(0, at + marker.length - 1);
}

/** Every installed copy of package `name` below `modulesDir` (nested node_modules included), with its version. */
function installedCopies(modulesDir: string, name: string): Array<{ root: string; version: string }> {
  const copies: Array<{ root: string; version: string }> = [];
  const visit = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    const candidate = path.join(dir, ...name.split('/'));
    try {
      const { version } = JSON.parse(readFileSync(path.join(candidate, 'package.json'), 'utf8')) as { version: string };
      copies.push({ root: candidate, version });
    } catch {
      // Not installed at this level.
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const packages = entry.startsWith('@') ? readdirSync(path.join(dir, entry)).map((inner) => path.join(dir, entry, inner)) : [path.join(dir, entry)];
      for (const pkg of packages) visit(path.join(pkg, 'node_modules'));
    }
  };
  visit(modulesDir);
  return copies;
}

/**
 * Resolves every import of a SINGLE_COPY_PACKAGES package to one installed copy: of the copies of the version found,
 * the one with the shortest path (so the choice does not depend on the order esbuild resolves in). Fails the build
 * when two versions of one package would be bundled.
 */
export function onePackageCopy(): Plugin {
  return {
    name: 'one-package-copy',
    setup(build) {
      const chosen = new Map<string, { root: string; version: string }>();
      build.onResolve({ filter: SINGLE_COPY_PACKAGES }, async (args) => {
        if ((args.pluginData as { onePackageCopy?: boolean } | undefined)?.onePackageCopy) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { onePackageCopy: true } });
        if (resolved.errors.length > 0 || resolved.external) return resolved;
        const name = SINGLE_COPY_PACKAGES.exec(args.path)?.[1] ?? args.path;
        const root = packageRoot(resolved.path, name);
        if (!root) return resolved;
        const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
        let canonical = chosen.get(name);
        if (!canonical) {
          const modulesDir = root.slice(0, root.indexOf(`${path.sep}node_modules${path.sep}`) + `${path.sep}node_modules`.length);
          const sameVersion = installedCopies(modulesDir, name).filter((copy) => copy.version === version);
          canonical = sameVersion.sort((a, b) => a.root.length - b.root.length || a.root.localeCompare(b.root))[0] ?? { root, version };
          chosen.set(name, canonical);
        }
        if (canonical.version !== version) {
          return {
            errors: [
              {
                text: `${name} would be bundled twice, ${canonical.version} (${canonical.root}) and ${version} (${root}): pin one version for both with package.json "overrides"`,
              },
            ],
          };
        }
        return { path: path.join(canonical.root, path.relative(root, resolved.path)), sideEffects: resolved.sideEffects };
      });
    },
  };
}

/** Leaves out the Functions preInvocation hook of @azure/monitor-opentelemetry (ours registers it once; see the top). */
export function withoutDistroFunctionsHook(): Plugin {
  return {
    name: 'without-distro-functions-hook',
    setup(build) {
      build.onLoad({ filter: /[\\/]@azure[\\/]monitor-opentelemetry[\\/]dist[\\/]esm[\\/]traces[\\/]azureFnHook\.js$/ }, () => ({
        contents: 'export class AzureFunctionsHook { shutdown() {} }',
        loader: 'js',
      }));
    },
  };
}

/**
 * The operator console (console/) ships inside the bundle, compiled: shared/console/compiled.ts, which from sources
 * serves what the local host provides, is replaced by the compiled strings. The console function imports it on its first request,
 * so the strings sit in a chunk of their own, not in what a cold start loads.
 */
export function compiledConsole(): Plugin {
  return {
    name: 'compiled-console',
    setup(bundle) {
      bundle.onLoad({ filter: /[\\/]shared[\\/]console[\\/]compiled\.ts$/ }, () => ({
        contents: `export function provideConsoleAssets() {}\nexport function compiledConsoleAssets() { return ${JSON.stringify(buildConsoleAssets())}; }`,
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
    target: BUNDLE_TARGET,
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
    sourcemap: options.sourcemap ?? true,
    minify: true,
    keepNames: true,
    legalComments: 'external',
    external: ['@azure/functions-core'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [zodEnglishOnly(), onePackageCopy(), withoutDistroFunctionsHook()],
    metafile: true,
    logLevel: 'warning',
  };
}

/**
 * The files a cold start loads: `entry` and every chunk it imports statically (`import … from "./chunks/…"`,
 * transitively), with their sizes. Chunks reached only through `import()` load on first use and are not counted.
 */
export function loadedAtStart(entry: string): { files: number; bytes: number } {
  const seen = new Map<string, number>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const source = readFileSync(file, 'utf8');
    seen.set(file, Buffer.byteLength(source));
    // Static imports as esbuild writes them (`import{a as b}from"./x.mjs"`, `import"./x.mjs"`), never `import(`.
    for (const match of source.matchAll(/(?:^|[;\s}])import\s*(?:[^"'(;]*?from\s*)?["'](\.{1,2}\/[^"']+)["']/gu)) visit(path.resolve(path.dirname(file), match[1]!));
  };
  visit(path.resolve(entry));
  return { files: seen.size, bytes: [...seen.values()].reduce((sum, size) => sum + size, 0) };
}
