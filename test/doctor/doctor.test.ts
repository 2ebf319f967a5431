import { http, HttpResponse } from 'msw';
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, type Environment } from '../../shared/config';
import { formatDoctorReport, runDoctor, type DoctorReport } from '../../shared/doctor/doctor';
import { createFakeWorld } from '../../dev/fakes/world';
import { main as doctorCli } from '../../scripts/doctor';
import { startMockServer } from '../support/msw';
import { resetAllStorage } from '../support/storage';

/** The doctor against the fakes, configured right, then wrong in one way at a time: each way is its own ✗. */
const WEBHOOK_URL = 'https://func-contoso.test/api/webhooks/business-central';
const RIGHT: Environment = { ...process.env, IPAAS_SYSTEM_ID: '1207', WEBHOOK_NOTIFICATION_URL: WEBHOOK_URL, HTTP_MAX_ATTEMPTS: '1' };
const config = loadConfig(RIGHT);
const world = createFakeWorld(config);
let handshake: 'echo' | 'wrong' | 'missing' = 'echo';
const server = startMockServer(
  ...world.handlers,
  // The deployed webhook function, as far as the handshake goes.
  http.all(WEBHOOK_URL, ({ request }) => {
    const token = new URL(request.url).searchParams.get('validationToken') ?? '';
    if (handshake === 'missing') return new HttpResponse(null, { status: 404 });
    return new HttpResponse(handshake === 'echo' ? token : 'hello', { status: 200, headers: { 'Content-Type': 'text/plain' } });
  }),
);

function failedIds(report: DoctorReport): string[] {
  return report.checks.filter((check) => check.status === 'fail').map((check) => check.id);
}
function check(report: DoctorReport, id: string) {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}
function writes(): number {
  return world.ipaas.requests.create + world.ipaas.requests.update + world.ipaas.requests.addAddress + world.ipaas.requests.linkExternalId;
}

beforeAll(async () => {
  await resetAllStorage();
  handshake = 'echo';
  // Our subscription exists, as the subscription timer would have made it.
  const bc = createBusinessCentralClient(config.businessCentral, config.http);
  await bc.createSubscription({ notificationUrl: WEBHOOK_URL, resource: bc.customersResource, clientState: config.webhook.clientState });
});

beforeEach(() => {
  handshake = 'echo';
  world.ipaas.reset();
});

afterEach(() => server.resetHandlers());

test('configured right: every check passes, one line each, and nothing is written', async () => {
  const subscriptionsBefore = world.businessCentral.subscriptions().length;
  const report = await runDoctor(RIGHT);
  expect(report.checks.map((item) => [item.id, item.status])).toEqual([
    ['settings', 'pass'],
    ['bc-token', 'pass'],
    ['bc-environment', 'pass'],
    ['bc-company', 'pass'],
    ['bc-customers', 'pass'],
    ['bc-metadata', 'pass'],
    ['bc-subscription', 'pass'],
    ['webhook-url', 'pass'],
    ['webhook-handshake', 'pass'],
    ['ipaas-token', 'pass'],
    ['ipaas-description', 'pass'],
    ['ipaas-system-id', 'pass'],
    ['ipaas-paths', 'pass'],
    ['ipaas-address-mode', 'pass'],
    ['storage', 'pass'],
  ]);
  expect(report.ok).toBe(true);
  expect(check(report, 'bc-subscription').detail).toMatch(/expires 20\d\d-/u);
  expect(check(report, 'ipaas-system-id').detail).toContain('1207');
  expect(writes()).toBe(0);
  expect(world.ipaas.customers()).toEqual([]);
  expect(world.businessCentral.subscriptions()).toHaveLength(subscriptionsBefore);
  const text = formatDoctorReport(report);
  expect(text.split('\n').filter((line) => line.startsWith('✓'))).toHaveLength(15);
  expect(text).not.toContain(config.ipaas.apiToken);
  expect(text).not.toContain(config.businessCentral.clientSecret);
});

