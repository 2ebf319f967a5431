import type { ConsoleAssets } from './files';

/**
 * The console's files, compiled. From sources (the local host, tests) they are compiled from console/ on first
 * use with esbuild, a development dependency. `npm run build` replaces this module with the compiled strings
 * (scripts/build.ts), so the deployment package carries the page and no compiler.
 */
export function compiledConsoleAssets(): ConsoleAssets {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildConsoleAssets } = require('../../console/build') as { buildConsoleAssets(): ConsoleAssets };
  return buildConsoleAssets();
}
