/**
 * Outages of a whole service, in simulated time: iPaaS.com refusing the API key for minutes, throttling
 * everything with Retry-After: 120 for three minutes, answering 503 for an hour; Business Central answering
 * 503 for an hour. Customers change in Business Central throughout the outage and webhooks announce them.
 * The real worker logic runs (handleSyncMessage with the circuit breakers, the real clients against the
 * fakes, the real stores on Azurite); only time is simulated: the clients' waits, leases, breakers, the fake
 * Business Central's change times and the queue's invisibility all read one clock that jumps ahead when
 * nothing is due. In each run: nothing lost, nothing duplicated, no RetriesExhausted, no poison, and every
 * customer changed during the outage ends Succeeded with Business Central's data, without any replay.
 */
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, loadStorageConfig } from '../../shared/config';
import type { ServiceName } from '../../shared/errors';
import { emailKey } from '../../shared/mapping/email';
import { createIpaasClient } from '../../shared/ipaas/client';
import type { Logger } from '../../shared/log';
import { createStorage, TableLeaseStore, type TransferRecord } from '../../shared/storage';
import { ServiceBreakers } from '../../shared/sync/outages';
import { handlePoisonMessage, handleSyncMessage, isHeld } from '../../shared/sync/queueWorkers';
import { newSyncMessage } from '../../shared/messages';
import { RetrySchedule, runDueRetries } from '../../shared/sync/retrySchedule';
import { createFakeWorld } from '../../dev/fakes/world';
import { parseTransferHoldLine, SERVICE_OUTAGE_EVENT } from '../../shared/telemetry';
import { serviceProbes } from '../../shared/services';
import { startMockServer } from '../support/msw';
import { resetAllStorage } from '../support/storage';
import { seededRandom, SimulatedClock, SimulatedQueue } from './support/simulation';

const print = console.log.bind(console);
// Each run is a few seconds on an idle 2-core machine; the bound leaves room for a loaded one.
jest.setTimeout(240_000);

const MINUTE = 60_000;
/** host.json: a failed delivery comes back after visibilityTimeout (30 s) and is poisoned at the 5th. */
const VISIBILITY_TIMEOUT_MS = 30_000;
const MAX_DEQUEUE_COUNT = 5;
/** Simulated time one invocation takes (besides the clients' own waits). */
const INVOCATION_MS = 300;

const config = loadConfig(process.env);
const clock = new SimulatedClock(Date.parse('2026-11-27T08:00:00Z'));
const world = createFakeWorld(config, { now: clock.date });
startMockServer(...world.handlers);
const storage = createStorage(loadStorageConfig(process.env));

interface Figures {
  scenario: string;
  changedDuringOutage: number;
  transferredAfter: number;
  lost: number;
  duplicated: number;
  retriesExhausted: number;
  poison: number;
  holds: number;
  probes: number;
  failedAttempts: number;
  recoveredAfterMin: number;
}
const figures: Figures[] = [];

