/** The console's files and headers, with no dependency: the console function loads them at registration. */
export const CONSOLE_FILES = ['app.js', 'app.css'] as const;
export type ConsoleFile = (typeof CONSOLE_FILES)[number];

/**
 * Nothing but this origin: no CDN, no third-party request, no inline script or style, no framing.
 * `connect-src 'self'` lets the page poll the API it is served with and nothing else.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's three files as compiled from console/: the page (with placeholders), its script and its style. */
export interface ConsoleAssets {
  /** The page, with `%BASE%` where the console's own path goes and `%API%` for the API root. */
  html: string;
  'app.js': string;
  'app.css': string;
}
