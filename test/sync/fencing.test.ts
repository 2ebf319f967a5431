/**
 * Polls without repeats, fencing and duplicates: an unchanged customer that failed for good is not tried again
 * by every poll (request counts asserted); the link is saved only over the version a sync planned from; a
 * duplicate message for a customer whose transfer runs goes back on the queue at once instead of waiting.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { delay, getResponse, http } from 'msw';
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { createIpaasClient } from '../../shared/ipaas/client';
import { compileMapping, type MappingFile } from '../../shared/mapping';
import { emailDigest, silentLogger } from '../../shared/log';
import { TableCustomerLinkStore, type LeaseStore, type QueueSender, type SendOptions } from '../../shared/storage';
import type { SyncMessage } from '../../shared/messages';
import { POLL_WATERMARK_KEY, pollChanges } from '../../shared/sync/pollChanges';
import { ServiceBreakers } from '../../shared/sync/outages';
import { handleSyncMessage, isHeld } from '../../shared/sync/queueWorkers';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import { syncDependencies, syncWorld } from '../support/sync';
import { resetStorage } from '../support/storage';
import { systemClock } from '../../shared/clock';

const { config, server, bc, ipaas, storage } = syncWorld();
const bcClient = createBusinessCentralClient(config.businessCentral, config.http, { sleep: async () => {} });
const deps = syncDependencies(config, storage, { businessCentral: bcClient });

function capturingQueue(): QueueSender & { messages: Array<{ message: SyncMessage; delaySeconds: number }> } {
  const messages: Array<{ message: SyncMessage; delaySeconds: number }> = [];
  return {
    messages,
    send: async (batch: readonly unknown[], options: SendOptions = {}) => {
      for (const message of batch) messages.push({ message: message as SyncMessage, delaySeconds: options.delaySeconds ?? 0 });
    },
  };
}

async function poll(): Promise<SyncMessage[]> {
  const queue = capturingQueue();
  await pollChanges({ businessCentral: bcClient, syncQueue: queue, leases: storage.leases, state: storage.state, logger: silentLogger });
  return queue.messages.map((entry) => entry.message);
}

/**
 * A poll that meets the overlap's customers again as messages: the last poll's keys of them dropped, as when they were
 * beyond the bound it keeps (shared/sync/pollOverlap.ts), so what the worker does with a repeat is what is tested.
 */
async function repoll(): Promise<SyncMessage[]> {
  const stored = await storage.state.get(POLL_WATERMARK_KEY, (value) => value as { lastModifiedDateTime: string; overlapKeys?: string[] });
  if (stored) await storage.state.put(POLL_WATERMARK_KEY, { lastModifiedDateTime: stored.value.lastModifiedDateTime }, stored.etag);
  return poll();
}

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
  bc.resetRequests();
});

describe('polls without repeats', () => {
  test('a customer that failed for good is not tried again while unchanged: no read, no iPaaS.com call, no new row', async () => {
    const invalid = bc.upsertCustomer({ type: 'Person', displayName: 'No Mail', email: '' });
    // Two iPaaS.com customers share this one's email: DuplicateEmail after a search.
    const duplicate = bc.upsertCustomer({ type: 'Person', displayName: 'Shared Mail', email: 'shared@example.com' });
    ipaas.seedCustomer({ customerNumber: 'X1', emailAddress: 'shared@example.com' });
    ipaas.seedCustomer({ customerNumber: 'X2', emailAddress: 'shared@example.com' });
    const company = bc.upsertCustomer({ type: 'Company', displayName: 'Filtered Ltd', email: 'company@example.com' });

    for (const message of await poll()) await handleSyncMessage(deps, message, { dequeueCount: 1 });
    expect((await storage.transfers.listForCustomer(invalid.id, 10)).map((t) => t.errorCode)).toEqual(['MissingEmail']);
    expect((await storage.transfers.listForCustomer(duplicate.id, 10)).map((t) => t.errorCode)).toEqual(['DuplicateEmail']);
    expect((await storage.transfers.listForCustomer(company.id, 10)).map((t) => t.action)).toEqual(['Filtered']);

    // The next poll re-reads them (the overlap before the watermark) but knows it enqueued these versions.
    expect(await poll()).toEqual([]);
    // Messages of the same versions that come anyway: nothing is repeated.
    const searches = ipaas.requests.total;
    bc.resetRequests();
    for (let round = 0; round < 3; round += 1) {
      const messages = await repoll();
      expect(messages.map((message) => message.customerId).sort()).toEqual([invalid.id, duplicate.id, company.id].sort());
      for (const message of messages) {
        const result = await handleSyncMessage(deps, message, { dequeueCount: 1 });
        expect(result).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
      }
    }
    expect(ipaas.requests.total).toBe(searches);
    expect(bc.requests.get).toBe(0);
    expect(await storage.transfers.listForCustomer(invalid.id, 10)).toHaveLength(1);
    expect(await storage.transfers.listForCustomer(duplicate.id, 10)).toHaveLength(1);

    // Once the customer changes, it is tried again.
    bc.updateCustomer(invalid.id, { email: 'now.valid@example.com' });
    const changed = (await poll()).find((message) => message.customerId === invalid.id)!;
    expect(changed).toBeDefined();
    expect(await handleSyncMessage(deps, changed, { dequeueCount: 1 })).toMatchObject({ status: 'Succeeded', action: 'Created' });
  });

  test('a customer transferred at this version is not sent again by the next poll (no Unchanged row every 5 minutes)', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Done Once', email: 'done.once@example.com' });
    for (const message of await poll()) await handleSyncMessage(deps, message, { dequeueCount: 1 });
    const calls = ipaas.requests.total;
    const again = await repoll();
    expect(again).toHaveLength(1);
    for (const message of again) expect(await handleSyncMessage(deps, message, { dequeueCount: 1 })).toMatchObject({ action: 'Unchanged' });
    expect(ipaas.requests.total).toBe(calls);
    expect(await storage.transfers.listForCustomer(customer.id, 10)).toHaveLength(1);
  });
});