afterAll(() => {
  print(
    [
      'Outage runs (simulated time):',
      ...figures.map(
        (f) =>
          `  ${f.scenario.padEnd(44)} changed during outage ${f.changedDuringOutage}, transferred after ${f.transferredAfter}, lost ${f.lost}, ` +
          `duplicated ${f.duplicated}, RetriesExhausted ${f.retriesExhausted}, poison ${f.poison} | held ${f.holds} times, ` +
          `${f.failedAttempts} failed attempts, ${f.probes} outage lines, all done ${f.recoveredAfterMin.toFixed(1)} min after the outage ended`,
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
  poisonRecords: TransferRecord[];
}

function system(seed: number) {
  const random = seededRandom(seed);
  const logs: string[] = [];
  const logger: Logger = {
    info: (message) => logs.push(`info ${message}`),
    warn: (message) => logs.push(`warn ${message}`),
    error: (message) => logs.push(`error ${message}`),
  };
  const breakers = new ServiceBreakers(storage.state, { clock: clock.ms, random, logger });
  const ok = (status: number | 'error') => status !== 'error' && ((status >= 200 && status < 300) || status === 404);
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http, {
    sleep: clock.sleep,
    random,
    onExchange: (exchange) => breakers.observe('businessCentral', ok(exchange.status)),
  });
  const ipaas = createIpaasClient(config.ipaas, config.http, {
    sleep: clock.sleep,
    random,
    onExchange: (exchange) => breakers.observe('ipaas', ok(exchange.status)),
  });
  breakers.setProbes(serviceProbes(businessCentral, ipaas));
  const queue = new SimulatedQueue(clock);
  const deps = {
    businessCentral,
    ipaas,
    transfers: storage.transfers,
    links: storage.links,
    leases: new TableLeaseStore(loadStorageConfig(process.env), { clock: clock.ms }),
    logger,
    leaseTtlMs: 120_000,
    clock: clock.date,
    sleep: clock.sleep,
    hold: { breakers, syncQueue: queue },
  };
  const run: Run = { queue, logs, poisonRecords: [] };
  const retries = new RetrySchedule(loadStorageConfig(process.env), { clock: clock.date });
  /** The retry timer runs every minute of simulated time. */
  let nextRetryRun = clock.now;
  /** Customers that reached the poison queue (their automatic retries keep simulated time running). */
  const scheduledFor = new Set<string>();

  /** Processes messages as they become visible, jumping the clock ahead when none is, until `until` or the queue is empty. */
  async function drain(until: number, events: Array<{ at: number; apply: () => Promise<void> }> = []): Promise<void> {
    const pending = [...events].sort((a, b) => a.at - b.at);
    for (;;) {
      while (pending.length > 0 && pending[0]!.at <= clock.now) await pending.shift()!.apply();
      if (clock.now >= nextRetryRun) {
        await runDueRetries({ schedule: retries, transfers: storage.transfers, syncQueue: queue, logger });
        nextRetryRun = clock.now + MINUTE;
      }
      const message = queue.take();
      if (message) {
        clock.now += INVOCATION_MS;
        try {
          await handleSyncMessage(deps, message.body, { dequeueCount: message.dequeueCount });
          queue.complete(message);
        } catch {
          if (queue.fail(message, VISIBILITY_TIMEOUT_MS, MAX_DEQUEUE_COUNT) === 'poison') {
            const poisoned = await handlePoisonMessage({ transfers: storage.transfers, logger, retries, clock: clock.date }, message.body, MAX_DEQUEUE_COUNT);
            run.poisonRecords.push(poisoned);
            scheduledFor.add(poisoned.customerId);
          }
        }
        continue;
      }
      const retryDue = (await retries.due(1)).length > 0 || (await hasScheduledRetry());
      const next = Math.min(queue.nextVisibleAt() ?? Number.POSITIVE_INFINITY, pending[0]?.at ?? Number.POSITIVE_INFINITY, retryDue ? nextRetryRun : Number.POSITIVE_INFINITY);
      if (!Number.isFinite(next) || next > until) return;
      clock.now = Math.max(clock.now, next);
    }
  }

  /** Whether any automatic retry is still scheduled (due later): the simulation keeps time running for it. */
  async function hasScheduledRetry(): Promise<boolean> {
    for (const id of scheduledFor) if (await retries.get(id)) return true;
    return false;
  }

  return { run, drain, deps, retries };
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
}

async function runScenario(scenario: Scenario, seed: number): Promise<void> {
  const { run, drain } = system(seed);
  // Before: 20 customers transferred while everything works.
  const existing = Array.from({ length: 20 }, () => newPerson('Before'));
  await run.queue.send(existing.map((customer) => newSyncMessage(customer.id, 'webhook')));
  await drain(clock.now + 10 * MINUTE);
  expect(run.queue.length).toBe(0);
  const createsBefore = world.ipaas.requests.create;
  expect(createsBefore).toBe(existing.length);

  // The outage: every existing customer is updated and 10 new ones are created while it lasts, each announced by a webhook.
  const start = clock.now;
  const end = start + scenario.durationMs;
  scenario.install(() => clock.now >= start && clock.now < end);
  const changed = new Map<string, number>();
  const events: Array<{ at: number; apply: () => Promise<void> }> = [];
  const changes = existing.length + 10;
  for (let index = 0; index < changes; index += 1) {
    const at = start + Math.floor(((index + 0.5) / changes) * scenario.durationMs * 0.9);
    events.push({
      at,
      apply: async () => {
        const customer = index < existing.length ? world.businessCentral.updateCustomer(existing[index]!.id, { displayName: `Changed ${index}`, city: 'Bergen' }) : newPerson('During');
        changed.set(customer.id, clock.now);
        await run.queue.send([newSyncMessage(customer.id, 'webhook')]);
      },
    });
  }
  await drain(end + 3 * 60 * MINUTE, events);
  const doneAt = clock.now;

  // Everything transferred, nothing left waiting, no replay.
  expect(run.queue.length).toBe(0);
  const latest = new Map<string, TransferRecord>();
  for (const id of changed.keys()) {
    const [record] = await storage.transfers.listForCustomer(id, 1);
    if (record) latest.set(id, record);
  }
  const transferredAfter = [...latest.values()].filter((record) => record.status === 'Succeeded' && Date.parse(record.finishedAt) >= end).length;
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
  const holds = run.logs.filter((line) => parseTransferHoldLine(line)?.service === scenario.service).length;
  figures.push({
    scenario: scenario.name,
    changedDuringOutage: changed.size,
    transferredAfter,
    lost,
    duplicated,
    retriesExhausted,
    poison: run.queue.poison.length,
    holds,
    probes: run.logs.filter((line) => line.includes(`${SERVICE_OUTAGE_EVENT} `)).length,
    failedAttempts: allTransfers.filter((record) => record.status === 'Failed').length,
    recoveredAfterMin: (doneAt - end) / MINUTE,
  });

  expect(changed.size).toBe(changes);
  expect(lost).toBe(0);
  expect(duplicated).toBe(0);
  expect(retriesExhausted).toBe(0);
  expect(run.queue.poison).toHaveLength(0);
  expect(world.ipaas.customers()).toHaveLength(existing.length + 10);
  // Every customer changed during the outage ends Succeeded, after the outage, by itself.
  for (const id of changed.keys()) expect(latest.get(id)).toMatchObject({ status: 'Succeeded' });
  expect(transferredAfter).toBe(changes);
  // The work was held (not failed customer by customer), and the outage was announced and its end too.
  expect(holds).toBeGreaterThan(0);
  expect(run.logs.some((line) => line.includes(`${SERVICE_OUTAGE_EVENT} `) && line.includes('"onHold"'))).toBe(true);
  expect(run.logs.some((line) => line.includes(`${SERVICE_OUTAGE_EVENT} `) && line.includes('"resumed"'))).toBe(true);
  // Nothing is left on hold once the service answers.
  expect(await storage.state.get(`outage-${scenario.service}`, (value) => value)).toBeNull();
  // Recovery without anyone acting: within the longest hold (5 min) plus the spread after the outage ends.
  expect(doneAt - end).toBeLessThan(10 * MINUTE);
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
  const start = clock.now;
  // Business Central fails every read of this one customer for 40 minutes; it answers everything else.
  world.businessCentral.faults.add({ match: (request) => request.url.includes(troubled.id) && clock.now < start + 40 * MINUTE, status: 503 });
  await run.queue.send([troubled, ...others].map((customer) => newSyncMessage(customer.id, 'webhook')));
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
  expect(run.logs.some((line) => parseTransferHoldLine(line) !== null)).toBe(false);
  // It went the customer's way: deliveries exhausted, then retried by the schedule (1, 5, 15, 60 min...), visible in its history.
  expect(exhausted.length).toBeGreaterThanOrEqual(2);
  expect(exhausted[0]?.errorMessage).toMatch(/Automatic retry \d of 8 at /u);
  expect(retriesRun.length).toBeGreaterThan(0);
  // And it ends transferred, without a manual replay, once its reads work again; the schedule is gone.
  expect(history[0]).toMatchObject({ status: 'Succeeded', source: 'replay' });
  expect(await new RetrySchedule(loadStorageConfig(process.env)).get(troubled.id)).toBeNull();
  for (const other of others) expect((await storage.transfers.listForCustomer(other.id, 1))[0]).toMatchObject({ status: 'Succeeded' });
});

test('a held message is a new queue message: the outage never counts against its deliveries', async () => {
  const { run, drain, deps } = system(5);
  const customer = newPerson('Held');
  world.ipaas.faults.add({ status: 401, times: 1 });
  await run.queue.send([newSyncMessage(customer.id, 'manual')]);
  const first = run.queue.take()!;
  const result = await handleSyncMessage(deps, first.body, { dequeueCount: 1 });
  run.queue.complete(first);
  expect(isHeld(result)).toBe(true);
  const [again] = run.queue.messages;
  expect(again).toMatchObject({ dequeueCount: 0, body: { customerId: customer.id, holds: 1 } });
  // Hidden for the first hold (30 s) plus a little spread, not the queue's 30 s redelivery of a failure.
  expect(again!.visibleAt - clock.now).toBeGreaterThanOrEqual(29_000);
  await drain(clock.now + 30 * MINUTE);
  const [latest] = await storage.transfers.listForCustomer(customer.id, 1);
  expect(latest).toMatchObject({ status: 'Succeeded', action: 'Created' });
});
