import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { bcCustomerSchema } from '../../shared/businessCentral/types';
import { silentLogger } from '../../shared/log';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, type LeaseStore, type QueueSender } from '../../shared/storage';
import { MAX_SNAPSHOT_CHARS, snapshotOf, syncMessageSchema, type SyncMessage } from '../../shared/messages';
import { DEFAULT_POLL_PAGE_SIZE, pollChanges } from '../../shared/sync/pollChanges';
import { handleSyncMessage } from '../../shared/sync/queueWorkers';
import { syncCustomer, type SyncDependencies, type SyncRequest } from '../../shared/sync/syncCustomer';
import { createIpaasClient } from '../../shared/ipaas/client';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import type { FakeIpaasRequestCounts } from '../../dev/fakes/ipaas';
import { syncDependencies, syncWorld } from '../support/sync';
import { resetStorage } from '../support/storage';
import { ATLANTA_ADDRESS } from '../support/fixtures';

const { config, bc, ipaas, storage } = syncWorld();
const noWait = async (): Promise<void> => {};
const bcClient = createBusinessCentralClient(config.businessCentral, config.http, { sleep: noWait });

function dependencies(overrides: Partial<SyncDependencies> = {}): SyncDependencies {
  return syncDependencies(config, storage, { businessCentral: bcClient, ...overrides });
}
const deps = dependencies();

const webhook = (customerId: string, overrides: Partial<SyncRequest> = {}): SyncRequest => ({ customerId, source: 'webhook', correlationId: 'test', attempt: 1, ...overrides });

const ADDRESS = ATLANTA_ADDRESS;
let serial = 0;
function person(overrides: FakeBcCustomerInput = {}) {
  serial += 1;
  return bc.upsertCustomer({ type: 'Person', displayName: `Robert Townes ${serial}`, email: `robert.${serial}@contoso.example`, ...ADDRESS, ...overrides });
}

/** A queue stand-in that keeps what the real one would deliver: each message encoded, size-checked and decoded again. */
function capturingQueue(): QueueSender & { messages: SyncMessage[] } {
  const messages: SyncMessage[] = [];
  return {
    messages,
    send: async (batch) => {
      for (const message of batch) {
        const text = encodeMessage(message);
        expect(Buffer.byteLength(text)).toBeLessThan(MAX_MESSAGE_BYTES);
        messages.push(syncMessageSchema.parse(decodeMessage(text)));
      }
    },
  };
}

async function poll(): Promise<SyncMessage[]> {
  const queue = capturingQueue();
  await pollChanges({ businessCentral: bcClient, syncQueue: queue, leases: storage.leases, state: storage.state, logger: silentLogger });
  return queue.messages;
}

const ipaasCalls = (): FakeIpaasRequestCounts => ({ ...ipaas.requests });
function ipaasCallsSince(before: FakeIpaasRequestCounts): Partial<FakeIpaasRequestCounts> {
  const now = ipaasCalls();
  return Object.fromEntries(Object.entries(now).filter(([key, value]) => value !== before[key as keyof FakeIpaasRequestCounts]).map(([key, value]) => [key, value - before[key as keyof FakeIpaasRequestCounts]]));
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  bc.faults.clear();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
  bc.resetRequests();
});

