/**
 * The shared request budget: three "hosts" (three independent budgets, as three processes would have) on one
 * Azurite against one Business Central stand-in that answers 429 to a sixth concurrent request; slots held as
 * blob leases, which storage expires, so a host whose clock runs ahead cannot take a slot early; every waiting
 * request settles when storage fails; a wait is bounded and its storage operations grow with time, not with the
 * number of waiting requests. Counts, not timings.
 */
import { randomUUID } from 'node:crypto';
import { offsetClock } from '../../shared/clock';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { ConcurrencyLimiter } from '../../shared/http/limiter';
import { BudgetWaitTimeoutError, SharedRequestBudget } from '../../shared/http/sharedBudget';
import { BlobSlotLeases, type SlotLease, type SlotLeases } from '../../shared/storage/blobLeases';
import { ManualClock } from '../support/clock';
import { seededRandom } from '../faults/support/simulation';

const storage = loadStorageConfig(process.env);

/** A service that serves 5 at once and refuses (429) beyond, like Business Central's per-registration limit. */
function limitedService(limit: number) {
  let inFlight = 0;
  const counts = { served: 0, throttled: 0, maxInFlight: 0 };
  const call = async (): Promise<number> => {
    inFlight += 1;
    counts.maxInFlight = Math.max(counts.maxInFlight, inFlight);
    try {
      if (inFlight > limit) {
        counts.throttled += 1;
        return 429;
      }
      // A few event-loop turns of "work", so calls overlap.
      for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      counts.served += 1;
      return 200;
    } finally {
      inFlight -= 1;
    }
  };
  return { call, counts };
}

const slotLeases = (name: string) => new BlobSlotLeases(storage, name, 60);

function host(name: string, options: Partial<ConstructorParameters<typeof SharedRequestBudget>[0]> = {}) {
  return new SharedRequestBudget({ slots: 5, leases: slotLeases(name), minIntervalMs: 0, maxWaitMs: 60_000, idleReleaseMs: 20, pollMs: 10, ...options });
}

/** Slot leases that storage never grants (every slot held elsewhere), counting the attempts. */
function takenEverywhere(): SlotLeases & { attempts: number } {
  const leases = {
    attempts: 0,
    durationMs: 60_000,
    acquire: async (): Promise<SlotLease | null> => {
      leases.attempts += 1;
      return null;
    },
    renew: async () => false,
    release: async () => undefined,
  };
  return leases;
}

test('three hosts with 20 callers each never exceed 5 concurrent: no 429, every call served, and the slots used side by side', async () => {
  const name = `bc-budget-test-${randomUUID()}`;
  const hosts = [host(name), host(name), host(name)];
  const service = limitedService(5);
  const perHost = 60;
  const statuses = await Promise.all(hosts.flatMap((budget) => Array.from({ length: perHost }, () => budget.run(service.call))));
  await Promise.all(hosts.map((budget) => budget.releaseAll()));
  expect(service.counts.throttled).toBe(0);
  expect(statuses.filter((status) => status === 200)).toHaveLength(3 * perHost);
  expect(service.counts.maxInFlight).toBeLessThanOrEqual(5);
  // The budget is used, not just respected: calls ran side by side (how many at once depends on scheduling on a
  // busy machine; utilisation is a bench figure, `npm run bench -- --only budget`).
  expect(service.counts.maxInFlight).toBeGreaterThanOrEqual(2);
}, 120_000);

test('without the shared budget, three hosts each limited to 5 locally overrun the service (the failure the budget prevents)', async () => {
  const service = limitedService(5);
  const limiters = [new ConcurrencyLimiter(5), new ConcurrencyLimiter(5), new ConcurrencyLimiter(5)];
  await Promise.all(limiters.flatMap((limiter) => Array.from({ length: 20 }, () => limiter.run(service.call))));
  expect(service.counts.throttled).toBeGreaterThan(0);
});

test('a slot is spaced by minIntervalMs (the per-5-minutes rate), counted through the clock it asks', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const waits: number[] = [];
  const budget = new SharedRequestBudget({
    slots: 1,
    leases: slotLeases(`bc-rate-test-${randomUUID()}`),
    minIntervalMs: 250,
    maxWaitMs: 60_000,
    clock: { now: clock.now, sleep: async (ms) => { waits.push(ms); await clock.sleep(ms); } },
  });
  for (let call = 0; call < 4; call += 1) await budget.run(async () => 'ok');
  await budget.releaseAll();
  expect(waits).toEqual([250, 250, 250]);
});

