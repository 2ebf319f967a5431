/**
 * The circuit breakers (shared/sync/outages.ts) against SyncState on Azurite, in a clock the test moves: an outage
 * is never forgotten because its row could not be read, only the outage that was seen is closed, a Retry-After is
 * capped, a refused credential opens the breaker only when a customer-free request fails too, the breaker closes
 * by itself without traffic, one service's probe is never claimed for a message held by another, one probe per
 * service across instances, and one log line per change of state.
 */
import { loadStorageConfig } from '../../shared/config';
import { SyncError, type ServiceName } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { TableStateStore, type StateStore } from '../../shared/storage';
import { OUTAGE_STATE_PREFIX, ServiceBreakers, StorageOutageTracker, type BreakerOptions, type OutageState } from '../../shared/sync/outages';
import { parseServiceOutageLine, type ServiceOutageEvent } from '../../shared/telemetry';
import { ManualClock } from '../support/clock';
import { resetStorage } from '../support/storage';
import { TableClient } from '@azure/data-tables';
import { testStorageConnectionString } from '../support/storage';

const MINUTE = 60_000;
const state = new TableStateStore(loadStorageConfig());

beforeEach(resetStorage);

const outage = (service: ServiceName, kind: 'auth' | 'throttled' | 'unavailable', retryAfterMs?: number) =>
  new SyncError(service === 'ipaas' ? 'IpaasUnavailable' : 'BusinessCentralUnavailable', `${service} answered ${kind === 'auth' ? 401 : kind === 'throttled' ? 429 : 503}`, {
    transient: true,
    status: kind === 'auth' ? 401 : kind === 'throttled' ? 429 : 503,
    outage: { service, kind },
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

/** A service the test switches on and off; its probe is a request of no customer, counted. */
function service(name: ServiceName) {
  const control = { up: false, probes: 0, failWith: outage(name, 'unavailable') as SyncError };
  const probe = async () => {
    control.probes += 1;
    if (!control.up) throw control.failWith;
  };
  return { control, probe };
}

function collectingLogger(): Logger & { lines: string[]; events: () => ServiceOutageEvent[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(message),
    error: (message) => lines.push(message),
    events: () => lines.map(parseServiceOutageLine).filter((event): event is ServiceOutageEvent => event !== null),
  };
}

function breakers(clock: ManualClock, options: BreakerOptions = {}, store: StateStore = state) {
  return new ServiceBreakers(store, { clock, random: () => 0, ...options });
}

const read = async (service: ServiceName) => (await state.get(`${OUTAGE_STATE_PREFIX}${service}`, (value) => value as OutageState))?.value ?? null;

test('a storage error while reading the outage keeps the outage: work stays held and the row is not deleted', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  let failReads = false;
  const flaky: StateStore = {
    get: (key, parse) => (failReads ? Promise.reject(new SyncError('StorageUnavailable', 'Storage reading state failed: HTTP 503', { transient: true })) : state.get(key, parse)),
    put: (key, value, etag) => state.put(key, value, etag),
    delete: (key, etag) => state.delete(key, etag),
  };
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe } }, flaky);
  expect((await breaker.failed(outage('ipaas', 'auth'))).held).toBe(true);
  failReads = true;
  clock.advance(11_000); // past the cached read
  const admission = await breaker.admit(['ipaas']);
  expect(admission.admitted).toBe(false);
  failReads = false;
  expect(await read('ipaas')).toMatchObject({ service: 'ipaas', kind: 'auth' });
});

test('with nothing known and the row unreadable, admit throws the storage error (held for storage) instead of admitting', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const down: StateStore = {
    get: () => Promise.reject(new SyncError('StorageUnavailable', 'Storage reading state failed: HTTP 503', { transient: true })),
    put: async () => false,
    delete: async () => false,
  };
  await expect(breakers(clock, {}, down).admit()).rejects.toMatchObject({ code: 'StorageUnavailable' });
});

test('a working answer closes only the outage that was seen: one re-opened meanwhile by another instance stays', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const mine = breakers(clock);
  const other = breakers(clock);
  await mine.failed(outage('ipaas', 'throttled', 40_000));
  await mine.admit(['ipaas']); // reads the row (with its ETag)
  // Another instance finds the service failing again and writes a newer hold over the row meanwhile.
  const seen = await state.get(`${OUTAGE_STATE_PREFIX}ipaas`, (value) => value as OutageState);
  await state.put(`${OUTAGE_STATE_PREFIX}ipaas`, { ...seen!.value, openings: 2, retryAt: new Date(clock.now() + 5 * MINUTE).toISOString() }, seen!.etag);
  mine.observe('ipaas', true);
  await mine.settle();
  expect(await read('ipaas')).toMatchObject({ openings: 2 });
  expect((await other.admit(['ipaas'])).admitted).toBe(false);
});

