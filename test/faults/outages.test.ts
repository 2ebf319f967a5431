/**
 * Outages of a whole service, in simulated time: iPaaS.com refusing the API key for minutes, throttling
 * everything with Retry-After: 120 for three minutes (and 40 for 150 s), answering 503 for an hour, one bogus
 * Retry-After of a day; Business Central answering 503 for an hour. Customers change in Business Central
 * throughout the outage and webhooks announce them; the poll runs every 5 minutes and the breakers' timer every
 * 15 seconds, as deployed. The real worker logic runs (handleSyncMessage with the circuit breakers and the
 * waiting room, pollChanges, the real clients against the fakes, the real stores on Azurite); only time is
 * simulated: the clients' waits, leases, breakers, the fake Business Central's change times and the queue's
 * invisibility all read one clock that jumps ahead when nothing is due. In each run: nothing lost, nothing
 * duplicated, no RetriesExhausted, no poison, every customer changed during the outage ends Succeeded with
 * Business Central's data without any replay, changes flow again within the last hold plus 30 s, and the
 * outage's log lines and queue operations per changed customer stay within bounds that do not grow with it.
 */
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, loadStorageConfig } from '../../shared/config';
import { SyncError, type ServiceName } from '../../shared/errors';
import { emailKey } from '../../shared/mapping/email';
import { createIpaasClient } from '../../shared/ipaas/client';
import type { Logger } from '../../shared/log';
import { createStorage, TableLeaseStore, TableWaitingRoom, type TransferRecord } from '../../shared/storage';
import { OUTAGE_STATE_PREFIX, ServiceBreakers, type OutageState } from '../../shared/sync/outages';
import { handlePoisonMessage, handleSyncMessage, isHeld } from '../../shared/sync/queueWorkers';
import { newSyncMessage } from '../../shared/messages';
import { pollChanges } from '../../shared/sync/pollChanges';
import { RetrySchedule, runDueRetries } from '../../shared/sync/retrySchedule';
import { createFakeWorld } from '../../dev/fakes/world';
import { parseServiceOutageLine, SERVICE_OUTAGE_EVENT, STORAGE_OUTAGE_EVENT } from '../../shared/telemetry';
import { serviceProbes } from '../../shared/services';
import { startMockServer } from '../support/msw';
import { resetAllStorage } from '../support/storage';
import { seededRandom, SimulatedClock, SimulatedQueue } from './support/simulation';

const print = console.log.bind(console);
// Each run is a few seconds on an idle 2-core machine; the bound leaves room for a loaded one.
jest.setTimeout(300_000);

const SECOND = 1_000;
const MINUTE = 60_000;
/** host.json: a failed delivery comes back after visibilityTimeout (30 s) and is poisoned at the 5th. */
const VISIBILITY_TIMEOUT_MS = 30_000;
const MAX_DEQUEUE_COUNT = 5;
/** Simulated time one invocation takes (besides the clients' own waits). */
const INVOCATION_MS = 300;
/** The deployed timers: the breakers' watch every 15 s, the poll every 5 minutes, the retry timer every minute. */
const WATCH_EVERY_MS = 15 * SECOND;
const POLL_EVERY_MS = 5 * MINUTE;
const RETRY_EVERY_MS = MINUTE;

const config = loadConfig(process.env);
const clock = new SimulatedClock(Date.parse('2026-11-27T08:00:00Z'));
const world = createFakeWorld(config, { now: clock.date });
startMockServer(...world.handlers);
const storageConfig = loadStorageConfig(process.env);
const storage = createStorage(storageConfig, undefined, { clock });

interface Figures {
  scenario: string;
  outageMin: number;
  changedDuringOutage: number;
  lost: number;
  duplicated: number;
  retriesExhausted: number;
  poison: number;
  outageLines: number;
  allLines: number;
  queueOpsPerChanged: number;
  failedAttempts: number;
  flowAfterS: number;
  lastHoldS: number;
  doneAfterS: number;
}
const figures: Figures[] = [];