describe('poll messages carry the customer', () => {
  test('a polled customer is transferred from its snapshot, without reading it from Business Central again', async () => {
    const customer = person();
    const [message, ...others] = await poll();
    expect(others).toHaveLength(0);
    expect(message).toMatchObject({ customerId: customer.id, source: 'poll', snapshot: { id: customer.id, number: customer.number, email: customer.email, city: 'Atlanta' } });
    // Trimmed to what the sync reads: no ETag, no fields it does not map.
    expect(message!.snapshot).not.toHaveProperty('@odata.etag');
    expect(message!.snapshot).not.toHaveProperty('website');
    expect(bc.requestLog.filter((request) => request.kind === 'list').map((request) => request.prefer)).toEqual([`odata.maxpagesize=${DEFAULT_POLL_PAGE_SIZE}`]);

    bc.resetRequests();
    const transfer = await handleSyncMessage(deps, message, { dequeueCount: 1 });
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', source: 'poll', addressesAdded: 1 });
    expect(bc.requests.total).toBe(0);
    expect(ipaas.customers()).toEqual([expect.objectContaining({ customerNumber: customer.number, emailAddress: customer.email })]);
    expect(await storage.links.get(customer.id)).toMatchObject({ sourceModifiedAt: customer.lastModifiedDateTime, addressHash: expect.any(String) });
  });

  test('a snapshot older than the version last synced is not used: the customer is read and the newer data kept', async () => {
    const customer = person();
    const [stale] = await poll();
    await tick();
    const renamed = bc.updateCustomer(customer.id, { displayName: 'Robert Townes Jr.' });
    await syncCustomer(deps, webhook(customer.id));
    expect(ipaas.customers()[0]).toMatchObject({ firstName: 'Robert Townes Jr.' });

    bc.resetRequests();
    const before = ipaasCalls();
    const transfer = await handleSyncMessage(deps, stale, { dequeueCount: 1 });
    expect(bc.requests.get).toBe(1);
    expect(transfer).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(ipaasCallsSince(before)).toEqual({});
    expect(ipaas.customers()[0]).toMatchObject({ firstName: 'Robert Townes Jr.' });
    expect(await storage.links.get(customer.id)).toMatchObject({ sourceModifiedAt: renamed.lastModifiedDateTime });
  });

  test('a newer snapshot than the version last synced is used', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    await tick();
    bc.updateCustomer(customer.id, { displayName: 'Robert Townes Jr.' });
    const [message] = await poll();
    bc.resetRequests();
    const transfer = await handleSyncMessage(deps, message, { dequeueCount: 1 });
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Updated' });
    expect(bc.requests.total).toBe(0);
    expect(ipaas.customers()[0]).toMatchObject({ firstName: 'Robert Townes Jr.' });
  });

  test('a redelivered message reads the customer: its snapshot may have aged while it waited', async () => {
    const customer = person();
    const [message] = await poll();
    await tick();
    bc.updateCustomer(customer.id, { displayName: 'Changed Meanwhile' });
    bc.resetRequests();
    const transfer = await handleSyncMessage(deps, message, { dequeueCount: 2 });
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', attempt: 2 });
    expect(bc.requests.get).toBe(1);
    expect(ipaas.customers()[0]).toMatchObject({ firstName: 'Changed Meanwhile' });
  });

  test('a link saved before sourceModifiedAt existed accepts only a snapshot equal to what was last sent', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    const { sourceModifiedAt: _dropped, ...oldStyle } = (await storage.links.get(customer.id))!;
    await storage.links.save(oldStyle);
    expect(await storage.links.get(customer.id)).not.toHaveProperty('sourceModifiedAt');

    const [same] = await poll();
    bc.resetRequests();
    expect(await handleSyncMessage(deps, same, { dequeueCount: 1 })).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(bc.requests.get).toBe(0);

    await tick();
    bc.updateCustomer(customer.id, { displayName: 'Robert Townes Jr.' });
    const [changed] = await poll();
    await storage.links.save(oldStyle);
    bc.resetRequests();
    expect(await handleSyncMessage(deps, changed, { dequeueCount: 1 })).toMatchObject({ status: 'Succeeded', action: 'Updated' });
    expect(bc.requests.get).toBe(1);
  });

  test('a filtered customer is skipped from its snapshot alone', async () => {
    person({ type: 'Company' });
    const [message] = await poll();
    bc.resetRequests();
    expect(await handleSyncMessage(deps, message, { dequeueCount: 1 })).toMatchObject({ status: 'Skipped', action: 'Filtered' });
    expect(bc.requests.total + ipaas.requests.total).toBe(0);
  });

  test('a snapshot of another customer, or a malformed one, makes the message invalid', async () => {
    const customer = person();
    const other = person();
    const [message] = (await poll()).filter((candidate) => candidate.customerId === customer.id);
    bc.resetRequests();
    const mismatched = await handleSyncMessage(deps, { ...message, snapshot: { ...message!.snapshot, id: other.id } }, { dequeueCount: 1 });
    expect(mismatched).toMatchObject({ status: 'Failed', errorCode: 'InvalidMessage', customerId: customer.id });
    expect(mismatched.errorMessage).toMatch(/snapshot\.id/u);
    const malformed = await handleSyncMessage(deps, { ...message, snapshot: { id: 'not-a-guid' } }, { dequeueCount: 1 });
    expect(malformed).toMatchObject({ status: 'Failed', errorCode: 'InvalidMessage' });
    expect(bc.requests.total + ipaas.requests.total).toBe(0);
  });

  test('a customer too large to carry travels without a snapshot and is read by the worker', async () => {
    const huge = person({ displayName: 'x'.repeat(MAX_SNAPSHOT_CHARS) });
    expect(snapshotOf(bcCustomerSchema.parse(bc.getCustomer(huge.id)))).toBeUndefined();
    const [message] = await poll();
    expect(message).not.toHaveProperty('snapshot');
    bc.resetRequests();
    await handleSyncMessage(deps, message, { dequeueCount: 1 });
    expect(bc.requests.get).toBe(1);
  });

  test('messages without a snapshot (webhook, manual, replay) read the customer', async () => {
    const customer = person();
    await handleSyncMessage(deps, { customerId: customer.id, source: 'replay', correlationId: 'c', enqueuedAt: new Date().toISOString() }, { dequeueCount: 1 });
    expect(bc.requests.get).toBe(1);
  });
});

