import { createHash } from 'node:crypto';
import { compiledConsoleAssets } from './compiled';
import type { ConsoleAssets, ConsoleFile } from './files';

/** A file of the operator console as served: type, body and a strong validator for conditional requests. */
export interface ConsoleAsset {
  contentType: string;
  body: string;
  etag: string;
}

export { CONSOLE_CSP, CONSOLE_FILES, type ConsoleAssets, type ConsoleFile } from './files';

let cached: ConsoleAssets | undefined;

export function consoleAssets(): ConsoleAssets {
  cached ??= compiledConsoleAssets();
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