afterAll(() => {
  print(
    [
      'Outage runs (simulated time; queue operations = sends, receives and deletes of a changed customer\'s messages, from the outage to the first poll after it):',
      ...figures.map(
        (f) =>
          `  ${f.scenario.padEnd(44)} changed ${f.changedDuringOutage}, lost ${f.lost}, duplicated ${f.duplicated}, RetriesExhausted ${f.retriesExhausted}, ` +
          `poison ${f.poison} | ${f.outageLines} outage lines, ${f.allLines} lines in all, ${f.queueOpsPerChanged.toFixed(1)} queue operations per changed customer, ` +
          `${f.failedAttempts} failed attempts | flowing ${f.flowAfterS.toFixed(0)} s after the outage ended (last hold ${f.lastHoldS.toFixed(0)} s), all done after ${f.doneAfterS.toFixed(0)} s`,
      ),
    ].join('\n'),
  );
});

beforeEach(async () => {
  await resetAllStorage();
  world.ipaas.reset();
  world.businessCentral.faults.clear();
  for (const customer of world.businessCentral.customers()) world.businessCentral.deleteCustomer(customer.id);
});

interface Run {
  queue: SimulatedQueue;
  logs: string[];
  /** Every HTTP exchange with a remote service: when (simulated) and how it went. */
  exchanges: Array<{ service: ServiceName; at: number; ok: boolean }>;
  poisonRecords: TransferRecord[];
}

/** Table Storage as `target`, failing every call with a 503 while `isDown()` (a proxy: methods only). */
function failingWhen<T extends object>(target: T, isDown: () => boolean): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        isDown() ? Promise.reject(new SyncError('StorageUnavailable', 'Storage answered HTTP 503 ServerBusy', { transient: true, status: 503 })) : (value as (...a: unknown[]) => unknown).apply(object, args);
    },
  });
}