describe('polls without repeats under the configured mapping', () => {
  const document = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'mappings', 'customer-to-ipaas.json'), 'utf8')) as MappingFile;
  const companies = compileMapping(
    {
      ...document,
      filter: 'RecordType = "Customer" and Type in ["Person", "Company"]',
      fields: [...document.fields, { type: 'Formula', expression: '"Synced: " & Type', destination: 'Comment' }],
    },
    'companies admitted (test)',
  );
  const customDeps = syncDependencies(config, storage, { businessCentral: bcClient, mapping: companies });

  test('a version transferred under a custom mapping is not sent again by the next poll', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Custom Once', email: 'custom.once@example.com' });
    for (const message of await poll()) expect(await handleSyncMessage(customDeps, message, { dequeueCount: 1 })).toMatchObject({ action: 'Created' });
    const calls = ipaas.requests.total;
    const again = await repoll();
    expect(again).toHaveLength(1);
    for (const message of again) expect(await handleSyncMessage(customDeps, message, { dequeueCount: 1 })).toMatchObject({ action: 'Unchanged' });
    expect(ipaas.requests.total).toBe(calls);
    // Recognised from the snapshot alone: no second history row.
    expect(await storage.transfers.listForCustomer(customer.id, 10)).toHaveLength(1);
  });

  test('a version filtered under the old mapping is transferred once the mapping admits it', async () => {
    const company = bc.upsertCustomer({ type: 'Company', displayName: 'Adatum Corporation', email: 'adatum@example.com' });
    for (const message of await poll()) expect(await handleSyncMessage(deps, message, { dequeueCount: 1 })).toMatchObject({ action: 'Filtered' });
    // The same, unchanged version met again, now under a mapping that admits companies.
    const [again] = await repoll();
    expect(again?.customerId).toBe(company.id);
    expect(await handleSyncMessage(customDeps, again, { dequeueCount: 1 })).toMatchObject({ status: 'Succeeded', action: 'Created' });
    expect(ipaas.customers()).toEqual([expect.objectContaining({ firstName: 'Adatum Corporation', comment: 'Synced: Company' })]);
  });
});

