import { getServices } from '../../shared/services';
import { SyncError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import type { QueueSender } from '../../shared/storage/types';
import { type SyncMessage } from '../../shared/messages';
import { POLL_WATERMARK_KEY, pollChanges, type PollDependencies } from '../../shared/sync/pollChanges';
import { takeMessages, useHarness } from './harness';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { fixedClock } from '../support/clock';

// Business Central's clock, moved by hand so lastModifiedDateTime values are far apart.
let bcNow = Date.parse('2026-11-25T08:00:00.000Z');
const harness = useHarness({ now: () => new Date(bcNow) });
const MINUTE = 60_000;

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (message) => lines.push(message), warn: (message) => lines.push(message), error: (message) => lines.push(message) };
}

function deps(overrides: Partial<PollDependencies> = {}): PollDependencies {
  const { businessCentral, storage } = getServices();
  return { businessCentral, syncQueue: storage.syncQueue, leases: storage.leases, state: storage.state, logger: logger(), pageSize: 2, ...overrides };
}

/** Creates customers, each `stepMinutes` later on Business Central's clock. */
function createCustomers(count: number, stepMinutes = 10) {
  return Array.from({ length: count }, (_, index) => {
    bcNow += stepMinutes * MINUTE;
    return harness.bc.upsertCustomer({ type: index % 2 === 0 ? 'Person' : 'Company', displayName: `Customer ${index}`, email: `c${index}@example.com` });
  });
}

async function watermark(): Promise<string | null> {
  const stored = await getServices().storage.state.get(POLL_WATERMARK_KEY, (value) => value as { lastModifiedDateTime: string });
  return stored?.value.lastModifiedDateTime ?? null;
}

const enqueuedIds = async () => ((await takeMessages(SYNC_QUEUE)) as SyncMessage[]).map((message) => message.customerId).sort();
const listUrls = () => harness.bc.requestLog.filter((request) => request.kind === 'list').map((request) => decodeURIComponent(request.url));

test('first run is a full load over several pages; the watermark becomes the newest lastModifiedDateTime', async () => {
  const customers = createCustomers(5);
  const log = logger();
  const result = await pollChanges(deps({ logger: log }));
  expect(result).toMatchObject({ outcome: 'polled', mode: 'full', modifiedSince: null, pages: 3, customers: 5, enqueued: 5, advanced: true });
  expect(await enqueuedIds()).toEqual(customers.map((customer) => customer.id).sort());
  expect(await watermark()).toBe(customers.at(-1)!.lastModifiedDateTime);
  expect(listUrls()[0]).not.toContain('$filter');
  // Progress per page, counts only: no names or emails in the logs.
  expect(log.lines.filter((line) => line.startsWith('poll page '))).toHaveLength(3);
  expect(log.lines.join('\n')).not.toMatch(/Customer \d|@example\.com/u);
});

test('the next run asks only for changes since the watermark minus a 2-minute overlap, then advances it', async () => {
  const [first, second, third] = createCustomers(3);
  await pollChanges(deps());
  await takeMessages(SYNC_QUEUE);
  expect(await watermark()).toBe(third!.lastModifiedDateTime);

  bcNow += 30 * MINUTE;
  const updated = harness.bc.updateCustomer(first!.id, { displayName: 'Renamed' });
  harness.bc.resetRequests();
  const result = await pollChanges(deps());
  const since = new Date(Date.parse(third!.lastModifiedDateTime) - 2 * MINUTE).toISOString();
  expect(result).toMatchObject({ outcome: 'polled', mode: 'incremental', modifiedSince: since, advanced: true });
  expect(listUrls()[0]).toContain(`$filter=lastModifiedDateTime gt ${since}`);
  // third lies inside the overlap but the last poll enqueued that very change: it is not enqueued again; second is outside.
  const ids = await enqueuedIds();
  expect(ids).toEqual([updated.id]);
  expect(ids).not.toContain(second!.id);
  expect(result).toMatchObject({ enqueued: 1, customers: 2 });
  expect(await watermark()).toBe(updated.lastModifiedDateTime);
});

test('no newer change: only the overlap is re-read and the watermark stays', async () => {
  const [older, newest] = createCustomers(2);
  await pollChanges(deps());
  await takeMessages(SYNC_QUEUE);
  bcNow += 60 * MINUTE;
  const log = logger();
  const result = await pollChanges(deps({ logger: log }));
  // The overlap returns newest again, the change the last poll enqueued: nothing is enqueued, poll after poll.
  expect(result).toMatchObject({ outcome: 'polled', customers: 1, enqueued: 0, advanced: false });
  expect(await enqueuedIds()).toEqual([]);
  expect(log.lines.join('\n')).toContain('1 in the overlap already enqueued by the last poll');
  expect(await pollChanges(deps())).toMatchObject({ outcome: 'polled', enqueued: 0 });
  expect(await enqueuedIds()).not.toContain(older!.id);
  expect(await watermark()).toBe(newest!.lastModifiedDateTime);
});