function system(seed: number, options: { tablesDown?: () => boolean } = {}) {
  const tablesDown = options.tablesDown ?? (() => false);
  const random = seededRandom(seed);
  const logs: string[] = [];
  const logger: Logger = {
    info: (message) => logs.push(`info ${message}`),
    warn: (message) => logs.push(`warn ${message}`),
    error: (message) => logs.push(`error ${message}`),
  };
  const queue = new SimulatedQueue(clock);
  const rawWaiting = new TableWaitingRoom(storageConfig, queue, { clock });
  const waiting = failingWhen(rawWaiting, tablesDown);
  const breakers = new ServiceBreakers(failingWhen(storage.state, tablesDown), { clock, random, logger, waiting });
  const exchanges: Run['exchanges'] = [];
  const ok = (status: number | 'error') => status !== 'error' && ((status >= 200 && status < 300) || status === 404);
  const observe = (service: ServiceName) => (exchange: { status: number | 'error' }) => {
    exchanges.push({ service, at: clock.time, ok: ok(exchange.status) });
    breakers.observe(service, ok(exchange.status));
  };
  const bcOptions = { sleep: clock.sleep, random, onExchange: observe('businessCentral') };
  const ipaasOptions = { sleep: clock.sleep, random, onExchange: observe('ipaas') };
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http, bcOptions);
  const ipaas = createIpaasClient(config.ipaas, config.http, ipaasOptions);
  // As shared/services.ts builds them: the probes ask once, with the same credentials.
  const probeHttp = { ...config.http, maxAttempts: 1 };
  breakers.setProbes(serviceProbes(createBusinessCentralClient(config.businessCentral, probeHttp, bcOptions), createIpaasClient(config.ipaas, probeHttp, ipaasOptions)));
  const leases = new TableLeaseStore(storageConfig, { clock });
  const deps = {
    businessCentral,
    ipaas,
    transfers: failingWhen(storage.transfers, tablesDown),
    links: failingWhen(storage.links, tablesDown),
    leases: failingWhen(leases, tablesDown),
    logger,
    leaseTtlMs: 120_000,
    clock,
    hold: { breakers, syncQueue: queue, waiting },
  };
  const run: Run = { queue, logs, exchanges, poisonRecords: [] };
  const retries = new RetrySchedule(storageConfig, { clock });
  const next = { watch: clock.time, poll: clock.time, retry: clock.time };
  /** Customers that reached the poison queue (their automatic retries keep simulated time running). */
  const scheduledFor = new Set<string>();

  async function runTimers(): Promise<void> {
    if (clock.time >= next.retry) {
      await runDueRetries({ schedule: retries, transfers: storage.transfers, syncQueue: queue, logger });
      next.retry = clock.time + RETRY_EVERY_MS;
    }
    if (clock.time >= next.watch) {
      await breakers.watch(logger);
      next.watch = clock.time + WATCH_EVERY_MS;
    }
    if (clock.time >= next.poll) {
      await pollChanges({ businessCentral, syncQueue: queue, leases, state: storage.state, logger, clock, onHold: () => breakers.onHold() }).catch((error: unknown) =>
        logger.error(`poll failed: ${String(error)}`),
      );
      next.poll = clock.time + POLL_EVERY_MS;
    }
  }

  /** Whether a service is on hold or customers wait for one (the breakers' timer has work). */
  async function held(): Promise<boolean> {
    for (const service of ['ipaas', 'businessCentral'] as const) {
      if (await storage.state.get(`${OUTAGE_STATE_PREFIX}${service}`, (value) => value)) return true;
      if ((await rawWaiting.count(service)) > 0) return true;
    }
    return false;
  }

  /** Whether anything is still to happen: messages, an outage on hold, customers waiting, a scheduled retry. */
  async function busy(pending: unknown[], atLeastUntil: number, onHold: boolean): Promise<boolean> {
    if (queue.length > 0 || pending.length > 0 || clock.time < atLeastUntil || onHold) return true;
    for (const id of scheduledFor) if (await retries.get(id)) return true;
    return false;
  }

  /** Processes messages as they become visible and runs the timers, jumping the clock ahead when nothing is due, until `until` or nothing is left. */
  async function drain(until: number, events: Array<{ at: number; apply: () => Promise<void> }> = [], atLeastUntil = 0): Promise<void> {
    const pending = [...events].sort((a, b) => a.at - b.at);
    for (;;) {
      while (pending.length > 0 && pending[0]!.at <= clock.time) await pending.shift()!.apply();
      await runTimers();
      const message = queue.take();
      if (message) {
        clock.time += INVOCATION_MS;
        try {
          await handleSyncMessage(deps, message.body, { dequeueCount: message.dequeueCount });
          queue.complete(message);
        } catch {
          if (queue.fail(message, VISIBILITY_TIMEOUT_MS, MAX_DEQUEUE_COUNT) === 'poison') {
            const poisoned = await handlePoisonMessage({ transfers: storage.transfers, logger, retries, clock }, message.body, MAX_DEQUEUE_COUNT);
            run.poisonRecords.push(poisoned);
            scheduledFor.add(poisoned.customerId);
          }
        }
        continue;
      }
      const onHold = await held();
      if (!(await busy(pending, atLeastUntil, onHold))) return;
      // With nothing on hold the breakers' timer finds nothing to do: skip its rounds (as simulated time, not as behaviour).
      const watchAt = onHold ? next.watch : Number.POSITIVE_INFINITY;
      const nextAt = Math.min(queue.nextVisibleAt() ?? Number.POSITIVE_INFINITY, pending[0]?.at ?? Number.POSITIVE_INFINITY, watchAt, next.poll, next.retry);
      if (nextAt > until) return;
      clock.time = Math.max(clock.time, nextAt);
    }
  }

  return { run, drain, deps, retries, breakers, waiting: rawWaiting, nextPollAt: () => next.poll };
}

let sequence = 0;
function newPerson(label: string) {
  sequence += 1;
  return world.businessCentral.upsertCustomer({
    type: 'Person',
    displayName: `${label} ${sequence}`,
    email: `${label.toLowerCase()}.${sequence}@example.com`,
    city: 'Oslo',
    country: 'NO',
    addressLine1: `Street ${sequence}`,
  });
}

interface Scenario {
  name: string;
  /** The outage, installed at its start: returns a predicate "is the outage on now". */
  install: (isOn: () => boolean) => void;
  durationMs: number;
  /** The service whose outage it is. */
  service: ServiceName;
  /** Changes during the outage (default: every existing customer updated and 10 created). */
  changes?: number;
  /** The longest hold the breaker may use here (default: its back-off's 5 minutes). */
  maxHoldMs?: number;
}