describe('fencing', () => {
  test('a link is saved only over the version read: a stale save never overwrites a newer link', async () => {
    const links = new TableCustomerLinkStore(config.storage);
    const customerId = bc.upsertCustomer({ type: 'Person', displayName: 'Fenced', email: 'fenced@example.com' }).id;
    const base = { customerId, ipaasCustomerId: '1', customerNumber: 'C1', payloadHash: 'h1', lastSyncedAt: new Date().toISOString() };
    await links.save(base, { ifMatch: null });
    // A second "first" save (another worker that also saw no link) is refused.
    await expect(links.save({ ...base, payloadHash: 'h-other' }, { ifMatch: null })).rejects.toMatchObject({ code: 'ConcurrentSync', transient: true });
    const read = await links.get(customerId);
    expect(read?.etag).toBeTruthy();
    // The newer worker saves over what it read ...
    await links.save({ ...base, payloadHash: 'h2', sourceModifiedAt: '2026-11-27T10:00:00Z' }, { ifMatch: read!.etag! });
    // ... and the stale one, holding the older version, is refused.
    await expect(links.save({ ...base, payloadHash: 'h-stale' }, { ifMatch: read!.etag! })).rejects.toMatchObject({ code: 'ConcurrentSync' });
    expect(await links.get(customerId)).toMatchObject({ payloadHash: 'h2' });
  });

  test('a stale worker whose link changed under it fails the save (retried, reads again) instead of overwriting', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Raced', email: 'raced@example.com' });
    // Another transfer saves a link while this one is planning: simulated by saving just before the executor's save.
    const racing = {
      ...storage.links,
      get: storage.links.get.bind(storage.links),
      getState: storage.links.getState?.bind(storage.links),
      recordAttempt: storage.links.recordAttempt?.bind(storage.links),
      save: async (...args: Parameters<typeof storage.links.save>) => {
        await storage.links.save({ ...args[0], payloadHash: 'newer' });
        return storage.links.save(...args);
      },
    };
    await expect(handleSyncMessage({ ...deps, links: racing }, { customerId: customer.id, source: 'webhook', correlationId: 'c', enqueuedAt: new Date().toISOString() }, { dequeueCount: 1 })).rejects.toMatchObject({
      code: 'ConcurrentSync',
    });
    expect(await storage.links.get(customer.id)).toMatchObject({ payloadHash: 'newer' });
  });

  test('a duplicate message for a customer whose transfer runs goes back on the queue at once, without reading or recording', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Busy', email: 'busy@example.com' });
    const running = await storage.leases.tryAcquire(`customer-${customer.id}`, 60_000);
    expect(running).not.toBeNull();
    const queue = capturingQueue();
    const sleep = jest.fn(async () => {});
    const clock = { now: systemClock.now, sleep };
    const result = await handleSyncMessage(
      { ...deps, leaseWaitMs: 20_000, clock, hold: { breakers: new ServiceBreakers(storage.state), syncQueue: queue } },
      { customerId: customer.id, source: 'webhook', correlationId: 'c', enqueuedAt: new Date().toISOString() },
      { dequeueCount: 1 },
    );
    expect(isHeld(result) && result.reason).toBe('busy');
    // It did not wait for the lease at all (a worker is never held polling it).
    expect(sleep).not.toHaveBeenCalled();
    expect(queue.messages).toEqual([{ message: expect.objectContaining({ customerId: customer.id, holds: 1 }), delaySeconds: 5 }]);
    expect(bc.requests.get).toBe(0);
    expect(await storage.transfers.listForCustomer(customer.id, 10)).toHaveLength(0);
    await storage.leases.release(running!);
  });
});