const WRONG: Array<[string, Environment, string, RegExp]> = [
  ['a wrong Business Central secret', { BC_CLIENT_SECRET: 'not-the-secret' }, 'bc-token', /BC_CLIENT_SECRET/u],
  ['a wrong company id', { BC_COMPANY_ID: '00000000-0000-0000-0000-000000000001' }, 'bc-company', /BC_COMPANY_ID/u],
  ['a wrong environment', { BC_ENVIRONMENT: 'sandbox-typo' }, 'bc-environment', /BC_ENVIRONMENT/u],
  ['a refused iPaaS.com token', { IPAAS_API_TOKEN: 'expired-key-0000' }, 'ipaas-token', /IPAAS_API_TOKEN/u],
  ['a wrong IPAAS_SYSTEM_ID', { IPAAS_SYSTEM_ID: '4242' }, 'ipaas-system-id', /IPAAS_SYSTEM_ID/u],
  ['a wrong iPaaS.com path', { IPAAS_PATHS: '{"createCustomer":"/customers/v2/Customers/New"}' }, 'ipaas-paths', /IPAAS_PATHS/u],
  // Settings refuse plain http for any remote URL, so this one is caught by the settings check, naming the setting.
  ['an http webhook URL', { WEBHOOK_NOTIFICATION_URL: 'http://func-contoso.test/api/webhooks/business-central' }, 'settings', /WEBHOOK_NOTIFICATION_URL/u],
];

test.each(WRONG)('%s is its own ✗ with the setting to change', async (_name, overrides, failing, fix) => {
  const report = await runDoctor({ ...RIGHT, ...overrides });
  expect(failedIds(report)).toEqual([failing]);
  expect(report.ok).toBe(false);
  expect(check(report, failing).fix).toMatch(fix);
  expect(writes()).toBe(0);
});

test('a webhook URL that does not answer the handshake is its own ✗', async () => {
  for (const mode of ['wrong', 'missing'] as const) {
    handshake = mode;
    const report = await runDoctor(RIGHT);
    expect(failedIds(report)).toEqual(['webhook-handshake']);
    expect(check(report, 'webhook-handshake').fix).toMatch(/WEBHOOK_NOTIFICATION_URL/u);
  }
});

test('the hints carry what is needed to fix: the subscriptions, the companies, the path', async () => {
  const systemId = await runDoctor({ ...RIGHT, IPAAS_SYSTEM_ID: '4242' });
  expect(check(systemId, 'ipaas-system-id').detail).toMatch(/4242 is not one of your subscriptions.*1207 \(Business Central\)/u);
  const company = await runDoctor({ ...RIGHT, BC_COMPANY_ID: '00000000-0000-0000-0000-000000000001' });
  expect(check(company, 'bc-company').detail).toContain(config.businessCentral.companyId);
  const path = await runDoctor({ ...RIGHT, IPAAS_PATHS: '{"listAddresses":"/customers/v2/Addresses/{id}"}' });
  expect(check(path, 'ipaas-paths').detail).toBe(
    'listAddresses: GET /customers/v2/Addresses/{id} is not in the description; documented: GET /customers/v2/Customer/{customerId}/Addresses',
  );
  expect(check(path, 'ipaas-paths').fix).toContain('{"listAddresses":"/customers/v2/Customer/{id}/Addresses"}');
});

test('IPAAS_SYSTEM_ID unset is a warning listing the subscriptions, not a failure', async () => {
  const { IPAAS_SYSTEM_ID: _unset, ...withoutSystemId } = RIGHT;
  const report = await runDoctor(withoutSystemId);
  expect(check(report, 'ipaas-system-id')).toMatchObject({ status: 'warn', detail: expect.stringContaining('1207') });
  expect(report.ok).toBe(true);
});

test('invalid settings: the settings ✗ names them; checks that need them are skipped', async () => {
  const report = await runDoctor({ ...RIGHT, IPAAS_PATHS: '{"nope":"/x"}', BC_COMPANY_ID: 'not-a-guid' });
  expect(failedIds(report)).toEqual(['settings']);
  expect(check(report, 'settings').detail).toMatch(/BC_COMPANY_ID.*IPAAS_PATHS|IPAAS_PATHS.*BC_COMPANY_ID/u);
  expect(check(report, 'storage').status).toBe('pass');
  expect(report.checks.filter((item) => item.status === 'skip').length).toBeGreaterThan(5);
});

test('npm run doctor: exit 0 / 1, --json prints the same report', async () => {
  const out: string[] = [];
  const io = { env: RIGHT, out: (text: string) => out.push(text), err: (text: string) => out.push(text) };
  expect(await doctorCli([], io)).toBe(0);
  expect(out.join('\n')).toMatch(/^✓ Settings/mu);
  out.length = 0;
  expect(await doctorCli(['--json'], { ...io, env: { ...RIGHT, IPAAS_API_TOKEN: 'expired-key-0000' } })).toBe(1);
  expect(JSON.parse(out.join(''))).toMatchObject({ ok: false, checks: expect.arrayContaining([expect.objectContaining({ id: 'ipaas-token', status: 'fail' })]) });
  expect(await doctorCli(['--nope'], io)).toBe(2);
});
