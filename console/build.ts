/**
 * Compiles the operator console (console/*.ts, app.css, index.html) into the three strings the console
 * function serves. scripts/build.ts embeds the result in the deployment bundle; from sources the console
 * function calls this on first use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import type { ConsoleAssets } from '../shared/console/files';

const DIR = __dirname;

export function buildConsoleAssets(options: { minify?: boolean } = {}): ConsoleAssets {
  const minify = options.minify ?? true;
  const result = buildSync({
    entryPoints: [path.join(DIR, 'app.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Evergreen browsers of the last few years; no polyfills, no eval (the CSP forbids it).
    target: ['chrome109', 'edge109', 'firefox115', 'safari16'],
    minify,
    legalComments: 'none',
    logLevel: 'silent',
    outfile: 'app.js',
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'));
  if (!js) throw new Error('The console script did not compile');
  return {
    html: readFileSync(path.join(DIR, 'index.html'), 'utf8'),
    'app.js': js.text,
    'app.css': readFileSync(path.join(DIR, 'app.css'), 'utf8'),
  };
}