test('a Retry-After of 10 days holds the service for OUTAGE_MAX_RETRY_AFTER_SECONDS (15 min by default), then it is probed', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe } });
  const decision = await breaker.failed(outage('ipaas', 'throttled', 864_000_000));
  expect(decision.held).toBe(true);
  expect(Date.parse(decision.state!.retryAt) - clock.now()).toBe(15 * MINUTE);
  expect(decision.delayMs).toBeLessThan(16 * MINUTE);
  ipaas.control.up = true;
  clock.advance(15 * MINUTE);
  expect(await breaker.admit(['ipaas'])).toEqual({ admitted: true });
  expect(ipaas.control.probes).toBe(1);

  const capped = breakers(clock, { maxRetryAfterMs: 2 * MINUTE });
  const again = await capped.failed(outage('businessCentral', 'throttled', 864_000_000));
  expect(Date.parse(again.state!.retryAt) - clock.now()).toBe(2 * MINUTE);
});

test('a 401 opens the breaker only when a request of no particular customer with the same credentials fails too', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  ipaas.control.up = true; // the key works: one record is refused, not the service
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe } });
  expect((await breaker.failed(outage('ipaas', 'auth'))).held).toBe(false);
  expect(ipaas.control.probes).toBe(1);
  expect(await read('ipaas')).toBeNull();
  ipaas.control.up = false;
  ipaas.control.failWith = outage('ipaas', 'auth');
  expect((await breaker.failed(outage('ipaas', 'auth'))).held).toBe(true);
  expect(await read('ipaas')).toMatchObject({ kind: 'auth', openings: 1 });
});

test('with no traffic at all, the timer probes the service once its hold ends and closes the breaker; health is clear again', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  const logger = collectingLogger();
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe }, logger });
  await breaker.failed(outage('ipaas', 'throttled', 40_000));
  expect(await breaker.report()).toHaveLength(1);
  // Still failing at the first probe: held again, with back-off; no line for that (not a change of state).
  clock.advance(40_000);
  await breaker.watch();
  expect(ipaas.control.probes).toBe(1);
  expect(await read('ipaas')).toMatchObject({ openings: 2 });
  ipaas.control.up = true;
  const retryAt = Date.parse((await read('ipaas'))!.retryAt);
  clock.time = retryAt;
  await breaker.watch();
  expect(ipaas.control.probes).toBe(2);
  expect(await read('ipaas')).toBeNull();
  expect(await breaker.report()).toEqual([]);
  expect(logger.events().map((event) => event.state)).toEqual(['onHold', 'resumed']);
});

test('a breaker closed by a message (its admit probes the service) writes the resumed line through that invocation\'s logger', async () => {
  // As in production: the breakers have no logger of their own (a Functions process has none; each invocation does).
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe } });
  const opening = collectingLogger();
  await breaker.failed(outage('ipaas', 'throttled', 30_000), opening);
  ipaas.control.up = true;
  clock.advance(30_000);
  const message = collectingLogger();
  expect(await breaker.admit(['ipaas'], message)).toEqual({ admitted: true });
  expect(ipaas.control.probes).toBe(1);
  expect(opening.events().map((event) => event.state)).toEqual(['onHold']);
  expect(message.events()).toEqual([expect.objectContaining({ service: 'ipaas', state: 'resumed' })]);
  // The poll's check (onHold) likewise.
  await breaker.failed(outage('ipaas', 'throttled', 30_000), opening);
  clock.advance(30_000);
  const poll = collectingLogger();
  expect(await breaker.onHold(['ipaas'], poll)).toBeNull();
  expect(poll.events().map((event) => event.state)).toEqual(['resumed']);
});

test('a message needing both services is held for the one still held, without claiming the probe of the other', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const bc = service('businessCentral');
  const ipaas = service('ipaas');
  const breaker = breakers(clock, { probes: { businessCentral: bc.probe, ipaas: ipaas.probe } });
  await breaker.failed(outage('businessCentral', 'throttled', 30_000));
  await breaker.failed(outage('ipaas', 'throttled', 10 * MINUTE));
  clock.advance(31_000); // Business Central's hold is over, iPaaS.com's is not
  const admission = await breaker.admit();
  expect(admission).toMatchObject({ admitted: false, service: 'ipaas' });
  expect(bc.control.probes).toBe(0);
  expect((await read('businessCentral'))?.probeUntil).toBeUndefined();
});

