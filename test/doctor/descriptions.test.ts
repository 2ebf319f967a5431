import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, type Environment } from '../../shared/config';
import { runDoctor, suggestIpaasPaths, type DoctorReport } from '../../shared/doctor/doctor';
import { createFakeWorld } from '../../dev/fakes/world';
import { FakeIpaas, type FakeIpaasAddressApi, type FakeIpaasDescriptionFormat } from '../../dev/fakes/ipaas';
import { edmx } from '../../dev/fakes/businessCentral/metadata';
import { CUSTOMER_ENTITY } from '../../dev/fakes/businessCentral/customerStore';
import { main as doctorCli } from '../../scripts/doctor';
import { startMockServer } from '../support/msw';
import { resetAllStorage } from '../support/storage';

/**
 * The doctor reads the services' own descriptions: iPaaS.com's OpenAPI documents (each variant of the fake a
 * tenant may be: the documented address endpoint, the POST elsewhere, nested addresses, none, no description at
 * all) and Business Central's $metadata. Each iPaaS.com variant is its own fake at its own base URL.
 */
const WEBHOOK_URL = 'https://func-contoso.test/api/webhooks/business-central';
const BASE: Environment = { ...process.env, IPAAS_SYSTEM_ID: '1207', WEBHOOK_NOTIFICATION_URL: WEBHOOK_URL, HTTP_MAX_ATTEMPTS: '1' };
const config = loadConfig(BASE);
const world = createFakeWorld(config);

interface Variant {
  addressApi?: FakeIpaasAddressApi;
  description?: FakeIpaasDescriptionFormat;
  clientId?: string;
}
const VARIANTS = {
  documented: {},
  swagger2: { description: 'swagger2' },
  undescribed: { description: 'none' },
  elsewhere: { addressApi: 'elsewhere' },
  nested: { addressApi: 'nested' },
  noAddresses: { addressApi: 'none' },
  clientId: { clientId: 'contoso-0001' },
} satisfies Record<string, Variant>;
type VariantName = keyof typeof VARIANTS;
const baseUrl = (name: VariantName): string => `https://api.ipaas-${name.toLowerCase()}.test`;
const fakes = Object.fromEntries(
  Object.entries(VARIANTS).map(([name, variant]) => [name, new FakeIpaas({ apiBaseUrl: baseUrl(name as VariantName), apiToken: config.ipaas.apiToken, ...variant })]),
) as Record<VariantName, FakeIpaas>;

const server = startMockServer(
  ...world.handlers,
  ...Object.values(fakes).flatMap((fake) => fake.handlers),
  http.all(WEBHOOK_URL, ({ request }) => new HttpResponse(new URL(request.url).searchParams.get('validationToken') ?? '', { status: 200 })),
);

const envFor = (name: VariantName, overrides: Environment = {}): Environment => ({ ...BASE, IPAAS_API_BASE_URL: baseUrl(name), ...overrides });
const doctor = (name: VariantName, overrides: Environment = {}): Promise<DoctorReport> => runDoctor(envFor(name, overrides));
function check(report: DoctorReport, id: string) {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}
const failedIds = (report: DoctorReport): string[] => report.checks.filter((item) => item.status === 'fail').map((item) => item.id);
const writes = (fake: FakeIpaas): number => fake.requests.create + fake.requests.update + fake.requests.addAddress + fake.requests.linkExternalId;