test('a change committed late, its timestamp inside the overlap, is enqueued once: the next poll knows it', async () => {
  const [, newest] = createCustomers(2);
  await pollChanges(deps());
  await takeMessages(SYNC_QUEUE);
  // Business Central commits it now, stamped one minute before the watermark.
  const saved = bcNow;
  bcNow = Date.parse(newest!.lastModifiedDateTime) - MINUTE;
  const late = harness.bc.upsertCustomer({ type: 'Person', displayName: 'Late', email: 'late@example.com' });
  bcNow = saved + 10 * MINUTE;
  expect(await pollChanges(deps())).toMatchObject({ customers: 2, enqueued: 1, advanced: false });
  expect(await enqueuedIds()).toEqual([late.id]);
  expect(await pollChanges(deps())).toMatchObject({ customers: 2, enqueued: 0 });
  // Changed again (a new timestamp): enqueued, whatever the keys say.
  bcNow += MINUTE;
  const changed = harness.bc.updateCustomer(late.id, { displayName: 'Late, renamed' });
  expect(await pollChanges(deps())).toMatchObject({ enqueued: 1, advanced: true });
  expect(await enqueuedIds()).toEqual([changed.id]);
});

test('overlap keys that cannot be read count as none: the watermark holds and the overlap is enqueued again', async () => {
  const [, newest] = createCustomers(2);
  await pollChanges(deps());
  await takeMessages(SYNC_QUEUE);
  await getServices().storage.state.put(POLL_WATERMARK_KEY, { lastModifiedDateTime: newest!.lastModifiedDateTime, overlapKeys: 'not a list' });
  expect(await pollChanges(deps())).toMatchObject({ outcome: 'polled', mode: 'incremental', enqueued: 1 });
  expect(await enqueuedIds()).toEqual([newest!.id]);
  // That poll stored the keys again.
  expect(await pollChanges(deps())).toMatchObject({ enqueued: 0 });
});

test('POLL_START_FROM bounds the first poll when there is no watermark', async () => {
  const customers = createCustomers(4);
  const startFrom = new Date(Date.parse(customers[1]!.lastModifiedDateTime) + MINUTE).toISOString();
  const result = await pollChanges(deps({ startFrom }));
  expect(result).toMatchObject({ outcome: 'polled', mode: 'startFrom', modifiedSince: startFrom });
  expect(await enqueuedIds()).toEqual([customers[2]!.id, customers[3]!.id].sort());
});

test('a watermark is never moved backwards', async () => {
  const [customer] = createCustomers(1);
  // A watermark just after the customer: the overlap returns it, but it is older than the watermark.
  const stored = new Date(Date.parse(customer!.lastModifiedDateTime) + MINUTE).toISOString();
  await getServices().storage.state.put(POLL_WATERMARK_KEY, { lastModifiedDateTime: stored });
  const result = await pollChanges(deps());
  expect(result).toMatchObject({ outcome: 'polled', enqueued: 1, advanced: false, watermark: stored });
  expect(await watermark()).toBe(stored);
});

test('two overlapping runs: one polls, the other returns skipped', async () => {
  createCustomers(3);
  harness.bc.faults.latencyMs = 150;
  const [a, b] = await Promise.all([pollChanges(deps()), pollChanges(deps())]);
  const outcomes = [a.outcome, b.outcome].sort();
  expect(outcomes).toEqual(['polled', 'skipped']);
  expect(await enqueuedIds()).toHaveLength(3);
  // The lease was released: the next run polls.
  harness.bc.faults.latencyMs = 0;
  expect((await pollChanges(deps())).outcome).toBe('polled');
});

test('when enqueueing fails midway, the watermark does not move and the lease is released', async () => {
  const customers = createCustomers(5);
  const { storage } = getServices();
  await storage.state.put(POLL_WATERMARK_KEY, { lastModifiedDateTime: '2026-11-25T07:00:00.000Z' });
  let calls = 0;
  const flaky: QueueSender = {
    send: async (messages) => {
      calls += 1;
      if (calls === 2) throw new SyncError('StorageUnavailable', 'queue down', { transient: true });
      await storage.syncQueue.send(messages);
    },
  };
  await expect(pollChanges(deps({ syncQueue: flaky }))).rejects.toMatchObject({ code: 'StorageUnavailable' });
  expect(await watermark()).toBe('2026-11-25T07:00:00.000Z');
  await takeMessages(SYNC_QUEUE);
  const retry = await pollChanges(deps());
  expect(retry).toMatchObject({ outcome: 'polled', enqueued: 5 });
  expect(await watermark()).toBe(customers.at(-1)!.lastModifiedDateTime);
});

test('a Business Central failure leaves the watermark too', async () => {
  createCustomers(3);
  harness.bc.faults.add({ status: 400 });
  await expect(pollChanges(deps())).rejects.toBeInstanceOf(SyncError);
  expect(await watermark()).toBeNull();
});

test('the pollCustomers timer runs the use-case through the host', async () => {
  const customers = createCustomers(3);
  await harness.host().runTimer('pollCustomers');
  expect(await enqueuedIds()).toEqual(customers.map((customer) => customer.id).sort());
  expect(await watermark()).toBe(customers.at(-1)!.lastModifiedDateTime);
});

test("the poll's messages are dated by the clock it is given, not the machine's", async () => {
  createCustomers(3);
  await pollChanges(deps({ clock: fixedClock('2026-11-25T09:30:00.000Z') }));
  const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
  expect(messages).toHaveLength(3);
  expect(new Set(messages.map((message) => message.enqueuedAt))).toEqual(new Set(['2026-11-25T09:30:00.000Z']));
});