async function runScenario(scenario: Scenario, seed: number): Promise<Figures> {
  const { run, drain, nextPollAt } = system(seed);
  // Before: 20 customers transferred while everything works.
  const existing = Array.from({ length: 20 }, () => newPerson('Before'));
  await run.queue.send(existing.map((customer) => newSyncMessage(customer.id, 'webhook', { clock })));
  await drain(clock.time + 10 * MINUTE);
  expect(run.queue.length).toBe(0);
  const createsBefore = world.ipaas.requests.create;
  expect(createsBefore).toBe(existing.length);

  // The outage: customers are updated or created while it lasts, each announced by a webhook.
  const start = clock.time;
  const end = start + scenario.durationMs;
  scenario.install(() => clock.time >= start && clock.time < end);
  const changed = new Map<string, number>();
  const events: Array<{ at: number; apply: () => Promise<void> }> = [];
  const changes = scenario.changes ?? existing.length + 10;
  for (let index = 0; index < changes; index += 1) {
    const at = start + Math.floor(((index + 0.5) / changes) * scenario.durationMs * 0.9);
    events.push({
      at,
      apply: async () => {
        const customer =
          index < existing.length ? world.businessCentral.updateCustomer(existing[index % existing.length]!.id, { displayName: `Changed ${index}`, city: 'Bergen' }) : newPerson('During');
        changed.set(customer.id, clock.time);
        await run.queue.send([newSyncMessage(customer.id, 'webhook', { clock })]);
      },
    });
  }
  // When the outage ends: how long the breaker's current hold still has to run.
  let holdLeftAtEnd = 0;
  let lastHoldMs = 0;
  events.push({
    at: end,
    apply: async () => {
      const row = (await storage.state.get(`${OUTAGE_STATE_PREFIX}${scenario.service}`, (value) => value as OutageState))?.value;
      if (row) holdLeftAtEnd = Math.max(0, Date.parse(row.retryAt) - clock.time);
    },
  });
  const linesBefore = run.logs.length;
  const opsBefore = new Map(existing.map((customer) => [customer.id, run.queue.operationsFor(customer.id)]));
  await drain(end + 3 * 60 * MINUTE, events);
  const doneAt = clock.time;
  // The first poll after the outage (counted: it enqueues the customers changed meanwhile once more, to no effect).
  await drain(end + 4 * 60 * MINUTE, [], nextPollAt() + 1);

  // Everything transferred, nothing left waiting, no replay.
  expect(run.queue.length).toBe(0);
  const latest = new Map<string, TransferRecord>();
  for (const id of changed.keys()) {
    const [record] = await storage.transfers.listForCustomer(id, 1);
    if (record) latest.set(id, record);
  }
  // Lost: a changed customer whose Business Central data did not reach iPaaS.com.
  const ipaasByEmail = new Map<string, number>();
  for (const customer of world.ipaas.customers()) ipaasByEmail.set(emailKey(customer.emailAddress), (ipaasByEmail.get(emailKey(customer.emailAddress)) ?? 0) + 1);
  let lost = 0;
  for (const id of changed.keys()) {
    const source = world.businessCentral.customers().find((customer) => customer.id === id)!;
    const target = world.ipaas.customers().filter((customer) => emailKey(customer.emailAddress) === emailKey(source.email));
    if (target.length !== 1 || target[0]!.firstName !== source.displayName || target[0]!.customerNumber !== source.number) lost += 1;
  }
  const duplicated = [...ipaasByEmail.values()].filter((count) => count > 1).length;
  const allTransfers = (await Promise.all([...changed.keys()].map((id) => storage.transfers.listForCustomer(id, 200)))).flat();
  const retriesExhausted = allTransfers.filter((record) => record.errorCode === 'RetriesExhausted').length;
  const lines = run.logs.slice(linesBefore);
  const outageEvents = lines.map(parseServiceOutageLine).filter((event) => event !== null);
  // The hold in force when the outage ended: from the last opening or failed probe to its end.
  const heldUntil = end + holdLeftAtEnd;
  const succeededAfter = allTransfers.filter((record) => record.status === 'Succeeded' && Date.parse(record.finishedAt) >= end).map((record) => Date.parse(record.finishedAt));
  const flowAt = Math.min(...succeededAfter);
  lastHoldMs = holdLeftAtEnd;
  const result: Figures = {
    scenario: scenario.name,
    outageMin: scenario.durationMs / MINUTE,
    changedDuringOutage: changed.size,
    lost,
    duplicated,
    retriesExhausted,
    poison: run.queue.poison.length,
    outageLines: outageEvents.length,
    allLines: lines.length,
    queueOpsPerChanged: [...changed.keys()].reduce((sum, id) => sum + run.queue.operationsFor(id) - (opsBefore.get(id) ?? 0), 0) / Math.max(1, changed.size),
    failedAttempts: allTransfers.filter((record) => record.status === 'Failed').length,
    flowAfterS: (flowAt - end) / SECOND,
    lastHoldS: lastHoldMs / SECOND,
    doneAfterS: (doneAt - end) / SECOND,
  };
  figures.push(result);

  expect(changed.size).toBe(changes);
  expect(lost).toBe(0);
  expect(duplicated).toBe(0);
  expect(retriesExhausted).toBe(0);
  expect(run.queue.poison).toHaveLength(0);
  // Every customer changed during the outage ends Succeeded, after the outage, by itself.
  for (const id of changed.keys()) expect(latest.get(id)).toMatchObject({ status: 'Succeeded' });
  expect([...latest.values()].filter((record) => Date.parse(record.finishedAt) >= end)).toHaveLength(changed.size);
  // The outage was announced once, and its end once, with the customers that waited; nothing is left on hold.
  expect(outageEvents.filter((event) => event.state === 'onHold')).toHaveLength(1);
  expect(outageEvents.filter((event) => event.state === 'resumed')).toHaveLength(1);
  expect(await storage.state.get(`${OUTAGE_STATE_PREFIX}${scenario.service}`, (value) => value)).toBeNull();
  // One line per state change and one every 5 minutes while it lasts, whatever the number of held messages.
  expect(outageEvents.length).toBeLessThanOrEqual(2 + Math.ceil(scenario.durationMs / (5 * MINUTE)) + 1);
  // Changes flow again within the hold in force when the outage ended plus 30 seconds.
  expect(flowAt - end).toBeLessThanOrEqual(holdLeftAtEnd + 30 * SECOND);
  expect(holdLeftAtEnd).toBeLessThanOrEqual(scenario.maxHoldMs ?? 5 * MINUTE);
  expect(heldUntil).toBeGreaterThanOrEqual(end);
  // And every changed customer is through soon after: the waiting ones are resumed together.
  expect(doneAt - end).toBeLessThanOrEqual(holdLeftAtEnd + 30 * SECOND + changed.size * (INVOCATION_MS + 5 * SECOND));
  // Queue work per changed customer does not grow with the outage: its message, parked once, resumed once, and the poll after.
  expect(result.queueOpsPerChanged).toBeLessThanOrEqual(12);
  return result;
}