describe('a transfer never outlives its lease unnoticed', () => {
  afterEach(() => server.resetHandlers());

  test('a slow transfer keeps its lease: while a call hangs past the lease time, a second delivery cannot take it over', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Slow Search', email: 'slow.search@example.com' });
    const searched = jest.fn();
    server.use(
      http.get(
        ({ request }) => ipaas.operationOf(request) === 'searchByEmail',
        async ({ request }) => {
          searched();
          await delay(3000);
          return getResponse(ipaas.handlers, request);
        },
        { once: true },
      ),
    );
    // A lease of 1 s, much shorter than the hanging search.
    const transfer = syncCustomer({ ...deps, leaseTtlMs: 1000 }, { customerId: customer.id, source: 'webhook', correlationId: 'c', attempt: 1 });
    while (searched.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Twice the lease's time since it was taken: renewed meanwhile, so still held.
    expect(await storage.leases.tryAcquire(`customer-${customer.id}`, 1000)).toBeNull();
    expect(await transfer).toMatchObject({ status: 'Succeeded', action: 'Created' });
    expect(ipaas.customers()).toHaveLength(1);
  });

  test('a retry of a write is not sent once the lease is lost (the HTTP client\'s own retries are fenced too)', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Fenced Retry', email: 'fenced.retry@example.com' });
    await syncCustomer(deps, { customerId: customer.id, source: 'webhook', correlationId: 'c', attempt: 1 });
    bc.updateCustomer(customer.id, { displayName: 'Fenced Retry Jr.' });
    // The PUT takes 60% of the lease's time (on the transfer's monotonic clock) and answers 503; meanwhile another
    // delivery took the lease over, so renewing it before the retry fails.
    const ttl = 30_000;
    let now = 0;
    const puts: number[] = [];
    const slowIpaas = createIpaasClient(config.ipaas, config.http, {
      sleep: async () => {},
      onExchange: (exchange) => {
        if (exchange.method !== 'PUT') return;
        now += 0.6 * ttl;
        puts.push(exchange.status === 'error' ? 0 : exchange.status);
      },
    });
    const leases: LeaseStore = {
      tryAcquire: (name, ttlMs) => storage.leases.tryAcquire(name, ttlMs),
      renew: async () => false,
      release: (lease) => storage.leases.release(lease),
    };
    ipaas.faults.add({ match: ipaas.matches('update'), status: 503, times: 1 });
    await expect(
      syncCustomer({ ...deps, ipaas: slowIpaas, leases, leaseTtlMs: ttl, leaseClock: () => now }, { customerId: customer.id, source: 'webhook', correlationId: 'c', attempt: 1 }),
    ).rejects.toMatchObject({ code: 'ConcurrentSync', transient: true });
    // The first PUT went out (and got 503); its retry, due after the lease was lost, never did.
    expect(puts).toEqual([503]);
    expect(ipaas.customers()).toEqual([expect.objectContaining({ firstName: 'Fenced Retry' })]);
  });

  test('a create that lands in iPaaS.com after the client gave up is not sent again: the next attempt waits for it, then links it', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Late Landing', email: 'late.landing@example.com' });
    // iPaaS.com stores the customer only after our client (300 ms timeout) gave up on the request: when the test says.
    let land: () => void = () => {};
    const landing = new Promise<void>((resolve) => (land = resolve));
    let landed: Promise<unknown> = Promise.resolve();
    server.use(
      http.post(
        ({ request }) => ipaas.operationOf(request) === 'create',
        ({ request }) => {
          landed = landing.then(() => getResponse(ipaas.handlers, request));
          return landed.then(() => new Response(null, { status: 504 }));
        },
        { once: true },
      ),
    );
    // A create sent less than two request timeouts ago may still land (writeTimeoutMs: what a request may take).
    const waits: number[] = [];
    const impatient = {
      ...deps,
      ipaas: createIpaasClient(config.ipaas, { ...config.http, timeoutMs: 300 }, { sleep: async () => {} }),
      writeTimeoutMs: 5_000,
      // The wait for the earlier create: it lands meanwhile.
      sleep: async (ms: number) => {
        waits.push(ms);
        land();
        await landed;
      },
    };
    const request = { customerId: customer.id, source: 'webhook' as const, correlationId: 'c', attempt: 1 };
    await expect(syncCustomer(impatient, request)).rejects.toMatchObject({ code: 'IpaasUnavailable', transient: true });
    // The next delivery comes at once: neither the email nor the number finds it yet, so it waits, then looks again.
    expect(await syncCustomer(impatient, { ...request, attempt: 2 })).toMatchObject({ status: 'Succeeded', ipaasCustomerId: ipaas.customers()[0]?.id });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(10_000);
    expect(ipaas.requests.create).toBe(1);
    expect(ipaas.customers()).toHaveLength(1);
  });

  test('a create refused for its number because an earlier create of the same customer landed meanwhile is not a DuplicateCustomerNumber', async () => {
    const customer = bc.upsertCustomer({ type: 'Person', displayName: 'Landed Between', email: 'landed.between@example.com' });
    // An earlier attempt sent a create long ago and got no answer.
    await storage.links.recordCreates!(customer.id, [
      { customerNumber: customer.number, emailDigest: emailDigest('landed.between@example.com'), sentAt: new Date(Date.now() - 600_000).toISOString() },
    ]);
    // It lands in iPaaS.com right after this attempt's searches, before its own create.
    server.use(
      http.get(
        ({ request }) => ipaas.operationOf(request) === 'searchByNumber',
        async ({ request }) => {
          const response = await getResponse(ipaas.handlers, request);
          ipaas.seedCustomer({ customerNumber: customer.number, firstName: 'Landed Between', emailAddress: 'landed.between@example.com' });
          return response;
        },
        { once: true },
      ),
    );
    const request = { customerId: customer.id, source: 'webhook' as const, correlationId: 'c', attempt: 1 };
    await expect(syncCustomer(deps, request)).rejects.toMatchObject({ code: 'ConcurrentSync', transient: true });
    const retry = await syncCustomer(deps, { ...request, attempt: 2 });
    expect(retry).toMatchObject({ status: 'Succeeded', ipaasCustomerId: ipaas.customers()[0]?.id });
    expect(ipaas.customers()).toHaveLength(1);
    expect((await storage.transfers.listForCustomer(customer.id, 10)).map((transfer) => transfer.errorCode)).not.toContain('DuplicateCustomerNumber');
  });
});
