import { http, HttpResponse } from 'msw';
import { createBusinessCentralClients } from '../../shared/businessCentral/client';
import { loadConfig, type Environment } from '../../shared/config';
import { runDoctor, type DoctorReport } from '../../shared/doctor/doctor';
import { createFakeWorld } from '../../dev/fakes/world';
import { TWO_COMPANY_IPAAS_SUBSCRIPTIONS } from '../../dev/sandbox/demoData';
import { startMockServer } from '../support/msw';
import { resetAllStorage } from '../support/storage';

/** The doctor with two companies: every company's Business Central, mapping, iPaaS.com token and system id is checked. */
const WEBHOOK_URL = 'https://func-contoso.test/api/webhooks/business-central';
const US = process.env.BC_COMPANY_ID!;
const CA = '2c9e4b1a-7f3d-4c8e-9a6b-5d0e1f2a3b4c';
const RIGHT: Environment = {
  ...process.env,
  BC_COMPANY_ID: '',
  BC_COMPANIES: JSON.stringify([
    { id: US, name: 'CRONUS USA, Inc.' },
    { id: CA, name: 'CRONUS Canada', ipaasSystemId: 1208, mappingFile: 'dev/sandbox/cronus-canada-mapping.json', ipaasApiTokenSetting: 'IPAAS_TOKEN_CA' },
  ]),
  IPAAS_TOKEN_CA: 'canada-ipaas-token-0001',
  IPAAS_SYSTEM_ID: '1207',
  WEBHOOK_NOTIFICATION_URL: WEBHOOK_URL,
  HTTP_MAX_ATTEMPTS: '1',
};
const config = loadConfig(RIGHT);
const world = createFakeWorld(config, {}, { subscriptions: TWO_COMPANY_IPAAS_SUBSCRIPTIONS });
startMockServer(
  ...world.handlers,
  http.all(WEBHOOK_URL, ({ request }) => new HttpResponse(new URL(request.url).searchParams.get('validationToken') ?? '', { status: 200 })),
);

const statusOf = (report: DoctorReport): Record<string, string> => Object.fromEntries(report.checks.map((check) => [check.id, check.status]));

beforeAll(async () => {
  await resetAllStorage();
  const clients = createBusinessCentralClients(config.businessCentral, [US, CA], config.http);
  for (const client of clients.values()) await client.createSubscription({ notificationUrl: WEBHOOK_URL, resource: client.customersResource, clientState: config.webhook.clientState });
});

test('configured right: each company passes its own checks, the first with the ids of one company', async () => {
  const report = await runDoctor(RIGHT);
  expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
  expect(statusOf(report)).toMatchObject({
    'bc-company': 'pass',
    'bc-customers': 'pass',
    'bc-subscription': 'pass',
    mapping: 'pass',
    [`bc-company:${CA}`]: 'pass',
    [`bc-customers:${CA}`]: 'pass',
    [`bc-subscription:${CA}`]: 'pass',
    [`mapping:${CA}`]: 'pass',
    'ipaas-token': 'pass',
    [`ipaas-token:${CA}`]: 'pass',
    'ipaas-system-id': 'pass',
    [`ipaas-system-id:${CA}`]: 'pass',
  });
  const canadaMapping = report.checks.find((check) => check.id === `mapping:${CA}`)!;
  expect(canadaMapping).toMatchObject({ title: 'Mapping file (CRONUS Canada)', detail: expect.stringContaining('cronus-canada-mapping.json') });
  expect(report.checks.find((check) => check.id === `ipaas-system-id:${CA}`)!.detail).toContain('1208');
});

test('one company wrong is its own ✗, naming the company and its BC_COMPANIES entry', async () => {
  world.businessCentral.denyCompany(CA);
  try {
    const denied = await runDoctor(RIGHT);
    expect(denied.checks.filter((check) => check.status === 'fail').map((check) => check.id)).toEqual([`bc-company:${CA}`]);
    expect(denied.checks.find((check) => check.id === `bc-company:${CA}`)).toMatchObject({ title: 'Business Central company (CRONUS Canada)', fix: expect.stringContaining('BC_COMPANIES entry 2') });
  } finally {
    world.businessCentral.denyCompany(CA, false);
  }
  const wrongToken = await runDoctor({ ...RIGHT, IPAAS_TOKEN_CA: 'expired-canada-key' });
  expect(wrongToken.checks.filter((check) => check.status === 'fail').map((check) => check.id)).toEqual([`ipaas-token:${CA}`]);
  expect(wrongToken.checks.find((check) => check.id === `ipaas-token:${CA}`)!.fix).toContain('IPAAS_TOKEN_CA');
  const wrongSystem = await runDoctor({ ...RIGHT, BC_COMPANIES: RIGHT.BC_COMPANIES!.replace('1208', '4242') });
  expect(wrongSystem.checks.filter((check) => check.status === 'fail').map((check) => check.id)).toEqual([`ipaas-system-id:${CA}`]);
});
