import { createHash } from 'node:crypto';
import type { ConsoleFile } from './files';

/**
 * The operator console's static files. `npm run build` compiles console/ and embeds the result in
 * dist/index.js (through the CONSOLE_ASSETS define), so the deployment package carries the page with no
 * separate hosting; from sources (the local host, tests) the page is compiled on first use.
 */
export interface ConsoleAsset {
  contentType: string;
  body: string;
  /** Strong validator for conditional requests. */
  etag: string;
}

export interface ConsoleAssets {
  /** The page, with `%BASE%` where the console's own path goes and `%API%` for the API root. */
  html: string;
  'app.js': string;
  'app.css': string;
}

/** What scripts/build.ts injects; undefined when running from sources. */
declare const CONSOLE_ASSETS: ConsoleAssets | undefined;

export { CONSOLE_CSP, CONSOLE_FILES, type ConsoleFile } from './files';

let cached: ConsoleAssets | undefined;

function rawAssets(): ConsoleAssets {
  if (typeof CONSOLE_ASSETS !== 'undefined') return CONSOLE_ASSETS;
  // From sources only: esbuild is a development dependency. The bundle never reaches this line (the define
  // above makes it dead code, and esbuild drops dead branches before it resolves their require calls).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildConsoleAssets } = require('../../console/build') as { buildConsoleAssets(): ConsoleAssets };
  return buildConsoleAssets();
}

export function consoleAssets(): ConsoleAssets {
  cached ??= rawAssets();
  return cached;
}

const etagOf = (text: string): string => `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;

const escapeAttribute = (value: string): string => value.replace(/&/gu, '&amp;').replace(/"/gu, '&quot;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');

/** The page for a console mounted at `basePath` (e.g. /api/console) with the API under `apiBase` (e.g. /api). */
export function consolePage(basePath: string, apiBase: string): ConsoleAsset {
  const assets = consoleAssets();
  // Asset URLs carry their hash, so a new deployment is never served with an old script from a cache.
  const version = (file: ConsoleFile): string => etagOf(assets[file]).slice(1, 9);
  const body = assets.html
    .replaceAll('%BASE%', escapeAttribute(basePath))
    .replaceAll('%API%', escapeAttribute(apiBase))
    .replaceAll('%JS_VERSION%', version('app.js'))
    .replaceAll('%CSS_VERSION%', version('app.css'));
  return { contentType: 'text/html; charset=utf-8', body, etag: etagOf(body) };
}

export function consoleFile(file: ConsoleFile): ConsoleAsset {
  const body = consoleAssets()[file];
  return { contentType: file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', body, etag: etagOf(body) };
}
