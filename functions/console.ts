import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ConsoleAccess } from '../shared/config';
import type { ConsoleAsset } from '../shared/console/assets';
import { CONSOLE_CSP, CONSOLE_FILES, type ConsoleFile } from '../shared/console/files';
import { describeError } from '../shared/errors';

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Set by App Service Authentication for a signed-in user. The platform strips it from what clients send only while its
 * authentication is on (WEBSITE_AUTH_ENABLED), so it is trusted only then: anyone can send the header otherwise.
 */
const PRINCIPAL_HEADER = 'x-ms-client-principal-id';

const text = (status: number, body: string, headers: Record<string, string> = {}): HttpResponseInit => ({
  status,
  headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  body,
});

/**
 * The operator console: GET /api/console is the page, /api/console/app.js and app.css its only files. The page
 * holds no data; it reads and acts through the API routes (function keys in Azure). CONSOLE_ACCESS decides who may
 * open it: locally anyone, in Azure only users signed in with Entra ID through App Service Authentication
 * (docs/deploy.md), which must be on (CONSOLE_CLIENT_ID): without it the console refuses and says how to turn it on.
 */
export async function consoleHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const asset = (request.params.asset ?? '').trim();
  const pathname = new URL(request.url).pathname.replace(/\/+$/u, '');
  // The settings schema and the page's files load on the first request (docs/performance.md, cold start).
  const [{ ConfigError, loadConsoleAccess, platformAuthenticationEnabled, CONSOLE_SIGN_IN_MISSING }, { consoleFile, consolePage }] = await Promise.all([
    import('../shared/config.js'),
    import('../shared/console/assets.js'),
  ]);
  let access: ConsoleAccess;
  try {
    access = loadConsoleAccess(process.env);
  } catch (failure) {
    context.error(`console: ${describeError(failure)}`);
    return text(500, failure instanceof ConfigError ? failure.message : 'The console settings could not be read');
  }
  if (access === 'off') return text(404, 'The console is switched off here (CONSOLE_ACCESS=off)');
  // Without the platform's authentication a principal header is whatever the client wrote: refuse, and say how to fix it.
  if (access === 'signed-in' && !platformAuthenticationEnabled(process.env)) return text(403, CONSOLE_SIGN_IN_MISSING);
  if (access === 'signed-in' && !request.headers.get(PRINCIPAL_HEADER)?.trim()) {
    // The page sends the browser to Entra ID sign-in and back; its files are simply refused.
    if (asset !== '') return text(401, 'Sign in first');
    return text(302, 'Sign in first', { Location: `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(pathname)}` });
  }
  let served: ConsoleAsset;
  try {
    if (asset === '') {
      // Absolute asset and API paths from where the page was really reached, so /api/console/ works as well.
      const basePath = pathname;
      const apiBase = basePath.replace(/\/console$/iu, '') || '/';
      served = consolePage(basePath, apiBase);
    } else if ((CONSOLE_FILES as readonly string[]).includes(asset)) {
      served = consoleFile(asset as ConsoleFile);
    } else {
      return text(404, 'Not found');
    }
  } catch (failure) {
    context.error(`console: the page could not be prepared: ${describeError(failure)}`);
    return text(500, 'The console could not be prepared; see the logs');
  }
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': served.contentType,
    ETag: served.etag,
    // The page is small and must reflect a new deployment at once; assets are addressed by hash from it.
    'Cache-Control': asset === '' ? 'no-store' : 'public, max-age=300, must-revalidate',
  };
  if (asset !== '' && request.headers.get('if-none-match') === served.etag) return { status: 304, headers };
  return { status: 200, headers, body: served.body };
}

app.http('console', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'console/{asset?}',
  handler: consoleHttp,
});