test('a slot held by one host cannot be taken by another whose clock runs 10 minutes ahead: storage expires leases, not clocks', async () => {
  const name = `bc-skew-test-${randomUUID()}`;
  const honest = new SharedRequestBudget({ slots: 1, leases: slotLeases(name), minIntervalMs: 0, maxWaitMs: 60_000 });
  const ahead = new SharedRequestBudget({ slots: 1, leases: slotLeases(name), minIntervalMs: 0, maxWaitMs: 1_500, pollMs: 50, clock: offsetClock(10 * 60_000) });
  let inFlight = 0;
  let overlapped = false;
  const call = async (hold: Promise<void>) => {
    inFlight += 1;
    if (inFlight > 1) overlapped = true;
    await hold;
    inFlight -= 1;
  };
  let finish!: () => void;
  const holding = new Promise<void>((resolve) => (finish = resolve));
  let started!: () => void;
  const holds = new Promise<void>((resolve) => (started = resolve));
  const first = honest.run(() => {
    started();
    return call(holding);
  });
  // The honest host holds the only slot; the one ahead waits, and gives up at its bound instead of taking it over.
  await holds;
  await expect(ahead.run(() => call(Promise.resolve()))).rejects.toBeInstanceOf(BudgetWaitTimeoutError);
  finish();
  await first;
  await honest.releaseAll();
  await expect(ahead.run(() => call(Promise.resolve()))).resolves.toBeUndefined();
  await ahead.releaseAll();
  expect(overlapped).toBe(false);
}, 60_000);

test('every waiting request settles when storage fails: all of them reject with the storage error, none hangs', async () => {
  const failure = new SyncError('StorageUnavailable', 'Storage taking a request budget slot failed: HTTP 503', { transient: true });
  const leases: SlotLeases = {
    durationMs: 60_000,
    acquire: async () => Promise.reject(failure),
    renew: async () => false,
    release: async () => undefined,
  };
  const budget = new SharedRequestBudget({ slots: 5, leases, minIntervalMs: 0, maxWaitMs: 60_000, clock: new ManualClock(0) });
  let ran = 0;
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => budget.run(async () => void (ran += 1))));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(Array.from({ length: 8 }, () => 'rejected'));
  for (const outcome of outcomes) expect((outcome as PromiseRejectedResult).reason).toBe(failure);
  expect(ran).toBe(0);
  expect(budget.waiting).toBe(0);
});

test('a wait for a slot is bounded: after maxWaitMs the request fails (transient for the client), and the loop stops', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const leases = takenEverywhere();
  const budget = new SharedRequestBudget({ slots: 5, leases, minIntervalMs: 0, maxWaitMs: 60_000, clock, random: seededRandom(1) });
  const started = clock.now();
  await expect(budget.run(async () => 'never')).rejects.toBeInstanceOf(BudgetWaitTimeoutError);
  expect(clock.now() - started).toBeGreaterThanOrEqual(60_000);
  expect(budget.waiting).toBe(0);
  const attempts = leases.attempts;
  // Rounds back off from 50 ms to 1 s: about 70 rounds of 5 attempts in a minute, not one round every 50 ms.
  expect(attempts).toBeLessThanOrEqual(5 * 80);
  expect(attempts).toBeGreaterThan(0);
});

test('one polling loop per instance: twenty waiting requests cost the storage operations of one', async () => {
  const attemptsFor = async (requests: number): Promise<number> => {
    const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
    const leases = takenEverywhere();
    const budget = new SharedRequestBudget({ slots: 5, leases, minIntervalMs: 0, maxWaitMs: 30_000, clock, random: seededRandom(7) });
    const outcomes = await Promise.allSettled(Array.from({ length: requests }, () => budget.run(async () => 'never')));
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    return leases.attempts;
  };
  const one = await attemptsFor(1);
  const twenty = await attemptsFor(20);
  expect(twenty).toBe(one);
});

test('blob slot leases: one holder at a time, renewed by its holder only, free again once released', async () => {
  const name = `bc-slot-test-${randomUUID()}`;
  const a = slotLeases(name);
  const b = slotLeases(name);
  const lease = await a.acquire(0);
  expect(lease).not.toBeNull();
  expect(await b.acquire(0)).toBeNull();
  expect(await a.renew(lease!)).toBe(true);
  expect(await b.renew({ index: 0, leaseId: randomUUID() })).toBe(false);
  await a.release(lease!);
  const again = await b.acquire(0);
  expect(again).not.toBeNull();
  expect(await a.renew(lease!)).toBe(false);
  await b.release(again!);
  expect(() => new BlobSlotLeases(storage, name, 90)).toThrow(RangeError);
});
