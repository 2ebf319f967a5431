/**
 * Secrets and personal data: the log scanner the suites use, the redaction every error text goes through,
 * and the worst case end to end: a remote service that echoes the email (and our token) in its error replies.
 * Nothing of it may reach a log line, a stored transfer or an API answer in clear text.
 */
import { http, HttpResponse } from 'msw';
import { loadStorageConfig } from '../../shared/config';
import { maskEmail, redact } from '../../shared/log';
import { createStorage } from '../../shared/storage';
import { TEST_SETTINGS } from '../support/settings';
import { emailNeedles, findLeaks, secretNeedles, tokenNeedles } from './support/leaks';
import { useInProcessSystem } from './support/inProcess';

const system = useInProcessSystem({ hostEnv: { AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:00' } });

describe('the log scanner', () => {
  it('finds secrets exactly and emails case-insensitively or percent-encoded, and never repeats the value in its report', () => {
    const lines = ['all fine', `token ${TEST_SETTINGS.IPAAS_API_TOKEN} here`, 'GET /x?email=JANE.DOE%40EXAMPLE.COM', 'Jane.Doe@Example.com wrote'];
    const found = findLeaks(lines, [...secretNeedles(), ...emailNeedles(['jane.doe@example.com'])]);
    expect(found).toEqual([
      expect.stringContaining('setting IPAAS_API_TOKEN in log line 2'),
      expect.stringContaining('test email #1 in log line 4'),
      expect.stringContaining('test email #1 (percent-encoded) in log line 3'),
    ]);
    expect(found.join('\n')).not.toContain(TEST_SETTINGS.IPAAS_API_TOKEN);
    expect(findLeaks(['nothing to see'], secretNeedles())).toEqual([]);
  });

  it('knows every secret setting', () => {
    expect(secretNeedles().map((needle) => needle.label)).toEqual(['setting BC_CLIENT_SECRET', 'setting IPAAS_API_TOKEN', 'setting WEBHOOK_CLIENT_STATE']);
  });
});

describe('redact', () => {
  it.each([
    ['a bearer token', 'Authorization: Bearer eyJ0eXAi.abc-def_ghi', 'eyJ0eXAi.abc-def_ghi'],
    ['basic credentials', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
    ['basic credentials in an echoed header object', '{"Authorization":"Basic dXNlcjpwYXNz"}', 'dXNlcjpwYXNz'],
    ['a client secret parameter', 'grant_type=client_credentials&client_secret=s3cr3t~value&scope=x', 's3cr3t~value'],
    ['a clientState parameter', 'clientState=abcdef123456', 'abcdef123456'],
    ['a clientState JSON field', '{"clientState": "abcdef123456", "resource": "x"}', 'abcdef123456'],
    ['an access token JSON field', '{"token_type":"Bearer","access_token":"tok.tok.tok"}', 'tok.tok.tok'],
    ['a refresh token parameter', 'refresh_token=rt-123456', 'rt-123456'],
    ['a password parameter', 'password=hunter2hunter2', 'hunter2hunter2'],
    ['a storage account key', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc/def==;', 'abc/def=='],
    ['a SAS signature', 'https://a.queue.core.windows.net/q?sv=2020&sig=abc%2Fdef&se=1', 'abc%2Fdef'],
    ['an email', 'customer jane.doe@example.com failed', 'jane.doe@example.com'],
    ['an upper-case email', 'JANE.DOE@EXAMPLE.COM', 'JANE.DOE@EXAMPLE.COM'],
    ['an internationalized email', 'user@bücher.de and 用户@例子.广告', 'user@bücher.de'],
    ['a quoted local part', 'rejected "jane doe"@example.com as invalid', 'jane doe'],
    ['a percent-encoded email', 'GET /Customers?EmailAddress=jane.doe%40example.com&action=equals', 'jane.doe%40example.com'],
    ['an email in angle brackets', 'From: Jane <jane.doe@example.com>', 'jane.doe@example.com'],
  ])('removes %s', (_label, text, secret) => {
    const clean = redact(text);
    expect(clean).not.toContain(secret);
    expect(clean.length).toBeGreaterThan(0);
  });

  // Catastrophic backtracking would not finish within the test's timeout; how fast it is belongs in bench/.
  it('finishes on long texts without a match (error bodies can be large), and bounds what it keeps', () => {
    for (const text of ['a'.repeat(8000) + '@' + 'b'.repeat(8000), '%41'.repeat(3000) + '%40' + 'b'.repeat(5000), '\\'.repeat(16_000), 'x@'.repeat(9000)]) {
      expect(typeof redact(text)).toBe('string');
    }
    expect(redact('z'.repeat(50_000)).length).toBeLessThan(20_100);
  });

  it('keeps what is not secret readable', () => {
    expect(redact('{"errors":[{"code":"VALD-1002","message":"basic validation failed"}]}')).toBe('{"errors":[{"code":"VALD-1002","message":"basic validation failed"}]}');
    expect(redact('Business Central GET /v2.0/t/production/api/v2.0/companies(1)/customers(2) answered 503')).toBe(
      'Business Central GET /v2.0/t/production/api/v2.0/companies(1)/customers(2) answered 503',
    );
    expect(redact('customer jane.doe@example.com failed')).toBe(`customer ${maskEmail('jane.doe@example.com')} failed`);
  });
});

describe('a remote service that echoes personal data and secrets in its errors', () => {
  const emails = ['echo.plain@example.com', 'ECHO.Upper@Example.COM', 'echo@bücher.de', '"echo quoted"@example.com', 'echo+tag@sub.example.co.uk'];

  it('neither the stored transfers, the transfer API nor any log line holds the email, the token or the bearer header', async () => {
    const { ipaas, businessCentral } = system.world;
    // Every iPaaS.com reply is an error that quotes the request back, as some APIs do.
    system.server.use(
      http.all(`${TEST_SETTINGS.IPAAS_API_BASE_URL}/*`, async ({ request }) => {
        const url = new URL(request.url);
        const body = request.method === 'GET' ? '' : await request.text();
        const echo = `Request ${request.method} ${url.pathname}${url.search} with ${body} and header Authorization: ${request.headers.get('authorization')} failed`;
        // Every read fails with 500 (the searches and the breaker's own probe alike), so iPaaS.com as a whole is down.
        const status = request.method === 'GET' ? 500 : 422;
        return HttpResponse.json({ errors: [{ code: status === 500 ? 'INTL-1000' : 'VALD-1002', message: echo }] }, { status });
      }),
    );
    try {
      const customers = emails.map((email, index) => businessCentral.upsertCustomer({ type: 'Person', displayName: `Echo ${index}`, email }));
      for (const customer of customers) await fetch(`${system.host().url}/api/customers/${customer.id}/sync`, { method: 'POST' });
      // Deliveries until the queue gives up (search answers 500, so every delivery fails).
      for (let delivery = 0; delivery < 6; delivery += 1) await system.host().drainQueue('syncWorker');
      await system.host().drainQueue('poisonWorker');
    } finally {
      system.server.resetHandlers();
    }
    expect(ipaas.customers()).toHaveLength(0);

    const stored = await createStorage(loadStorageConfig(process.env)).transfers.listRecent({ limit: 200 });
    // Every customer meets the 500: after three failures iPaaS.com is put on hold and the rest is held, not failed.
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored.some((record) => (record.errorMessage ?? '').includes('answered 500'))).toBe(true);
    const api = await (await fetch(`${system.host().url}/api/transfers?limit=500`)).text();
    const needles = [
      ...secretNeedles(),
      ...emailNeedles(emails),
      ...tokenNeedles(system.issuedTokens),
      { label: 'quoted local part', value: 'echo quoted' },
    ];
    expect(findLeaks(stored.map((record) => record.errorMessage ?? ''), needles)).toEqual([]);
    expect(findLeaks([api], needles)).toEqual([]);
    // Nor the outage as health reports it (the last error is kept with it).
    const health = await (await fetch(`${system.host().url}/api/health/details`)).text();
    expect(health).toContain('iPaaS.com');
    expect(findLeaks([health], needles)).toEqual([]);
    expect(findLeaks(system.logs.lines, needles)).toEqual([]);
  });
});
