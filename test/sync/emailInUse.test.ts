/**
 * One Business Central customer per iPaaS.com customer: two Business Central customers with one email never merge
 * into one iPaaS.com customer. The second one's email match finds the first one's customer, which is linked to it:
 * EmailInUse, final, nothing written, the message names the first customer's number; the first keeps syncing; a
 * dry run shows the same; two such customers transferring at the same moment create one iPaaS.com customer; links
 * saved before reverse links existed are honoured; the reconciliation lists the second with the code.
 */
import { TableClient } from '@azure/data-tables';
import { delay, getResponse, http } from 'msw';
import { advanceReconciliation, startReconciliation } from '../../shared/reconcile';
import { createStorage, LINKS_TABLE, ownerPartition, TableCustomerLinkStore } from '../../shared/storage';
import { handleSyncMessage } from '../../shared/sync/queueWorkers';
import { planSync } from '../../shared/sync/planSync';
import { syncCustomer, type SyncRequest } from '../../shared/sync/syncCustomer';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { resetStorage, testStorageConnectionString } from '../support/storage';
import { syncDependencies, syncWorld } from '../support/sync';
import { reconcileDependencies } from '../reconcile/support';

const { config, server, bc, ipaas, storage } = syncWorld();
const deps = syncDependencies(config, storage);
const EMAIL = 'shared.mailbox@contoso.example';

function customer(number: string, name: string, overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({ number, displayName: name, type: 'Person', email: EMAIL, ...overrides });
}

function request(customerId: string, overrides: Partial<SyncRequest> = {}): SyncRequest {
  return { customerId, source: 'webhook', correlationId: 'test', attempt: 1, ...overrides };
}

const rawLinks = () => TableClient.fromConnectionString(testStorageConnectionString(), LINKS_TABLE, { allowInsecureConnection: true });

afterEach(() => server.resetHandlers());

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  for (const existing of bc.customers()) bc.deleteCustomer(existing.id);
  bc.resetRequests();
});

test('the second customer with one email is EmailInUse: final, nothing written, the first one named; the first keeps syncing', async () => {
  const first = customer('10000', 'Robert Townes');
  expect(await syncCustomer(deps, request(first.id))).toMatchObject({ status: 'Succeeded', action: 'Created' });
  const [created] = ipaas.customers();

  const second = customer('10001', 'Bob Townes');
  const writes = () => ipaas.requests.create + ipaas.requests.update + ipaas.requests.addAddress;
  const before = writes();
  // Through the queue worker: a final failure is recorded and not thrown (the queue does not retry it).
  const failed = await handleSyncMessage(deps, { customerId: second.id, source: 'webhook', correlationId: 'c', enqueuedAt: new Date().toISOString() }, { dequeueCount: 1 });
  expect(failed).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse', customerNumber: '10001', ipaasCustomerId: null });
  expect(failed.errorMessage).toContain('Business Central customer 10000');
  expect(failed.errorMessage).not.toContain(EMAIL);
  expect(writes()).toBe(before);
  expect(ipaas.customers()).toEqual([expect.objectContaining({ id: created!.id, customerNumber: '10000', firstName: 'Robert Townes' })]);
  expect(await storage.links.get(second.id)).toBeNull();

  // The first customer keeps its iPaaS.com customer and keeps syncing; the second stays out.
  bc.updateCustomer(first.id, { displayName: 'Robert J. Townes' });
  expect(await syncCustomer(deps, request(first.id))).toMatchObject({ status: 'Succeeded', action: 'Updated', ipaasCustomerId: created!.id });
  expect(await syncCustomer(deps, request(second.id, { source: 'replay' }))).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse' });
  expect(ipaas.customers()).toEqual([expect.objectContaining({ id: created!.id, customerNumber: '10000', firstName: 'Robert J. Townes' })]);
});

test('EmailInUse comes before the number check: a second customer whose number is also taken is told whose email it is', async () => {
  const first = customer('10000', 'Robert Townes');
  await syncCustomer(deps, request(first.id));
  ipaas.seedCustomer({ customerNumber: '10002', firstName: 'Someone Else', emailAddress: 'someone.else@contoso.example' });
  const second = customer('10002', 'Bob Townes');
  expect(await syncCustomer(deps, request(second.id))).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse' });
  // Once it has an email of its own, the number is what stands in its way.
  bc.updateCustomer(second.id, { email: 'bob.townes@contoso.example' });
  expect(await syncCustomer(deps, request(second.id))).toMatchObject({ status: 'Failed', errorCode: 'DuplicateCustomerNumber' });
  expect(ipaas.customers()).toHaveLength(2);
});

test('the dry run shows the same outcome and writes nothing', async () => {
  const first = customer('10000', 'Robert Townes');
  await syncCustomer(deps, request(first.id));
  const second = customer('10001', 'Bob Townes');
  const plan = await planSync(deps, second.id);
  expect(plan).toMatchObject({ outcome: 'Fail', errorCode: 'EmailInUse', ipaasCustomerId: null });
  expect(plan.reason).toContain('Business Central customer 10000');
  expect(await syncCustomer(deps, request(second.id))).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse', errorMessage: plan.reason });
});

test('an iPaaS.com customer that existed before is claimed by the first customer matching it by email, not by the second', async () => {
  const existing = ipaas.seedCustomer({ customerNumber: 'OLD-1', firstName: 'R. Townes', emailAddress: EMAIL });
  const first = customer('10000', 'Robert Townes');
  expect(await syncCustomer(deps, request(first.id))).toMatchObject({ status: 'Succeeded', action: 'Updated', ipaasCustomerId: existing.id });
  const second = customer('10001', 'Bob Townes');
  expect(await syncCustomer(deps, request(second.id))).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse' });
  expect(ipaas.customer(existing.id)).toMatchObject({ customerNumber: '10000', firstName: 'Robert Townes' });
});

