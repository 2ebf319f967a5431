import { http } from 'msw';
import { loadConfig } from '../../shared/config';
import { createStorage } from '../../shared/storage';
import { syncCustomer, type SyncRequest } from '../../shared/sync/syncCustomer';
import { createFakeWorld } from '../../dev/fakes/world';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { startMockServer } from '../support/msw';
import { syncDependencies } from '../support/sync';
import { resetStorage } from '../support/storage';
import { ATLANTA_ADDRESS } from '../support/fixtures';

/**
 * IPAAS_ADDRESS_MODE=nested against a tenant that keeps addresses as the customer's collection (no address
 * endpoint): the addresses travel in the customer's own create/update body, PreventDuplicate still holds, and an
 * update keeps the addresses the customer has. IPAAS_CLIENT_ID rides on every request.
 */
const CLIENT_ID = 'contoso-company-0001';
const config = loadConfig({ ...process.env, IPAAS_ADDRESS_MODE: 'nested', IPAAS_CLIENT_ID: CLIENT_ID });
// The tenant requires the client id: a request without it is refused.
const world = createFakeWorld(config, {}, { addressApi: 'nested', clientId: CLIENT_ID });
const clientIds: Array<string | null> = [];
const server = startMockServer(...world.handlers);
const { businessCentral: bc, ipaas } = world;
const storage = createStorage(config.storage);
const deps = syncDependencies(config, storage);
const request = (customerId: string): SyncRequest => ({ customerId, source: 'manual', correlationId: 'test', attempt: 1 });

const ATLANTA = ATLANTA_ADDRESS;
function person(overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({ number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example', ...ATLANTA, ...overrides });
}

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
  clientIds.length = 0;
  server.use(
    http.all(`${config.ipaas.apiBaseUrl}/*`, ({ request: sent }) => {
      clientIds.push(sent.headers.get('x-client-id'));
      return undefined;
    }),
  );
});
afterEach(() => server.resetHandlers());

test('a new customer is created with its address in the same body: one write, no address endpoint', async () => {
  const customer = person();
  const outcome = await syncCustomer(deps, request(customer.id));
  expect(outcome).toMatchObject({ status: 'Succeeded', action: 'Created', addressesAdded: 1 });
  const [created] = ipaas.customers();
  expect(ipaas.addresses(created!.id)).toEqual([expect.objectContaining({ address1: '192 Market Square', city: 'Atlanta', region: 'GA' })]);
  expect(ipaas.requests).toMatchObject({ create: 1, update: 0, addAddress: 0, listAddresses: 0 });
});

test('an update keeps the addresses the customer has and adds only the new one (PreventDuplicate)', async () => {
  const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'R. Townes', emailAddress: 'robert.townes@contoso.example' });
  const kept = ipaas.seedAddress(existing.id, { address1: '1 Old Road', city: 'Macon', country: 'US' });
  const customer = person({ city: 'Savannah', postalCode: '31401' });
  const outcome = await syncCustomer(deps, request(customer.id));
  expect(outcome).toMatchObject({ status: 'Succeeded', action: 'Updated', addressesAdded: 1 });
  const addresses = ipaas.addresses(existing.id);
  expect(addresses.map((address) => address.city)).toEqual(['Macon', 'Savannah']);
  // The address it had is the same record (its id kept), not a copy.
  expect(addresses[0]?.id).toBe(kept.id);
  expect(ipaas.customer(existing.id)?.firstName).toBe('Robert Townes');
});

test('an address the customer already has is not sent again; with nothing else changed nothing is written', async () => {
  const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: 'robert.townes@contoso.example' });
  ipaas.seedAddress(existing.id, { address1: '192 Market Square', city: 'Atlanta', region: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' });
  const customer = person();
  const outcome = await syncCustomer(deps, request(customer.id));
  expect(outcome).toMatchObject({ status: 'Succeeded', action: 'Unchanged', addressesAdded: 0 });
  expect(ipaas.addresses(existing.id)).toHaveLength(1);
  expect(ipaas.requests.update + ipaas.requests.create).toBe(0);
});

test('a name change of a customer with addresses sends them back whole: none is lost, none duplicated', async () => {
  const first = person();
  await syncCustomer(deps, request(first.id));
  const [created] = ipaas.customers();
  bc.updateCustomer(first.id, { displayName: 'Robert A. Townes' });
  const outcome = await syncCustomer(deps, request(first.id));
  expect(outcome).toMatchObject({ status: 'Succeeded', action: 'Updated', addressesAdded: 0 });
  expect(ipaas.addresses(created!.id)).toHaveLength(1);
  expect(ipaas.customer(created!.id)?.firstName).toBe('Robert A. Townes');
});

test('IPAAS_CLIENT_ID goes out as X-Client-Id on every request', async () => {
  const customer = person();
  await syncCustomer(deps, request(customer.id));
  expect(clientIds.length).toBeGreaterThanOrEqual(3);
  expect(new Set(clientIds)).toEqual(new Set([CLIENT_ID]));
});

test('the client in nested mode: listAddresses reads the collection of the customer, addAddress sends it back with one more', async () => {
  const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: 'robert.townes@contoso.example', comment: 'VIP' });
  const kept = ipaas.seedAddress(existing.id, { address1: '1 Old Road', city: 'Macon', country: 'US' });
  expect(await deps.ipaas.listAddresses(existing.id)).toEqual([expect.objectContaining({ id: kept.id, customerId: existing.id, city: 'Macon' })]);
  const added = await deps.ipaas.addAddress(existing.id, { address1: '2 New St', address2: '', city: 'Savannah', region: 'GA', country: 'US', postalCode: '', phoneNumber: '', isPrimaryBilling: false, isPrimaryShipping: false });
  expect(added).toMatchObject({ city: 'Savannah', id: expect.stringMatching(/^\d+$/u) });
  expect(ipaas.addresses(existing.id).map((address) => address.id)).toEqual([kept.id, added.id]);
  // The customer's own fields are as they were (the comment too: the record read was sent back).
  expect(ipaas.customer(existing.id)).toMatchObject({ firstName: 'Robert Townes', comment: 'VIP' });
  await expect(deps.ipaas.listAddresses('999999')).rejects.toMatchObject({ code: 'IpaasRejected', message: expect.stringContaining('the customer does not exist') });
});
