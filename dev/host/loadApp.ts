import { readdirSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { serveConsoleFromSources } from '../consoleFromSources';
import type { Registration } from './functionsCoreStub';

const CORE_MODULE = '@azure/functions-core';
const STUB_PATH = path.join(__dirname, 'functionsCoreStub');

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/**
 * Makes `require('@azure/functions-core')` resolve to our stand-in, as the Functions worker makes it
 * resolve to its own. Under jest the moduleNameMapper does the same and this is a no-op.
 */
function installCoreStub(): void {
  try {
    require.resolve(CORE_MODULE);
    return;
  } catch {
    // Not resolvable: plain Node or tsx; hook the resolver.
  }
  const moduleWithResolver = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = moduleWithResolver._resolveFilename;
  moduleWithResolver._resolveFilename = function resolve(request, parent, isMain, options) {
    if (request === CORE_MODULE) return original.call(this, STUB_PATH, parent, isMain, options);
    return original.call(this, request, parent, isMain, options);
  };
}

/**
 * Loads the app's entry (index.ts, the file package.json `main` is built from), collecting exactly
 * the registrations Azure would receive. Every file in functions/ must be registered by it.
 */
export function loadFunctionApp(root: string): Registration[] {
  installCoreStub();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const stub = require(CORE_MODULE) as typeof import('./functionsCoreStub');
  // From sources the console is compiled here, on the dev side (the build embeds it in the bundle).
  serveConsoleFromSources();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(path.join(root, 'index'));
  const functionFiles = readdirSync(path.join(root, 'functions')).filter((file) => /\.(ts|js)$/u.test(file) && !file.endsWith('.d.ts'));
  if (stub.registrations.length < functionFiles.length) {
    throw new Error(`index registers ${stub.registrations.length} functions but functions/ holds ${functionFiles.length} files; import each one in index`);
  }
  return stub.registrations;
}
