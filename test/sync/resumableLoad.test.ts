/**
 * The initial load survives a restart: 100,000 customers in pages of 10,000; the first run dies half-way
 * (its host is gone while page 6 is being enqueued, as at a function timeout), a fresh run goes on from the
 * checkpoint of the last page enqueued instead of starting over, and the pass ends with every customer
 * enqueued, the watermark set and no checkpoint left.
 */
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, loadStorageConfig } from '../../shared/config';
import { silentLogger } from '../../shared/log';
import { createStorage, type QueueSender } from '../../shared/storage';
import type { SyncMessage } from '../../shared/messages';
import { POLL_CHECKPOINT_KEY, POLL_WATERMARK_KEY, pollChanges, type PollDependencies } from '../../shared/sync/pollChanges';
import { createFakeWorld } from '../../dev/fakes/world';
import { OVERLAP_KEYS_MAX } from '../../shared/sync/pollOverlap';
import { startMockServer } from '../support/msw';
import { resetStorage } from '../support/storage';

jest.setTimeout(300_000);

const CUSTOMERS = 100_000;
const PAGE_SIZE = 10_000;
const config = loadConfig(process.env);
let bcNow = Date.parse('2026-06-01T00:00:00.000Z');
const world = createFakeWorld(config, { now: () => new Date(bcNow) });
startMockServer(...world.handlers);
const storage = createStorage(loadStorageConfig(process.env));
const businessCentral = createBusinessCentralClient(config.businessCentral, config.http, { sleep: async () => {} });

/** Records only the ids (100,000 full messages would only cost memory); can be told to die at a given page. */
function countingQueue(dieOnPage?: number): QueueSender & { sends: Map<string, number>; pagesSent: number } {
  const sends = new Map<string, number>();
  const queue = {
    sends,
    pagesSent: 0,
    async send(messages: readonly unknown[]) {
      // The poll sends a page in slices of 1,000: half of page `dieOnPage` gets out, then the host is gone.
      const page = Math.floor(sendsTotal() / PAGE_SIZE) + 1;
      if (dieOnPage !== undefined && page === dieOnPage && sendsTotal() % PAGE_SIZE >= PAGE_SIZE / 2) throw new Error('host restarted');
      for (const message of messages as SyncMessage[]) sends.set(message.customerId, (sends.get(message.customerId) ?? 0) + 1);
    },
  };
  const sendsTotal = () => [...sends.values()].reduce((sum, count) => sum + count, 0);
  return queue;
}

function deps(syncQueue: QueueSender): PollDependencies {
  return { businessCentral, syncQueue, leases: storage.leases, state: storage.state, logger: silentLogger, pageSize: PAGE_SIZE };
}

beforeAll(async () => {
  await resetStorage();
  for (let index = 0; index < CUSTOMERS; index += 1) {
    if (index % 1000 === 0) bcNow += 60_000;
    world.businessCentral.upsertCustomer({ type: 'Person', displayName: `Load ${index}`, email: `load.${index}@example.com` });
  }
});

test('a 100,000-customer initial load killed half-way goes on from its checkpoint and finishes', async () => {
  world.businessCentral.resetRequests();
  const first = countingQueue(6);
  await expect(pollChanges(deps(first))).rejects.toThrow('host restarted');
  expect(world.businessCentral.requests.list).toBe(6);
  // Five pages made it, and the checkpoint points at the sixth.
  const checkpoint = await storage.state.get(POLL_CHECKPOINT_KEY, (value) => value as { pages: number; enqueued: number; nextLink: string });
  expect(checkpoint?.value).toMatchObject({ pages: 5, enqueued: 5 * PAGE_SIZE });
  expect(await storage.state.get(POLL_WATERMARK_KEY, (value) => value)).toBeNull();

  // A new host: new queue sender, same storage.
  world.businessCentral.resetRequests();
  const second = countingQueue();
  const result = await pollChanges(deps(second));
  expect(result).toMatchObject({ outcome: 'polled', mode: 'full', resumed: true, pages: 10, customers: CUSTOMERS, enqueued: CUSTOMERS, advanced: true });
  // The second run read pages 6 to 10 only: it did not start over.
  expect(world.businessCentral.requests.list).toBe(5);

  const all = new Map(first.sends);
  for (const [id, count] of second.sends) all.set(id, (all.get(id) ?? 0) + count);
  const ids = world.businessCentral.customers().map((customer) => customer.id);
  const missing = ids.filter((id) => !all.has(id));
  const twice = ids.filter((id) => (all.get(id) ?? 0) > 1);
  console.info(`resumable load: ${CUSTOMERS} customers, first run ${first.sends.size} enqueued, second ${second.sends.size}, missing ${missing.length}, enqueued twice ${twice.length}`);
  expect(missing).toEqual([]);
  // Only the part of page 6 that got out before the restart is enqueued again (the sync is idempotent).
  expect(twice.length).toBe(PAGE_SIZE / 2);
  expect(await storage.state.get(POLL_CHECKPOINT_KEY, (value) => value)).toBeNull();
  const newest = world.businessCentral.customers().reduce((max, customer) => (customer.lastModifiedDateTime > max ? customer.lastModifiedDateTime : max), '');
  expect((await storage.state.get(POLL_WATERMARK_KEY, (value) => value as { lastModifiedDateTime: string }))?.value.lastModifiedDateTime).toBe(newest);

  // The next poll is incremental again: only the 2-minute overlap before the watermark (the last 2,000 here). The
  // resumed pass stored the keys of the overlap's customers on the pages it read (half of them: pages run by id, not
  // by time), so only the other half are enqueued again.
  const next = await pollChanges(deps(countingQueue()));
  expect(next).toMatchObject({ outcome: 'polled', mode: 'incremental', resumed: false, customers: 2000, enqueued: 1000 });
  // Those are known now too, up to the bound of the keys kept: the rest of the overlap is what is enqueued again.
  const after = await pollChanges(deps(countingQueue()));
  expect(after).toMatchObject({ outcome: 'polled', customers: 2000, enqueued: 2000 - OVERLAP_KEYS_MAX });
});

test('a checkpoint Business Central refuses is dropped so the next run starts the pass over', async () => {
  await storage.state.put(POLL_CHECKPOINT_KEY, {
    mode: 'full',
    modifiedSince: null,
    nextLink: 'https://evil.example/customers?$skiptoken=x',
    newest: null,
    pages: 3,
    customers: 30_000,
    enqueued: 30_000,
    startedAt: new Date().toISOString(),
  });
  await expect(pollChanges(deps(countingQueue()))).rejects.toThrow(/nextLink/u);
  expect(await storage.state.get(POLL_CHECKPOINT_KEY, (value) => value)).toBeNull();
});