test('iPaaS.com refuses the API key (401 AUTH) for 7 minutes, then accepts it', async () => {
  await runScenario(
    {
      name: 'iPaaS.com refuses the key for 7 min',
      service: 'ipaas',
      durationMs: 7 * MINUTE,
      install: (isOn) => world.ipaas.faults.add({ match: isOn, status: 401 }),
    },
    1,
  );
});

test('iPaaS.com throttles everything with Retry-After: 120 for 3 minutes', async () => {
  await runScenario(
    {
      name: 'iPaaS.com 429 Retry-After 120 for 3 min',
      service: 'ipaas',
      durationMs: 3 * MINUTE,
      install: (isOn) => world.ipaas.faults.add({ match: isOn, status: 429, retryAfterSeconds: 120 }),
    },
    2,
  );
});

test('iPaaS.com throttles with Retry-After: 40 for 150 s while a customer changes every 10 s: asked again within 40 + 30 s of recovering', async () => {
  const figures = await runScenario(
    {
      name: 'iPaaS.com 429 Retry-After 40 for 150 s',
      service: 'ipaas',
      durationMs: 150 * SECOND,
      changes: 15,
      install: (isOn) => world.ipaas.faults.add({ match: isOn, status: 429, retryAfterSeconds: 40 }),
    },
    7,
  );
  expect(figures.flowAfterS).toBeLessThanOrEqual(40 + 30);
});

test('iPaaS.com answers one Retry-After: 86400: the hold is cut to 15 minutes and the service probed then', async () => {
  const figures = await runScenario(
    {
      name: 'iPaaS.com 429 Retry-After 86400 (1 min)',
      service: 'ipaas',
      durationMs: MINUTE,
      changes: 5,
      maxHoldMs: 15 * MINUTE,
      install: (isOn) => world.ipaas.faults.add({ match: isOn, status: 429, retryAfterSeconds: 86_400 }),
    },
    8,
  );
  expect(figures.lastHoldS).toBeLessThanOrEqual(15 * 60);
  expect(figures.doneAfterS).toBeLessThanOrEqual(15 * 60 + 30 + 5 * 6);
});

