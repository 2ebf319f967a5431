/**
 * Who the console believes: X-MS-CLIENT-PRINCIPAL-ID says who signed in only when App Service Authentication is on
 * (WEBSITE_AUTH_ENABLED, set by the platform), because only then does the platform strip it from client requests.
 * Without it, anyone can send the header, so the console refuses everyone and says how to turn sign-in on.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { serveConsoleFromSources } from '../../dev/consoleFromSources';
import { consoleHttp } from '../../functions/console';

serveConsoleFromSources();

const SPOOFED = { 'x-ms-client-principal-id': '00000000-0000-0000-0000-000000000001', 'x-ms-client-principal-name': 'admin@contoso.example' };
const request = (asset: string | undefined, headers: Record<string, string> = {}) =>
  new HttpRequest({ method: 'GET', url: `https://func-x.azurewebsites.net/api/console${asset ? `/${asset}` : ''}`, headers, params: asset ? { asset } : {} });
const context = () => new InvocationContext({ functionName: 'console', invocationId: 'test' });

const saved = { ...process.env };
afterEach(() => {
  for (const key of ['CONSOLE_ACCESS', 'WEBSITE_AUTH_ENABLED', 'WEBSITE_SITE_NAME']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('the console in Azure (CONSOLE_ACCESS signed-in, the default there)', () => {
  beforeEach(() => {
    delete process.env.CONSOLE_ACCESS;
    process.env.WEBSITE_SITE_NAME = 'func-x';
  });

  test('without App Service Authentication, a client-sent principal header is refused, with how to turn sign-in on', async () => {
    delete process.env.WEBSITE_AUTH_ENABLED;
    for (const asset of [undefined, 'app.js']) {
      const response = await consoleHttp(request(asset, SPOOFED), context());
      expect(response.status).toBe(403);
      expect(String(response.body)).toContain('azd env set CONSOLE_CLIENT_ID');
      expect(String(response.body)).toContain('CONSOLE_ACCESS=open');
    }
    process.env.WEBSITE_AUTH_ENABLED = 'False';
    expect((await consoleHttp(request(undefined, SPOOFED), context())).status).toBe(403);
  });

  test('with it, the header the platform sets opens the page, and without the header the browser is sent to sign in', async () => {
    process.env.WEBSITE_AUTH_ENABLED = 'True';
    expect((await consoleHttp(request(undefined, SPOOFED), context())).status).toBe(200);
    const anonymous = await consoleHttp(request(undefined), context());
    expect(anonymous.status).toBe(302);
    expect((anonymous.headers as Record<string, string>).Location).toBe('/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fconsole');
  });

  test('CONSOLE_ACCESS=open needs no sign-in (the operator chose it)', async () => {
    delete process.env.WEBSITE_AUTH_ENABLED;
    process.env.CONSOLE_ACCESS = 'open';
    expect((await consoleHttp(request(undefined), context())).status).toBe(200);
  });
});