test('two customers with one email transferring at the same moment create one iPaaS.com customer; the other is EmailInUse', async () => {
  // iPaaS.com takes its time to create: both searches of a pair are answered before either create would be.
  server.use(
    http.post(
      ({ request }) => ipaas.operationOf(request) === 'create',
      async ({ request }) => {
        await delay(150);
        return getResponse(ipaas.handlers, request);
      },
    ),
  );
  const pairs = Array.from({ length: 3 }, (_, index) => [customer(`2000${index}`, `Left ${index}`, { email: `pair.${index}@contoso.example` }), customer(`3000${index}`, `Right ${index}`, { email: `pair.${index}@contoso.example` })] as const);
  const results = await Promise.all(pairs.flatMap(([left, right]) => [syncCustomer(deps, request(left.id)), syncCustomer(deps, request(right.id))]));

  expect(ipaas.customers()).toHaveLength(3);
  for (const [index] of pairs.entries()) {
    const [left, right] = [results[index * 2]!, results[index * 2 + 1]!];
    const outcomes = [left, right].map((record) => record.errorCode ?? record.action).sort();
    expect(outcomes).toEqual(['Created', 'EmailInUse']);
  }
  // Each iPaaS.com customer carries the number of the customer that created it, and only that one is linked to it.
  for (const created of ipaas.customers()) {
    const owner = results.find((record) => record.ipaasCustomerId === created.id);
    expect(owner?.customerNumber).toBe(created.customerNumber);
  }
});

test('a link saved before reverse links existed is honoured, and claimed at its customer\'s next write', async () => {
  // A store of a process that has not seen the claim of older links finish (the others ran on emptied tables).
  const storage = createStorage(config.storage);
  const deps = syncDependencies(config, storage);
  // The first customer was linked by an earlier version: a link row, no reverse link.
  const first = customer('10000', 'Robert Townes');
  const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL });
  await storage.links.save({ customerId: first.id, ipaasCustomerId: existing.id, customerNumber: '10000', payloadHash: 'older', lastSyncedAt: new Date().toISOString() });
  await expect(rawLinks().getEntity(ownerPartition(existing.id), 'owner')).rejects.toMatchObject({ statusCode: 404 });

  const second = customer('10001', 'Bob Townes');
  const failed = await syncCustomer(deps, request(second.id));
  expect(failed).toMatchObject({ status: 'Failed', errorCode: 'EmailInUse' });
  expect(failed.errorMessage).toContain('Business Central customer 10000');
  expect(ipaas.customer(existing.id)).toMatchObject({ customerNumber: '10000', firstName: 'Robert Townes' });
  // Looking it up also claimed the older links (one page at a time): from now on the reverse link answers.
  expect(await rawLinks().getEntity(ownerPartition(existing.id), 'owner')).toMatchObject({ CustomerId: first.id, CustomerNumber: '10000' });
  expect(await new TableCustomerLinkStore(config.storage).backfillClaims()).toBe(true);

  // The first customer's next write records that it holds the claim.
  bc.updateCustomer(first.id, { displayName: 'Robert J. Townes' });
  expect(await syncCustomer(deps, request(first.id))).toMatchObject({ status: 'Succeeded', action: 'Updated' });
  expect(await storage.links.get(first.id)).toMatchObject({ ipaasCustomerId: existing.id, claimedIpaasCustomerId: existing.id });
});

test('a reverse link whose owner is now linked elsewhere is stale and taken over', async () => {
  const existing = ipaas.seedCustomer({ customerNumber: 'OLD-2', firstName: 'Someone', emailAddress: EMAIL });
  const gone = customer('10000', 'Moved Away', { email: 'moved.away@contoso.example' });
  const store = new TableCustomerLinkStore(config.storage);
  await store.claim(existing.id, { customerId: gone.id, customerNumber: '10000' });
  await storage.links.save({ customerId: gone.id, ipaasCustomerId: '999999', customerNumber: '10000', payloadHash: 'h', lastSyncedAt: new Date().toISOString() });

  const taker = customer('10001', 'Bob Townes');
  expect(await syncCustomer(deps, request(taker.id))).toMatchObject({ status: 'Succeeded', ipaasCustomerId: existing.id });
  expect(await store.ownerOf(existing.id)).toEqual({ customerId: taker.id, customerNumber: '10001' });
});

test('the reconciliation lists the second customer as Unlinked with EmailInUse, the first as in sync', async () => {
  const first = customer('10000', 'Robert Townes');
  await syncCustomer(deps, request(first.id));
  const second = customer('10001', 'Bob Townes');
  await syncCustomer(deps, request(second.id));

  const reconcileDeps = reconcileDependencies(config, storage);
  const started = await startReconciliation(reconcileDeps, { fix: true, trigger: 'command' });
  if (!started.started) throw new Error('a run is already running');
  const result = await advanceReconciliation(reconcileDeps, started.runId);
  if (result.outcome !== 'completed') throw new Error(`run ended ${result.outcome}`);
  expect(result.report.counts).toMatchObject({ InSync: 1, Unlinked: 1, Missing: 0 });
  expect(result.report.items).toEqual([expect.objectContaining({ category: 'Unlinked', customerId: second.id, errorCode: 'EmailInUse' })]);
  // Nothing to fix: a transfer cannot settle it.
  expect(result.report.enqueued).toBe(0);
});