test('one probe per service across instances: three instances due at once ask the service once', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  let release!: () => void;
  const slow = new Promise<void>((resolve) => (release = resolve));
  const probe = async () => {
    ipaas.control.probes += 1;
    await slow;
  };
  const instances = [0, 1, 2].map(() => breakers(clock, { probes: { ipaas: probe } }));
  await instances[0]!.failed(outage('ipaas', 'throttled', 30_000));
  clock.advance(30_000);
  // The first instance claims the probe; while its request is out, the other two are held behind it.
  const prober = instances[0]!.admit(['ipaas']);
  while (ipaas.control.probes === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const others = await Promise.all(instances.slice(1).map((instance) => instance.admit(['ipaas'])));
  for (const result of others) {
    expect(result).toMatchObject({ admitted: false, service: 'ipaas' });
    expect((result as { delayMs: number }).delayMs).toBeLessThanOrEqual(10_000);
  }
  release();
  expect(await prober).toEqual({ admitted: true });
  expect(ipaas.control.probes).toBe(1);
  expect(await read('ipaas')).toBeNull();
});

test('a long outage writes one line when it opens, one every 5 minutes from one instance, one when it closes', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  const loggers = [collectingLogger(), collectingLogger()];
  const waiting = { count: async () => 7, resume: async () => 7 };
  const instances = loggers.map((logger) => breakers(clock, { probes: { ipaas: ipaas.probe }, logger, waiting }));
  await instances[0]!.failed(outage('ipaas', 'unavailable'), loggers[0]);
  // The failure threshold: three in a row before the check; the check fails too.
  await instances[0]!.failed(outage('ipaas', 'unavailable'), loggers[0]);
  await instances[0]!.failed(outage('ipaas', 'unavailable'), loggers[0]);
  // Half an hour, both instances' timers every 15 s.
  for (let second = 0; second < 1800; second += 15) {
    clock.advance(15_000);
    for (const [index, instance] of instances.entries()) await instance.watch(loggers[index]);
  }
  ipaas.control.up = true;
  for (let second = 0; second < 600 && (await read('ipaas')) !== null; second += 15) {
    clock.advance(15_000);
    for (const [index, instance] of instances.entries()) await instance.watch(loggers[index]);
  }
  const events = loggers.flatMap((logger) => logger.events());
  expect(events.filter((event) => event.state === 'onHold')).toHaveLength(1);
  expect(events.filter((event) => event.state === 'resumed')).toEqual([expect.objectContaining({ waiting: 7 })]);
  const still = events.filter((event) => event.state === 'stillOnHold');
  expect(still.length).toBeGreaterThanOrEqual(5);
  expect(still.length).toBeLessThanOrEqual(7);
  expect(still[0]).toMatchObject({ waiting: 7 });
  // Every line of either instance is one of these.
  expect(loggers.flatMap((logger) => logger.lines)).toHaveLength(events.length);
}, 120_000);

test('an unreadable outage row is treated as an outage: probed, then closed once the service answers', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const ipaas = service('ipaas');
  ipaas.control.up = true;
  const table = TableClient.fromConnectionString(testStorageConnectionString(), 'SyncState', { allowInsecureConnection: true });
  await table.createTable();
  await table.upsertEntity({ partitionKey: 'state', rowKey: `${OUTAGE_STATE_PREFIX}ipaas`, Key: `${OUTAGE_STATE_PREFIX}ipaas`, Value: '{not json' });
  const breaker = breakers(clock, { probes: { ipaas: ipaas.probe } });
  expect(await breaker.admit(['ipaas'])).toEqual({ admitted: true });
  expect(ipaas.control.probes).toBe(1);
  expect(await read('ipaas')).toBeNull();
});

test("several companies' breakers in one instance share its storage outage: one StorageOutage line per change of state, not one per company", async () => {
  const clock = new ManualClock(Date.parse('2026-06-01T08:00:00Z'));
  const storageOutage = new StorageOutageTracker(clock, 5 * MINUTE);
  const logger = collectingLogger();
  const [us, ca] = [breakers(clock, { storageOutage }), breakers(clock, { storageOutage })];
  const down = new SyncError('StorageUnavailable', 'Table storage failed: HTTP 503', { transient: true, status: 503 });
  us!.storageFailed(down, logger);
  ca!.storageFailed(down, logger);
  clock.advance(5 * MINUTE);
  ca!.storageFailed(down, logger);
  us!.storageFailed(down, logger);
  us!.storageAnswered(logger);
  ca!.storageAnswered(logger);
  const states = logger.lines.filter((line) => line.startsWith('StorageOutage ')).map((line) => (JSON.parse(line.slice('StorageOutage '.length)) as { state: string; held: number }));
  expect(states).toEqual([
    expect.objectContaining({ state: 'onHold', held: 1 }),
    expect.objectContaining({ state: 'stillOnHold', held: 3 }),
    expect.objectContaining({ state: 'resumed', held: 4 }),
  ]);
});