test('iPaaS.com is down (503) for an hour', async () => {
  await runScenario(
    {
      name: 'iPaaS.com 503 for 60 min',
      service: 'ipaas',
      durationMs: 60 * MINUTE,
      install: (isOn) => world.ipaas.faults.add({ match: isOn, status: 503 }),
    },
    3,
  );
});

test('Business Central is down (503) for an hour', async () => {
  await runScenario(
    {
      name: 'Business Central 503 for 60 min',
      service: 'businessCentral',
      durationMs: 60 * MINUTE,
      install: (isOn) => world.businessCentral.faults.add({ match: isOn, status: 503 }),
    },
    4,
  );
});

test('one customer failing while the service answers others is not an outage: RetriesExhausted, then automatic retries until it works', async () => {
  const { run, drain } = system(6);
  const others = Array.from({ length: 5 }, () => newPerson('Fine'));
  const troubled = newPerson('Troubled');
  const start = clock.time;
  // Business Central fails every read of this one customer for 40 minutes; it answers everything else.
  world.businessCentral.faults.add({ match: (request) => request.url.includes(troubled.id) && clock.time < start + 40 * MINUTE, status: 503 });
  await run.queue.send([troubled, ...others].map((customer) => newSyncMessage(customer.id, 'webhook', { clock })));
  await drain(start + 6 * 60 * MINUTE);

  const history = await storage.transfers.listForCustomer(troubled.id, 200);
  const exhausted = history.filter((record) => record.errorCode === 'RetriesExhausted');
  const retriesRun = history.filter((record) => record.source === 'replay');
  print(
    `  one customer failing for 40 min (not an outage): ${exhausted.length} RetriesExhausted, ${retriesRun.length} automatic retry attempts, ` +
      `ends ${history[0]?.status} ${((Date.parse(history[0]!.finishedAt) - start) / MINUTE).toFixed(0)} min after its change`,
  );
  // Not an outage: nothing held, Business Central never put on hold.
  expect(run.logs.some((line) => line.includes(`${SERVICE_OUTAGE_EVENT} `))).toBe(false);
  // It went the customer's way: deliveries exhausted, then retried by the schedule (1, 5, 15, 60 min...), visible in its history.
  expect(exhausted.length).toBeGreaterThanOrEqual(2);
  expect(exhausted[0]?.errorMessage).toMatch(/Automatic retry \d of 8 at /u);
  expect(retriesRun.length).toBeGreaterThan(0);
  // And it ends transferred, without a manual replay (by an automatic retry, or by a poll that carried the customer
  // as its page returned it, so its failing read was not needed); the schedule is gone.
  expect(history.find((record) => record.status === 'Succeeded')).toBeDefined();
  expect(history[0]!.status).not.toBe('Failed');
  expect(world.ipaas.customers().filter((customer) => customer.customerNumber === troubled.number)).toHaveLength(1);
  expect(await new RetrySchedule(storageConfig, { clock }).get(troubled.id)).toBeNull();
  for (const other of others) expect((await storage.transfers.listForCustomer(other.id, 1))[0]).toMatchObject({ status: 'Succeeded' });
});

test('a held change is parked, not a message going round: the outage never counts against its deliveries', async () => {
  const { run, drain, deps, waiting } = system(5);
  const opener = newPerson('Opener');
  const held = newPerson('Held');
  const start = clock.time;
  world.ipaas.faults.add({ status: 401, match: () => clock.time < start + 2 * MINUTE });
  await run.queue.send([newSyncMessage(opener.id, 'manual', { clock }), newSyncMessage(held.id, 'manual', { clock })]);
  // The first message meets the refused key and opens the breaker: it is the sentinel and goes back on the queue
  // for the hold (so the service is probed when the hold ends, timer or not).
  const first = run.queue.take()!;
  const opened = await handleSyncMessage(deps, first.body, { dequeueCount: 1 });
  run.queue.complete(first);
  expect(isHeld(opened) && opened.parked).toBe(false);
  // The second is held without being attempted: parked in the waiting room, nothing on the queue for it.
  const second = run.queue.take()!;
  const parked = await handleSyncMessage(deps, second.body, { dequeueCount: 1 });
  run.queue.complete(second);
  expect(isHeld(parked) && parked.parked).toBe(true);
  expect(run.queue.messages.map((message) => (message.body as { customerId: string }).customerId)).toEqual([opener.id]);
  expect(await waiting.count('ipaas')).toBe(1);
  await drain(clock.time + 30 * MINUTE);
  for (const customer of [opener, held]) {
    const history = await storage.transfers.listForCustomer(customer.id, 10);
    expect(history.find((record) => record.status === 'Succeeded')).toMatchObject({ action: 'Created', attempt: 1 });
  }
  expect(await waiting.count('ipaas')).toBe(0);
});

