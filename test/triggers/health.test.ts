import { DEV_ACCOUNT_KEY } from '../../dev/azurite';
import { getServices, resetServices } from '../../shared/services';
import { TEST_SETTINGS } from '../support/settings';
import { useHarness } from './harness';

const harness = useHarness();
const health = () => fetch(`${harness.host().url}/api/health/details`);
const anonymousHealth = () => fetch(`${harness.host().url}/api/health`);

const storageSetting = process.env.AzureWebJobsStorage;
afterEach(() => {
  Object.assign(process.env, TEST_SETTINGS, { AzureWebJobsStorage: storageSetting });
  resetServices();
});

test('ok when the settings are valid and storage answers', async () => {
  const response = await anonymousHealth();
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok' });
  const details = await health();
  expect(details.status).toBe(200);
  expect(await details.json()).toEqual({
    status: 'ok',
    checks: [
      { name: 'settings', status: 'ok', message: null },
      { name: 'storage', status: 'ok', message: null },
    ],
  });
});

test('the anonymous route says only down, never which setting or part fails', async () => {
  delete process.env.BC_CLIENT_ID;
  resetServices();
  const response = await anonymousHealth();
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ status: 'down' });
});

test('a missing setting → 503 naming it, without revealing any value', async () => {
  delete process.env.BC_CLIENT_ID;
  resetServices();
  const response = await health();
  expect(response.status).toBe(503);
  const body = (await response.json()) as { status: string; checks: Array<{ name: string; status: string; message: string | null }> };
  expect(body.status).toBe('down');
  expect(body.checks).toEqual([{ name: 'settings', status: 'down', message: expect.stringContaining('BC_CLIENT_ID') }, { name: 'storage', status: 'ok', message: null }]);
  const text = JSON.stringify(body);
  for (const secret of [TEST_SETTINGS.BC_CLIENT_SECRET, TEST_SETTINGS.IPAAS_API_TOKEN, TEST_SETTINGS.WEBHOOK_CLIENT_STATE]) expect(text).not.toContain(secret);
});

test('a malformed setting is named, its value is not shown', async () => {
  process.env.BC_COMPANY_ID = 'company-secret-looking-value';
  resetServices();
  const response = await health();
  expect(response.status).toBe(503);
  const text = await response.text();
  expect(text).toContain('BC_COMPANY_ID');
  expect(text).not.toContain('company-secret-looking-value');
});

test('storage refusing our credentials → 503 with part storage; the message names the part and status, never the key', async () => {
  // The real Azurite, asked with a wrong account key: it answers 403 as Azure Storage does to a key or role it refuses.
  const wrongKey = Buffer.from('wrong key wrong key').toString('base64');
  process.env.AzureWebJobsStorage = String(storageSetting).replace(DEV_ACCOUNT_KEY, wrongKey);
  expect(process.env.AzureWebJobsStorage).toContain(wrongKey);
  resetServices();
  const response = await health();
  expect(response.status).toBe(503);
  const text = await response.text();
  expect(JSON.parse(text)).toEqual({
    status: 'down',
    checks: [
      { name: 'settings', status: 'ok', message: null },
      { name: 'storage', status: 'down', message: expect.stringMatching(/^(Table|Queue) storage failed: HTTP 403\b/u) },
    ],
  });
  expect(text).not.toContain(wrongKey);
});

test('an unusable storage setting is reported under storage without its value', async () => {
  process.env.AzureWebJobsStorage = 'AccountKey=super-secret-key;this is not a connection string';
  resetServices();
  const response = await health();
  expect(response.status).toBe(503);
  const text = await response.text();
  expect(text).toContain('AzureWebJobsStorage');
  expect(text).not.toContain('super-secret-key');
});

test('the handshake never depends on settings: it answers even when they are broken', async () => {
  delete process.env.WEBHOOK_CLIENT_STATE;
  process.env.BC_COMPANY_ID = 'broken';
  resetServices();
  const response = await fetch(`${harness.host().url}/api/webhooks/business-central?validationToken=abc123`, { method: 'POST' });
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('abc123');
  // A notification then cannot be verified: 503 (Business Central retries), never a 4xx that would delete the subscription.
  const notification = await fetch(`${harness.host().url}/api/webhooks/business-central`, { method: 'POST', body: '{"value":[]}' });
  expect(notification.status).toBe(503);
});

test('degraded (200) while a service is on hold: which one, since when, and what to do', async () => {
  const since = '2026-11-27T09:00:00.000Z';
  await getServices().storage.state.put('outage-ipaas', {
    service: 'ipaas',
    kind: 'auth',
    since,
    retryAt: '2026-11-27T09:05:00.000Z',
    openings: 3,
    message: 'iPaaS.com GET /customers/v2/Customers answered 401: AUTH-1001 The API key is missing, invalid or expired (check IPAAS_API_TOKEN)',
  });
  try {
    const response = await health();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; onHold: Array<Record<string, string>>; checks: Array<Record<string, string>> };
    expect(body.status).toBe('degraded');
    expect(body.checks).toContainEqual({ name: 'iPaaS.com', status: 'degraded', message: expect.stringContaining('renew IPAAS_API_TOKEN') });
    // The anonymous route says degraded and nothing more.
    expect(await (await anonymousHealth()).json()).toEqual({ status: 'degraded' });
    expect(body.onHold).toEqual([
      expect.objectContaining({ service: 'iPaaS.com', reason: 'auth', since, action: expect.stringContaining('iPaaS.com refuses the API key: renew IPAAS_API_TOKEN') }),
    ]);
    expect(JSON.stringify(body)).not.toContain(TEST_SETTINGS.IPAAS_API_TOKEN);
  } finally {
    await getServices().storage.state.delete('outage-ipaas');
  }
  expect(await (await anonymousHealth()).json()).toEqual({ status: 'ok' });
});