describe('iPaaS.com calls per transfer', () => {
  test('an update with unchanged addresses is search, read and write: three calls, no address listing', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    bc.updateCustomer(customer.id, { displayName: 'Robert Townes Jr.' });
    const before = ipaasCalls();
    expect(await syncCustomer(deps, webhook(customer.id))).toMatchObject({ status: 'Succeeded', action: 'Updated', addressesAdded: 0 });
    expect(ipaasCallsSince(before)).toEqual({ total: 3, searchByEmail: 1, get: 1, update: 1 });
  });

  test('a changed address is listed and added', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    bc.updateCustomer(customer.id, { city: 'Savannah', postalCode: '31401' });
    const before = ipaasCalls();
    expect(await syncCustomer(deps, webhook(customer.id))).toMatchObject({ action: 'Updated', addressesAdded: 1 });
    expect(ipaasCallsSince(before)).toMatchObject({ listAddresses: 1, addAddress: 1 });
  });

  test('addresses are listed again when the link does not say they were all present', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    const { addressHash: _dropped, ...oldStyle } = (await storage.links.get(customer.id))!;
    await storage.links.save(oldStyle);
    bc.updateCustomer(customer.id, { displayName: 'Robert Townes Jr.' });
    const before = ipaasCalls();
    await syncCustomer(deps, webhook(customer.id));
    expect(ipaasCallsSince(before)).toMatchObject({ listAddresses: 1 });
  });

  test('a changed email updates the linked customer reading it once', async () => {
    const customer = person();
    await syncCustomer(deps, webhook(customer.id));
    bc.updateCustomer(customer.id, { email: 'robert@townes.example' });
    const before = ipaasCalls();
    expect(await syncCustomer(deps, webhook(customer.id))).toMatchObject({ status: 'Succeeded', action: 'Updated' });
    expect(ipaasCallsSince(before)).toEqual({ total: 3, searchByEmail: 1, get: 1, update: 1 });
    expect(ipaas.customers()).toEqual([expect.objectContaining({ emailAddress: 'robert@townes.example' })]);
  });
});

describe('the per-customer lease', () => {
  function countingLeases(renewResult?: boolean): LeaseStore & { renewals: number } {
    const counted = {
      renewals: 0,
      tryAcquire: (name: string, ttlMs: number) => storage.leases.tryAcquire(name, ttlMs),
      renew: async (lease: Parameters<LeaseStore['renew']>[0], ttlMs: number) => {
        counted.renewals += 1;
        return renewResult ?? storage.leases.renew(lease, ttlMs);
      },
      release: (lease: Parameters<LeaseStore['release']>[0]) => storage.leases.release(lease),
    };
    return counted;
  }

  test('is not renewed before writing while most of its time is left', async () => {
    const leases = countingLeases();
    await syncCustomer(dependencies({ leases }), webhook(person().id));
    expect(leases.renewals).toBe(0);
  });

  test('is renewed before a write that could outlast it, and a lost lease stops the write', async () => {
    // Each iPaaS.com exchange takes 60% of the lease's time on the transfer's monotonic clock, so before each write
    // the lease may no longer be ours for a whole request: it is renewed first.
    const ttl = 30_000;
    let now = 0;
    const slowIpaas = createIpaasClient(config.ipaas, config.http, { sleep: noWait, onExchange: () => (now += 0.6 * ttl) });
    const renewed = countingLeases();
    const first = ipaasCalls();
    expect(await syncCustomer(dependencies({ leases: renewed, leaseTtlMs: ttl, ipaas: slowIpaas, leaseClock: () => now }), webhook(person().id))).toMatchObject({ status: 'Succeeded' });
    const calls = ipaasCallsSince(first);
    const writes = (calls.create ?? 0) + (calls.update ?? 0) + (calls.addAddress ?? 0) + (calls.linkExternalId ?? 0);
    expect(writes).toBeGreaterThan(0);
    // A customer's first transfer holds two leases, its own and its email's (so no other customer with that email
    // creates or claims at the same moment): both are renewed before each write.
    expect(renewed.renewals).toBe(2 * writes);

    const lost = countingLeases(false);
    const before = ipaasCalls();
    await expect(syncCustomer(dependencies({ leases: lost, leaseTtlMs: ttl, ipaas: slowIpaas, leaseClock: () => now }), webhook(person().id))).rejects.toMatchObject({ code: 'ConcurrentSync', transient: true });
    expect(ipaasCallsSince(before)).toEqual({ total: 2, searchByEmail: 1, searchByNumber: 1 });
  });
});
