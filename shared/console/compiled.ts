import type { ConsoleAssets } from './files';

/**
 * Where the console's compiled files come from. The library compiles nothing and imports nothing above it: the side
 * that runs the app provides them. `npm run build` replaces this module with one that returns the compiled strings
 * (scripts/bundle.ts, compiledConsole), so the deployment package carries the page and no compiler; the local host
 * (dev/host/loadApp.ts) and tests that serve the console from sources provide a compiler from console/build.ts.
 */
let provided: (() => ConsoleAssets) | undefined;

/** Used by the local host and tests before the console function serves its first file. */
export function provideConsoleAssets(compile: () => ConsoleAssets): void {
  provided = compile;
}

export function compiledConsoleAssets(): ConsoleAssets {
  if (!provided) {
    throw new Error('The console is not compiled: run the built app (npm run build) or the local host (npm start), which compile console/ for it');
  }
  return provided();
}