async function suggestCli(name: VariantName, overrides: Environment = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await doctorCli(['--suggest-paths'], { env: envFor(name, overrides), out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  await resetAllStorage();
  const bc = createBusinessCentralClient(config.businessCentral, config.http);
  await bc.createSubscription({ notificationUrl: WEBHOOK_URL, resource: bc.customersResource, clientState: config.webhook.clientState });
});
afterEach(() => server.resetHandlers());

describe('iPaaS.com descriptions', () => {
  test.each(['documented', 'swagger2'] as const)('the right settings against a %s description: every check passes, the descriptions were read, nothing written', async (name) => {
    const report = await doctor(name);
    expect(failedIds(report)).toEqual([]);
    expect(report.checks.filter((item) => item.status === 'warn')).toEqual([]);
    expect(check(report, 'ipaas-description').detail).toMatch(name === 'swagger2' ? /Swagger 2\.0/u : /OpenAPI 3\.0\.1/u);
    expect(check(report, 'ipaas-description').detail).toContain(`${baseUrl(name)}/customers/swagger/v2/swagger.json`);
    expect(check(report, 'ipaas-description').detail).toContain('/subscriptions/swagger/v2/swagger.json');
    expect(check(report, 'ipaas-paths').detail).toMatch(/9 documented as the client uses them/u);
    expect(check(report, 'ipaas-address-mode')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^separate: addresses are posted to \/customers\/v2\/Customer\/\{customerId\}\/Address/u) });
    expect(fakes[name].requests.description).toBe(2);
    expect(writes(fakes[name])).toBe(0);
  });

  test('addAddress pointed at a path documented only for GET: a ✗ naming addAddress and the documented path; --suggest-paths prints the fix, which passes', async () => {
    const wrong = { IPAAS_PATHS: JSON.stringify({ addAddress: '/customers/v2/Customer/{id}/Addresses' }) };
    const report = await doctor('documented', wrong);
    expect(failedIds(report)).toEqual(['ipaas-paths']);
    const paths = check(report, 'ipaas-paths');
    expect(paths.detail).toContain('addAddress: POST /customers/v2/Customer/{id}/Addresses is documented for GET only; documented: POST /customers/v2/Customer/{customerId}/Address');
    expect(paths.fix).toContain('IPAAS_PATHS');
    expect(paths.fix).toContain('{"addAddress":"/customers/v2/Customer/{id}/Address"}');

    const suggestion = await suggestCli('documented', wrong);
    expect(suggestion.code).toBe(0);
    const value = JSON.parse(suggestion.out) as Record<string, string>;
    expect(value.addAddress).toBe('/customers/v2/Customer/{id}/Address');
    expect(value.getCustomer).toBe('/customers/v2/Customer/{id}');
    expect(value.subscriptions).toBe('/subscriptions/v2/Subscriptions');
    expect(suggestion.err).toContain('addAddress');
    const fixed = await doctor('documented', { IPAAS_PATHS: suggestion.out });
    expect(failedIds(fixed)).toEqual([]);
  });

  test('no description at all: one warning says so, and the paths are probed as before', async () => {
    const report = await doctor('undescribed');
    expect(failedIds(report)).toEqual([]);
    expect(check(report, 'ipaas-description')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^no API description could be read: .*customers\/swagger\/v2\/swagger\.json \(with the token: HTTP 404; without: HTTP 404\)/u) });
    expect(check(report, 'ipaas-paths')).toMatchObject({ status: 'pass', detail: expect.stringContaining('9 probed') });
    expect(check(report, 'ipaas-address-mode').status).toBe('skip');
    expect(report.checks.filter((item) => item.status === 'warn').map((item) => item.id)).toEqual(['ipaas-description']);
    expect(report.ok).toBe(true);
    // The probes still catch a path that does not exist at all.
    const wrong = await doctor('undescribed', { IPAAS_PATHS: '{"createCustomer":"/customers/v2/Customers/New"}' });
    expect(check(wrong, 'ipaas-paths')).toMatchObject({ status: 'fail', detail: expect.stringContaining('createCustomer (POST /customers/v2/Customers/New)') });
    const suggestion = await suggestCli('undescribed');
    expect(suggestion.code).toBe(1);
    expect(suggestion.err).toMatch(/no API description/u);
  });

  test('the address POST under another path: ✗ naming it, the fix passes', async () => {
    const report = await doctor('elsewhere');
    expect(failedIds(report)).toEqual(['ipaas-paths']);
    expect(check(report, 'ipaas-paths').detail).toContain(
      'addAddress: POST /customers/v2/Customer/{id}/Address is not in the description; documented: POST /customers/v2/Customer/{customerId}/Addresses',
    );
    const suggestion = await suggestCli('elsewhere');
    expect(JSON.parse(suggestion.out)).toMatchObject({ addAddress: '/customers/v2/Customer/{id}/Addresses', listAddresses: '/customers/v2/Customer/{id}/Addresses' });
    expect(failedIds(await doctor('elsewhere', { IPAAS_PATHS: suggestion.out }))).toEqual([]);
  });

  test('nested addresses: the doctor recommends IPAAS_ADDRESS_MODE=nested, which then passes', async () => {
    const report = await doctor('nested');
    expect(failedIds(report)).toEqual(['ipaas-paths', 'ipaas-address-mode']);
    expect(check(report, 'ipaas-address-mode')).toMatchObject({
      detail: expect.stringContaining('the customer\'s body carries the address collection "addresses"'),
      fix: expect.stringContaining('IPAAS_ADDRESS_MODE=nested'),
    });
    const nested = await doctor('nested', { IPAAS_ADDRESS_MODE: 'nested' });
    expect(failedIds(nested)).toEqual([]);
    expect(check(nested, 'ipaas-address-mode').detail).toMatch(/^nested: the customer's create and update bodies and its reply carry the address collection "addresses"/u);
    expect(check(nested, 'ipaas-paths').detail).toContain('listAddresses, addAddress not used with IPAAS_ADDRESS_MODE=nested');
    // Another collection name is caught and named.
    const renamed = await doctor('nested', { IPAAS_ADDRESS_MODE: 'nested', IPAAS_ADDRESS_COLLECTION: 'customer_addresses' });
    expect(check(renamed, 'ipaas-address-mode')).toMatchObject({ status: 'fail', fix: 'Set IPAAS_ADDRESS_COLLECTION=addresses' });
  });

  test('nested mode against a tenant with address endpoints: ✗ recommending separate', async () => {
    const report = await doctor('documented', { IPAAS_ADDRESS_MODE: 'nested' });
    expect(check(report, 'ipaas-address-mode')).toMatchObject({ status: 'fail', fix: expect.stringContaining('IPAAS_ADDRESS_MODE=separate') });
  });

  test('a description without any address path or collection: ✗ for both address paths and for the mode, no alternative invented', async () => {
    const report = await doctor('noAddresses');
    expect(failedIds(report)).toEqual(['ipaas-paths', 'ipaas-address-mode']);
    const paths = check(report, 'ipaas-paths');
    expect(paths.detail).toContain('listAddresses: GET /customers/v2/Customer/{id}/Addresses is not in the description; the description documents no alternative');
    expect(paths.detail).toContain('addAddress: POST /customers/v2/Customer/{id}/Address is not in the description; the description documents no alternative');
    expect(check(report, 'ipaas-address-mode').detail).toMatch(/neither an address endpoint nor an address collection/u);
    const suggestion = await suggestCli('noAddresses');
    expect(suggestion.code).toBe(1);
    expect(JSON.parse(suggestion.out)).not.toHaveProperty('addAddress');
    expect(suggestion.err).toMatch(/listAddresses, addAddress/u);
  });

  test('a mapping without addresses does not need address paths: the tenant without them passes', async () => {
    const shipped = JSON.parse(readFileSync(path.resolve(__dirname, '../../mappings/customer-to-ipaas.json'), 'utf8')) as Record<string, unknown>;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'doctor-mapping-')), 'no-addresses.json');
    writeFileSync(file, JSON.stringify({ ...shipped, $schema: undefined, addresses: undefined }));
    const report = await doctor('noAddresses', { CUSTOMER_MAPPING_FILE: file });
    expect(failedIds(report)).toEqual([]);
    expect(check(report, 'ipaas-paths').detail).toContain('listAddresses, addAddress not used with a mapping without addresses');
    expect(check(report, 'ipaas-address-mode').detail).toBe('separate; the mapping sends no addresses');
  });

  test('a description served only without the token is read without it', async () => {
    server.use(
      http.get(`${baseUrl('documented')}/:service/swagger/v2/swagger.json`, ({ request }) =>
        request.headers.get('authorization') ? HttpResponse.json({ errors: [{ code: 'AUTH-1001', message: 'no' }] }, { status: 401 }) : undefined,
      ),
    );
    const report = await doctor('documented');
    expect(failedIds(report)).toEqual([]);
    expect(check(report, 'ipaas-description').detail).toContain('read without the token');
  });

  test('a documented field the client needs that is missing is a warning; a reply of the wrong form a ✗', async () => {
    const original = fakes.documented.handlers;
    expect(original.length).toBeGreaterThan(0);
    const described = (await (await fetch(`${baseUrl('documented')}/customers/swagger/v2/swagger.json`)).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown>; allOf?: unknown[] }> };
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>>;
    };
    delete described.components.schemas.CustomerRequest?.properties?.comment;
    server.use(http.get(`${baseUrl('documented')}/customers/swagger/v2/swagger.json`, () => HttpResponse.json(described)));
    const missingField = await doctor('documented');
    expect(failedIds(missingField)).toEqual([]);
    expect(check(missingField, 'ipaas-paths')).toMatchObject({ status: 'warn', detail: expect.stringContaining('getCustomer (GET /customers/v2/Customer/{customerId}): the reply documents no comment') });

    const list = described.paths['/v2/Customers']?.get?.responses['200'];
    for (const media of Object.values(list?.content ?? {})) media.schema = { $ref: '#/components/schemas/CustomerResponse' };
    server.use(http.get(`${baseUrl('documented')}/customers/swagger/v2/swagger.json`, () => HttpResponse.json(described)));
    const wrongForm = await doctor('documented');
    expect(check(wrongForm, 'ipaas-paths')).toMatchObject({ status: 'fail', detail: expect.stringContaining('searchCustomers: GET /customers/v2/Customers: the documented reply is one object, the client reads a list') });
  });

  test('a tenant that requires X-Client-Id refuses the doctor without IPAAS_CLIENT_ID and passes with it', async () => {
    const without = await doctor('clientId');
    expect(check(without, 'ipaas-token')).toMatchObject({ status: 'fail', fix: expect.stringContaining('IPAAS_API_TOKEN') });
    expect(check(without, 'ipaas-token').detail).toContain('AUTH-1003');
    const withId = await doctor('clientId', { IPAAS_CLIENT_ID: 'contoso-0001' });
    expect(failedIds(withId)).toEqual([]);
  });
});

