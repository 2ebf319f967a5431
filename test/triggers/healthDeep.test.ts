import { FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { resetServices } from '../../shared/services';
import { TEST_SETTINGS } from '../support/settings';
import { useHarness } from './harness';

const config = loadConfig(process.env);
const ipaas = new FakeIpaas({ apiBaseUrl: config.ipaas.apiBaseUrl, apiToken: config.ipaas.apiToken });
const harness = useHarness({ handlers: ipaas.handlers });
const get = (path: string) => fetch(`${harness.host().url}${path}`);

afterEach(() => {
  Object.assign(process.env, TEST_SETTINGS);
  delete process.env.IPAAS_SYSTEM_ID;
  resetServices();
});

test('GET /api/health/details?deep=true runs the doctor: warnings are degraded (200), each check with its fix', async () => {
  const response = await get('/api/health/details?deep=true');
  expect(response.status).toBe(200);
  const body = (await response.json()) as { status: string; checks: Array<{ id: string; status: string; fix: string | null }> };
  expect(body.status).toBe('degraded');
  expect(body.checks.filter((check) => check.status === 'fail')).toEqual([]);
  expect(body.checks.find((check) => check.id === 'ipaas-system-id')).toMatchObject({ status: 'warn', fix: expect.stringContaining('IPAAS_SYSTEM_ID') });
  expect(body.checks.find((check) => check.id === 'webhook-url')).toMatchObject({ status: 'warn' });
  expect(JSON.stringify(body)).not.toContain(TEST_SETTINGS.IPAAS_API_TOKEN);
  expect(ipaas.requests.create + ipaas.requests.update + ipaas.requests.addAddress + ipaas.requests.linkExternalId).toBe(0);
});

test('a failing deep check answers 503 and names the setting', async () => {
  process.env.IPAAS_SYSTEM_ID = '4242';
  resetServices();
  const response = await get('/api/health/details?deep=true');
  expect(response.status).toBe(503);
  const body = (await response.json()) as { status: string; checks: Array<{ id: string; status: string }> };
  expect(body.status).toBe('down');
  expect(body.checks.filter((check) => check.status === 'fail').map((check) => check.id)).toEqual(['ipaas-system-id']);
});

test('the anonymous route does not run deep checks; it points at the keyed one', async () => {
  const response = await get('/api/health?deep=true');
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ error: { code: 'InvalidParameter', message: expect.stringContaining('/api/health/details?deep=true') } });
  expect((await get('/api/health')).status).toBe(200);
});
