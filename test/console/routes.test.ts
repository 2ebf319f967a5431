import { ConfigError, loadConsoleAccess } from '../../shared/config';
import { useE2E, waitFor } from '../e2e/support';

/**
 * The console's routes over HTTP through the local host: the page and its two files with their security headers,
 * who may open it (CONSOLE_ACCESS), the read-only status route and the history by customer number.
 */
const e2e = useE2E();

describe('GET /api/console', () => {
  test('serves the page and its files from the app itself, with a CSP that allows nothing but this origin', async () => {
    const { http } = await e2e.start();
    const page = await http('/api/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = String(page.body);
    // Absolute paths from where the page was reached; no host other than this one named anywhere.
    expect(html).toMatch(/<script defer src="\/api\/console\/app\.js\?v=[\w-]{8}"><\/script>/u);
    expect(html).toMatch(/<link rel="stylesheet" href="\/api\/console\/app\.css\?v=[\w-]{8}">/u);
    expect(html).toContain('<meta name="api-base" content="/api">');
    expect(html).not.toMatch(/https?:\/\//u);
    // No inline script or style the CSP would block.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/u);
    expect(html).not.toMatch(/<style|style="/u);

    // With a trailing slash the page still finds its files.
    expect(String((await http('/api/console/')).body)).toContain('src="/api/console/app.js?v=');

    const script = await http('/api/console/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(String(script.body).length).toBeGreaterThan(1000);
    expect(String(script.body)).not.toMatch(/\beval\(|new Function\(/u);
    const style = await http('/api/console/app.css');
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(String(style.body)).not.toMatch(/@import|url\(\s*['"]?https?:/u);

    const etag = script.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/u);
    expect((await http('/api/console/app.js', { headers: { 'If-None-Match': etag! } })).status).toBe(304);
    expect((await http('/api/console/app.js', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);

    expect((await http('/api/console/secrets.json')).status).toBe(404);
    expect((await http('/api/console/..%2Fhost.json')).status).toBe(404);
    expect((await http('/api/console', { method: 'POST', body: {} })).status).toBe(405);
  });

  test('CONSOLE_ACCESS=signed-in: the page sends an anonymous browser to Entra ID sign-in, files are refused; a signed-in user gets both', async () => {
    const { http, url } = await e2e.start();
    process.env.CONSOLE_ACCESS = 'signed-in';
    // As the platform sets it with App Service Authentication on (CONSOLE_CLIENT_ID); test/console/signIn.test.ts covers it off.
    process.env.WEBSITE_AUTH_ENABLED = 'True';
    const anonymous = await fetch(`${url}/api/console`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fconsole');
    expect((await http('/api/console/app.js')).status).toBe(401);
    // App Service Authentication sets this header for a signed-in user (and strips it from client requests).
    const signedIn = { 'x-ms-client-principal-id': '00000000-0000-0000-0000-000000000001' };
    expect((await http('/api/console', { headers: signedIn })).status).toBe(200);
    expect((await http('/api/console/app.js', { headers: signedIn })).status).toBe(200);
  });

  test('CONSOLE_ACCESS=off hides it; a wrong value names the setting', async () => {
    const { http } = await e2e.start();
    process.env.CONSOLE_ACCESS = 'off';
    expect((await http('/api/console')).status).toBe(404);
    process.env.CONSOLE_ACCESS = 'everyone';
    const wrong = await http('/api/console');
    expect(wrong.status).toBe(500);
    expect(String(wrong.body)).toContain('CONSOLE_ACCESS must be one of open, signed-in, off');
  });
});

describe('loadConsoleAccess', () => {
  test('open locally, signed-in in Azure (WEBSITE_SITE_NAME) unless set; anything else is a ConfigError', () => {
    expect(loadConsoleAccess({})).toBe('open');
    expect(loadConsoleAccess({ WEBSITE_SITE_NAME: 'func-abc' })).toBe('signed-in');
    expect(loadConsoleAccess({ WEBSITE_SITE_NAME: 'func-abc', CONSOLE_ACCESS: 'open' })).toBe('open');
    expect(loadConsoleAccess({ CONSOLE_ACCESS: ' off ' })).toBe('off');
    expect(() => loadConsoleAccess({ CONSOLE_ACCESS: 'yes' })).toThrow(ConfigError);
  });
});

describe('GET /api/status', () => {
  test('the subscription as recorded, the watermark, queue depths and the optional routes of this build', async () => {
    const { http, system } = await e2e.start({ seedDemo: true });
    const before = await http('/api/status');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      subscription: { managed: true, current: null },
      poll: { watermark: null },
      queues: { sync: 0, poison: 0 },
      features: { dryRun: expect.any(Boolean), reconciliation: expect.any(Boolean) },
    });

    await system.host.runTimer('subscriptionTimer');
    await system.host.runTimer('pollCustomers');
    type Status = { subscription: { current: { subscriptionId: string; expirationDateTime: string; lastRenewedAt: string } }; poll: { watermark: string } };
    // The new subscription's catch-up poll may hold the poll lease while the timer's poll runs (it then leaves the
    // watermark to that one): wait until either has recorded it (a bound for a loaded machine).
    const after = await waitFor(
      async () => {
        const status = (await http('/api/status')).body as Status;
        return status.poll.watermark ? status : undefined;
      },
      { timeoutMs: 30_000, description: 'the watermark of the first poll' },
    );
    const subscription = system.sandbox!.world.businessCentral.subscriptions()[0]!;
    expect(after.subscription.current).toEqual({ subscriptionId: subscription.subscriptionId, expirationDateTime: subscription.expirationDateTime, lastRenewedAt: expect.any(String) });
    expect(Date.parse(after.poll.watermark)).not.toBeNaN();
    // Nothing secret: no clientState, no notification URL.
    expect(JSON.stringify(after)).not.toContain(system.settings.WEBHOOK_CLIENT_STATE!);
    expect(JSON.stringify(after)).not.toContain('webhooks/business-central');
  });
});

describe('GET /api/customers/by-number/{number}/transfers', () => {
  test('resolves the number in Business Central and answers the history; unknown is 404, an overlong number 400', async () => {
    const { http, system, waitForTransfer } = await e2e.start({ seedDemo: true });
    await system.host.runTimer('pollCustomers');
    await waitForTransfer('3f2504e0-4f89-11d3-9a0c-0305e82c3301', (transfer) => transfer.status === 'Succeeded');
    const found = await http('/api/customers/by-number/10000/transfers');
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ customerId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', customerNumber: '10000', transfers: [expect.objectContaining({ status: 'Succeeded', action: 'Created' })] });
    expect((await http('/api/customers/by-number/NOPE-1/transfers')).status).toBe(404);
    expect((await http(`/api/customers/by-number/${'9'.repeat(101)}/transfers`)).status).toBe(400);
    expect((await http('/api/customers/by-number/10000/transfers?limit=0')).status).toBe(400);
  });
});