test('with no timer at all, the sentinel message alone probes the service when each hold ends and brings everyone back', async () => {
  const { run, deps, waiting } = system(10);
  const customers = Array.from({ length: 4 }, () => newPerson('NoTimer'));
  const start = clock.time;
  world.ipaas.faults.add({ status: 503, match: () => clock.time < start + 6 * MINUTE });
  await run.queue.send(customers.map((customer) => newSyncMessage(customer.id, 'webhook', { clock })));
  // Only the queue runs (no outage timer, no poll): take messages as they become visible.
  while (clock.time < start + 60 * MINUTE) {
    const message = run.queue.take();
    if (!message) {
      const next = run.queue.nextVisibleAt();
      if (next === undefined) break;
      clock.time = Math.max(clock.time, next);
      continue;
    }
    clock.time += INVOCATION_MS;
    try {
      await handleSyncMessage(deps, message.body, { dequeueCount: message.dequeueCount });
      run.queue.complete(message);
    } catch {
      run.queue.fail(message, VISIBILITY_TIMEOUT_MS, MAX_DEQUEUE_COUNT);
    }
  }
  expect(run.queue.poison).toHaveLength(0);
  expect(await waiting.count('ipaas')).toBe(0);
  for (const customer of customers) {
    const history = await storage.transfers.listForCustomer(customer.id, 20);
    expect(history.some((record) => record.status === 'Succeeded')).toBe(true);
  }
  expect(await storage.state.get(`${OUTAGE_STATE_PREFIX}ipaas`, (value) => value)).toBeNull();
});

test('Table Storage down for 10 minutes: workers hold their messages for storage instead of spending deliveries; nothing poisoned, all through after', async () => {
  let down = false;
  const { run, drain } = system(9, { tablesDown: () => down });
  const customers = Array.from({ length: 8 }, () => newPerson('Stored'));
  const start = clock.time;
  const end = start + 10 * MINUTE;
  down = true;
  const events = [
    ...customers.map((customer, index) => ({ at: start + index * 30 * SECOND, apply: async () => run.queue.send([newSyncMessage(customer.id, 'webhook', { clock })]) })),
    { at: end, apply: async () => void (down = false) },
  ];
  await drain(end + 60 * MINUTE, events, end + 1);
  expect(run.queue.poison).toHaveLength(0);
  expect(run.poisonRecords).toHaveLength(0);
  for (const customer of customers) {
    const history = await storage.transfers.listForCustomer(customer.id, 20);
    expect(history.filter((record) => record.status === 'Succeeded' && record.action === 'Created')).toHaveLength(1);
    expect(history[0]!.status).not.toBe('Failed');
  }
  expect(world.ipaas.customers().filter((customer) => customer.emailAddress.startsWith('stored.'))).toHaveLength(customers.length);
  const lines = run.logs.filter((line) => line.includes(`${STORAGE_OUTAGE_EVENT} `));
  // One line when it started, one every 5 minutes, one when it ended: not one per held message.
  expect(lines.filter((line) => line.includes('"onHold"'))).toHaveLength(1);
  expect(lines.filter((line) => line.includes('"resumed"'))).toHaveLength(1);
  expect(lines.length).toBeLessThanOrEqual(4);
  // Each held message came back within the storage back-off (at most 5 minutes) after the tables answered.
  const finished = await Promise.all(
    customers.map(async (customer) => Date.parse((await storage.transfers.listForCustomer(customer.id, 20)).find((record) => record.action === 'Created')!.finishedAt)),
  );
  expect(Math.max(...finished) - end).toBeLessThanOrEqual(5 * MINUTE * 1.2 + 30 * SECOND);
});
