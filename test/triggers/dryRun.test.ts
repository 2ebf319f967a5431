import { FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { createStorage } from '../../shared/storage';
import { countMessages, useHarness } from './harness';

const config = loadConfig(process.env);
const ipaas = new FakeIpaas({ apiBaseUrl: config.ipaas.apiBaseUrl, apiToken: config.ipaas.apiToken });
const harness = useHarness({ handlers: ipaas.handlers });
const storage = createStorage(config.storage);
const post = (path: string) => fetch(`${harness.host().url}${path}`, { method: 'POST' });

const ADDRESS = { addressLine1: '192 Market Square', city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772' };

beforeEach(() => ipaas.reset());

async function expectNothingWritten(customerId: string): Promise<void> {
  expect(ipaas.requests.create + ipaas.requests.update + ipaas.requests.addAddress + ipaas.requests.linkExternalId).toBe(0);
  expect(await countMessages(SYNC_QUEUE)).toBe(0);
  expect(await storage.transfers.listForCustomer(customerId)).toEqual([]);
  expect(await storage.links.get(customerId)).toBeNull();
}

describe('POST /api/customers/{id}/sync?dryRun=true', () => {
  test('answers 200 with the plan; nothing is written, enqueued or recorded', async () => {
    const customer = harness.bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example', ...ADDRESS });
    const response = await post(`/api/customers/${customer.id}/sync?dryRun=true`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      customerId: customer.id,
      customerNumber: '10000',
      outcome: 'Create',
      errorCode: null,
      ipaasCustomerId: null,
      changes: expect.arrayContaining([{ field: 'CustomerNumber', from: null, to: '10000' }]),
      addressesToAdd: [expect.objectContaining({ Address1: '192 Market Square', City: 'Atlanta' })],
      externalIdLink: false,
    });
    expect(ipaas.requests.searchByEmail).toBe(1);
    await expectNothingWritten(customer.id);
  });

  test('a failing plan is a 200 with outcome Fail and the error code', async () => {
    const customer = harness.bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: '' });
    const response = await post(`/api/customers/${customer.id}/sync?dryRun=true`);
    expect(await response.json()).toMatchObject({ outcome: 'Fail', errorCode: 'MissingEmail' });
    await expectNothingWritten(customer.id);
  });

  test('dryRun=false is the ordinary manual sync; another value is 400', async () => {
    const customer = harness.bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
    const invalid = await post(`/api/customers/${customer.id}/sync?dryRun=maybe`);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ error: { code: 'InvalidParameter', message: 'dryRun must be true or false' } });
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
    expect((await post(`/api/customers/${customer.id}/sync?dryRun=false`)).status).toBe(202);
    expect(await countMessages(SYNC_QUEUE)).toBe(1);
  });

  test('iPaaS.com down → 503 with a JSON error, nothing written', async () => {
    const customer = harness.bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
    ipaas.faults.add({ status: 503 });
    const response = await post(`/api/customers/${customer.id}/sync?dryRun=true`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'IpaasUnavailable', message: expect.stringContaining('unavailable') } });
    expect(response.headers.get('retry-after')).toBe('30');
    ipaas.faults.clear();
    await expectNothingWritten(customer.id);
  });
});

describe('POST /api/customers/by-number/{number}/sync?dryRun=true', () => {
  test('resolves the number and answers the plan; nothing written', async () => {
    const customer = harness.bc.upsertCustomer({ number: 'C-20000', type: 'Person', displayName: 'Second', email: 'second@contoso.example' });
    ipaas.seedCustomer({ customerNumber: 'C-20000', firstName: 'Old name', emailAddress: 'second@contoso.example' });
    const response = await post('/api/customers/by-number/C-20000/sync?dryRun=true');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      customerId: customer.id,
      outcome: 'Update',
      ipaasCustomerId: '4501',
      changes: [{ field: 'FirstName', from: 'Old name', to: 'Second' }],
    });
    await expectNothingWritten(customer.id);
  });

  test('an unknown number → 404', async () => {
    expect((await post('/api/customers/by-number/NOPE/sync?dryRun=true')).status).toBe(404);
  });
});