describe('Business Central $metadata', () => {
  const metadataUrl = `${config.businessCentral.apiBaseUrl}/${config.businessCentral.tenantId}/${config.businessCentral.environment}/api/v2.0/$metadata`;
  const serve = (xml: string, status = 200) => server.use(http.get(metadataUrl, () => new HttpResponse(xml, { status, headers: { 'Content-Type': 'application/xml' } })));

  test('the fake environment has every property the sync, the poll, the $select and the mapping read, and subscriptions', async () => {
    const report = await doctor('documented');
    expect(check(report, 'bc-metadata')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/has all \d+ properties the sync, the poll, the \$select and the mapping read; "subscriptions" exist/u) });
  });

  test('a property a mapping entry reads is missing: a ✗ naming the entry', async () => {
    serve(edmx(CUSTOMER_ENTITY, { omit: ['phoneNumber'] }));
    const report = await doctor('documented');
    expect(failedIds(report)).toEqual(['bc-metadata']);
    const metadata = check(report, 'bc-metadata');
    expect(metadata.detail).toContain('mapping addresses.fields[6] (PhoneNo) reads phoneNumber');
    expect(metadata.detail).toContain('mapping addresses.filter (SourceTypeName) reads phoneNumber');
    expect(metadata.fix).toMatch(/Change the mapping entries addresses\.filter, addresses\.fields\[6\] in .*CUSTOMER_MAPPING_FILE/u);
  });

  test('no subscriptions with a webhook configured is a ✗; without one a warning', async () => {
    serve(edmx(CUSTOMER_ENTITY, { withoutSubscriptions: true }));
    expect(check(await doctor('documented'), 'bc-metadata')).toMatchObject({ status: 'fail', fix: expect.stringContaining('WEBHOOK_NOTIFICATION_URL=none') });
    expect(check(await doctor('documented', { WEBHOOK_NOTIFICATION_URL: 'none' }), 'bc-metadata').status).toBe('warn');
  });

  test('no $metadata, or one that is not EDMX: a warning, never a ✗', async () => {
    serve('', 404);
    expect(check(await doctor('documented'), 'bc-metadata')).toMatchObject({ status: 'warn', detail: expect.stringContaining('HTTP 404') });
    serve('<html><body>Sign in</body></html>');
    expect(check(await doctor('documented'), 'bc-metadata')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not an EDMX document') });
  });
});

test('suggestIpaasPaths pins every documented name to the documented template with {id}', async () => {
  const suggestion = await suggestIpaasPaths(loadConfig(envFor('documented')));
  expect(suggestion.missing).toEqual([]);
  expect(suggestion.paths).toEqual({
    searchCustomers: '/customers/v2/Customers',
    listCustomers: '/customers/v2/Customers',
    getCustomer: '/customers/v2/Customer/{id}',
    createCustomer: '/customers/v2/Customer',
    updateCustomer: '/customers/v2/Customer/{id}',
    listAddresses: '/customers/v2/Customer/{id}/Addresses',
    addAddress: '/customers/v2/Customer/{id}/Address',
    updateExternalId: '/customers/v2/External/UpdateExternalId',
    subscriptions: '/subscriptions/v2/Subscriptions',
  });
});
