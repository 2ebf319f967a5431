/**
 * `npm run bench`: performance figures for this machine, each next to its target (docs/performance.md).
 *
 * The product runs as it does under `npm start`: the local Functions host with the app's own registrations
 * (dev/host/child.ts, a child process), the real Azurite queues and tables (started here in memory on free
 * ports), and Business Central, Entra ID and iPaaS.com fakes served by this process on their own sockets
 * with a simulated latency per API call. Request counts come from the fakes' counters.
 *
 * Options (flag or environment variable):
 *   --latency <ms>          BENCH_LATENCY_MS          latency added to every Business Central / iPaaS.com call (default 50)
 *   --load-customers <n>    BENCH_LOAD_CUSTOMERS      customers in the initial-load run (default 100000)
 *   --load-latency <ms>     BENCH_LOAD_LATENCY_MS     latency for the initial-load run (default: --latency)
 *   --only <list>           BENCH_ONLY                sections: ack,counts,throughput,latency,load,reconcile,coldstart,mapping,budget (default all; SECTIONS below)
 *   --reconcile-customers <n> BENCH_RECONCILE_CUSTOMERS customers on each side in the reconciliation run (default 100000)
 *   --no-build              BENCH_NO_BUILD=true       time the existing dist/ instead of running `npm run build`
 *   --json <file>           BENCH_JSON                also write the figures as JSON
 * Diagnostics (environment only): BENCH_CPU_PROFILE=<dir> (V8 CPU profiles of the children),
 * BENCH_CHILD_NODE_ARGS="<node flags>" (e.g. --max-old-space-size=192), BENCH_LOAD_PAGE_SIZE=<n>.
 * What each figure means and the figures of a reference run: docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { freePort, startAzurite, type RunningAzurite } from '../dev/azurite';
import type { FakeBcCustomer } from '../dev/fakes/businessCentral';
import type { TransferEvent } from '../shared/telemetry';
import { bundleBenchEntry } from './lib/bundle';
import { costPerMillion, deployedInstanceMemoryMb, dollars, PRICES, type CostBreakdown, type PerTransfer } from './lib/cost';
import type { InvocationTotals } from '../dev/host/childProtocol';
import { countsBetween, startStorageProxy, totalOf, type StorageProxy, type StorageCounts } from '../dev/storageProxy';
import { appEntry, buildMinimalApp, bundleSizes, measureColdStart } from './lib/coldStart';
import type { BenchContext, BenchOptions, BenchSection } from './lib/sections';
import { mappingSection } from './mapping';
import { sharedBudgetSection } from './sharedBudget';
import { ENTRY_FILE } from '../scripts/bundle';
import { findChildPid, processCpuMs } from './lib/cpu';
import { createTlsMaterial, type TlsMaterial } from '../dev/fakes/serve';
import type { TransferArrival } from '../dev/host/childProcess';
import { runInitialLoad, runReportingChild, startProduct, type ProductProcess } from './lib/productProcess';
import type { ReconcileBenchMessage } from './lib/protocol';
import { createStorage } from '../shared/storage';
import {
  count,
  elapsed,
  failedFigure,
  info,
  judged,
  kibibytes,
  megabytes,
  ms,
  percentile,
  perSecond,
  ratio,
  renderTable,
  seconds,
  sleep,
  type Figure,
} from './lib/stats';
import { childEnvironment, startBenchWorld, type BenchWorld } from './lib/world';

const ROOT = path.resolve(__dirname, '..');

type Options = BenchOptions;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'no-build') flags.set(name, 'true');
    else flags.set(name, inline ?? argv[++index] ?? '');
  }
  const known = new Set(['latency', 'load-customers', 'load-latency', 'reconcile-customers', 'only', 'no-build', 'json']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const number = (flag: string, variable: string, fallback: number, min: number): number => {
    const raw = flags.get(flag) ?? env[variable];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${flag} / ${variable} must be a number ≥ ${min}, got "${raw}"`);
    return value;
  };
  const latencyMs = number('latency', 'BENCH_LATENCY_MS', 50, 0);
  const onlyRaw = flags.get('only') ?? env.BENCH_ONLY;
  const names = SECTIONS.map((section) => section.name);
  const only = new Set<string>();
  for (const part of (onlyRaw ?? names.join(',')).split(',').map((item) => item.trim()).filter(Boolean)) {
    if (!names.includes(part)) throw new Error(`--only takes ${names.join(', ')}; got "${part}"`);
    only.add(part);
  }
  return {
    latencyMs,
    loadCustomers: Math.floor(number('load-customers', 'BENCH_LOAD_CUSTOMERS', 100_000, 1)),
    loadLatencyMs: number('load-latency', 'BENCH_LOAD_LATENCY_MS', latencyMs, 0),
    reconcileCustomers: Math.floor(number('reconcile-customers', 'BENCH_RECONCILE_CUSTOMERS', 100_000, 1000)),
    only,
    build: !(flags.has('no-build') || env.BENCH_NO_BUILD === 'true'),
    json: flags.get('json') ?? env.BENCH_JSON,
  };
}

// ------------------------------------------------------------------ helpers

const cpuMsOfThisProcess = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

const log = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

interface Counts {
  bc: number;
  bcGet: number;
  bcList: number;
  ipaas: number;
  ipaasByOperation: Record<string, number>;
}

function counts(world: BenchWorld): Counts {
  const { businessCentral: bc, ipaas } = world.world;
  const { total, ...byOperation } = ipaas.requests;
  return { bc: bc.requests.total, bcGet: bc.requests.get, bcList: bc.requests.list, ipaas: total, ipaasByOperation: { ...byOperation } };
}

function countsSince(world: BenchWorld, before: Counts): Counts {
  const now = counts(world);
  const byOperation: Record<string, number> = {};
  for (const [operation, value] of Object.entries(now.ipaasByOperation)) {
    const delta = value - (before.ipaasByOperation[operation] ?? 0);
    if (delta !== 0) byOperation[operation] = delta;
  }
  return { bc: now.bc - before.bc, bcGet: now.bcGet - before.bcGet, bcList: now.bcList - before.bcList, ipaas: now.ipaas - before.ipaas, ipaasByOperation: byOperation };
}

const describeOperations = (byOperation: Record<string, number>, per: number): string =>
  Object.entries(byOperation)
    .map(([operation, value]) => `${operation} ${count(value / per)}`)
    .join(', ');

let serial = 0;
/** A Business Central Person customer that passes the mapping; with the customer's own address when asked. */
function createPerson(world: BenchWorld, withAddress: boolean): FakeBcCustomer {
  serial += 1;
  return world.world.businessCentral.upsertCustomer({
    type: 'Person',
    displayName: `Bench Person ${serial}`,
    email: `bench.person.${serial}@contoso.example`,
    ...(withAddress ? { addressLine1: `${serial} Market Square`, city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' } : {}),
  });
}

function notificationBody(world: BenchWorld, customerIds: readonly string[], changeType: 'created' | 'updated'): string {
  const companyId = world.config.businessCentral.companyId;
  const now = new Date().toISOString();
  return JSON.stringify({
    value: customerIds.map((id) => ({
      subscriptionId: 'bench-subscription',
      clientState: world.config.webhook.clientState,
      expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
      resource: `api/v2.0/companies(${companyId})/customers(${id})`,
      changeType,
      lastModifiedDateTime: now,
    })),
  });
}

async function postNotification(product: ProductProcess, body: string): Promise<{ status: number; elapsedMs: number }> {
  const started = performance.now();
  const response = await fetch(`${product.url}/api/webhooks/business-central`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-ms-correlation-id': `bench-${randomUUID()}` },
    body,
  });
  await response.arrayBuffer();
  return { status: response.status, elapsedMs: elapsed(started) };
}

async function clearQueues(azurite: RunningAzurite, account?: string): Promise<void> {
  const service = QueueServiceClient.fromConnectionString(azurite.connectionString(account));
  for await (const queue of service.listQueues()) await service.getQueueClient(queue.name).clearMessages();
}

function machine(): { date: string; nproc: number; cpu: string; node: string; load: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /model name\s*:\s*(.+)/u.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: os.cpus() is the best we have.
  }
  return { date: new Date().toISOString(), nproc: cpus().length, cpu, node: process.version, load: loadavg().map((value) => value.toFixed(2)).join(' ') };
}

// ------------------------------------------------------------------ sections

async function ackSection(world: BenchWorld, tls: TlsMaterial, azurite: RunningAzurite): Promise<Figure[]> {
  const section = 'webhook ack';
  log('webhook acknowledgement: starting the host without queue listeners');
  const product = await startProduct(childEnvironment(world, tls, { HOST_CHILD_QUEUES: 'false' }));
  const figures: Figure[] = [];
  try {
    const bodies = (size: number) => notificationBody(world, Array.from({ length: size }, () => randomUUID()), 'updated');
    const measure = async (size: number, runs: number, warmup: number): Promise<number[]> => {
      const times: number[] = [];
      for (let run = 0; run < warmup + runs; run += 1) {
        const body = bodies(size);
        const { status, elapsedMs } = await postNotification(product, body);
        if (status !== 202) throw new Error(`the webhook answered ${status} to a ${size}-entry notification`);
        if (run >= warmup) times.push(elapsedMs);
      }
      return times;
    };
    const single = await measure(1, 200, 20);
    figures.push(judged(section, '1 entry p50', percentile(single, 50), ms, { max: 20 }));
    figures.push(judged(section, '1 entry p95', percentile(single, 95), ms, { max: 20 }));
    const thousand = await measure(1000, 30, 3);
    figures.push(judged(section, '1,000 entries p50', percentile(thousand, 50), ms, { max: 500 }));
    figures.push(judged(section, '1,000 entries p95', percentile(thousand, 95), ms, { max: 500 }));
  } finally {
    await product.stop();
    await clearQueues(azurite);
  }
  return figures;
}

interface ScenarioResult {
  customers: number;
  counts: Counts;
  arrivals: TransferArrival[];
  outcomes: string;
  /** Storage transactions during the scenario (when the product runs behind the counter). */
  storage?: StorageCounts;
  invocations?: InvocationTotals;
  logBytes?: number;
  /** CPU time of the product process over the scenario. */
  cpuMs?: number;
}

/** Runs `act` and returns what the product did meanwhile: storage transactions, executions, log bytes. */
async function observed<T>(
  product: ProductProcess,
  counter: StorageProxy | undefined,
  act: () => Promise<T>,
): Promise<{ value: T; storage?: StorageCounts; invocations: InvocationTotals; logBytes: number; cpuMs: number }> {
  const storageBefore = counter?.snapshot();
  const statsBefore = await product.stats();
  const value = await act();
  // Deletes and history writes finish just after the TransferCompleted line: let them land.
  await sleep(300);
  const statsAfter = await product.stats();
  const before = statsBefore.invocations;
  const after = statsAfter.invocations;
  const byFunction: Record<string, number> = {};
  for (const [name, total] of Object.entries(after.byFunction)) if (total - (before.byFunction[name] ?? 0) > 0) byFunction[name] = total - (before.byFunction[name] ?? 0);
  return {
    value,
    ...(counter && storageBefore ? { storage: countsBetween(storageBefore, counter.snapshot()) } : {}),
    invocations: { count: after.count - before.count, byFunction, busyMs: after.busyMs - before.busyMs, sumMs: after.sumMs - before.sumMs },
    logBytes: statsAfter.logBytes - statsBefore.logBytes,
    cpuMs: statsAfter.cpuMs - statsBefore.cpuMs,
  };
}

/** Notifies `customers` through the webhook and waits until each has a transfer; counts what it cost. */
async function notifiedScenario(
  world: BenchWorld,
  product: ProductProcess,
  customers: readonly FakeBcCustomer[],
  changeType: 'created' | 'updated',
  counter?: StorageProxy,
): Promise<ScenarioResult> {
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  const before = counts(world);
  const { value: arrivals, storage, invocations, logBytes, cpuMs } = await observed(product, counter, async () => {
    const { status } = await postNotification(product, notificationBody(world, [...ids], changeType));
    if (status !== 202) throw new Error(`the webhook answered ${status}`);
    return product.waitForTransfers((event) => ids.has(event.customerId), ids.size, { since });
  });
  return { customers: ids.size, counts: countsSince(world, before), arrivals, outcomes: outcomesOf(arrivals.map((arrival) => arrival.event)), ...(storage ? { storage } : {}), invocations, logBytes, cpuMs };
}

function outcomesOf(events: readonly TransferEvent[]): string {
  const tally = new Map<string, number>();
  for (const event of events) {
    const key = `${event.status}/${event.errorCode ?? event.action ?? '-'}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  return [...tally].map(([key, value]) => `${value} ${key}`).join(', ');
}

function perCustomerFigures(name: string, result: ScenarioResult, targets: { bc?: number; ipaas?: number }): Figure[] {
  const section = 'requests/customer';
  const bc = result.counts.bc / result.customers;
  const ipaas = result.counts.ipaas / result.customers;
  const note = `${result.customers} customers (${result.outcomes}); iPaaS.com ${describeOperations(result.counts.ipaasByOperation, result.customers) || 'none'}`;
  return [
    targets.bc === undefined ? info(section, `${name}: Business Central`, count(bc), bc) : judged(section, `${name}: Business Central`, bc, count, { max: targets.bc }),
    targets.ipaas === undefined
      ? info(section, `${name}: iPaaS.com`, count(ipaas), ipaas, note)
      : judged(section, `${name}: iPaaS.com`, ipaas, count, { max: targets.ipaas }, note),
  ];
}

/** Table names → what they hold, for the breakdown of storage transactions. */
const TABLE_ROLES: Record<string, string> = { SyncState: 'lease', CustomerLinks: 'link', CustomerTransfers: 'history', TransfersByTime: 'index' };

/** Storage transactions of a scenario per transfer, by part (lease, link, history, index, queue). */
function storagePerTransfer(storage: StorageCounts, transfers: number): { total: number; queue: number; table: number; parts: string } {
  const parts = new Map<string, number>();
  let queue = 0;
  let table = 0;
  for (const [key, value] of Object.entries(storage.byOperation)) {
    const [service, target, operation] = key.split(' ') as [string, string, string];
    if (service === 'queue') {
      queue += value;
      const part = `queue ${operation}`;
      parts.set(part, (parts.get(part) ?? 0) + value);
    } else {
      table += value;
      const part = `${TABLE_ROLES[target] ?? target} ${operation}`;
      parts.set(part, (parts.get(part) ?? 0) + value);
    }
  }
  const describe = [...parts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([part, value]) => `${part} ${count(value / transfers)}`)
    .join(', ');
  return { total: (queue + table) / transfers, queue: queue / transfers, table: table / transfers, parts: describe };
}

/** Round trip of one storage transaction from a Function App to its storage account in the same region (assumed). */
const STORAGE_LATENCY_MS = 10;

/**
 * Storage transactions, executions and cost per transfer of a counted scenario. Execution time is modelled from
 * counts, not taken from wall time on this shared machine: one transfer keeps an execution active for its API
 * calls (requests × the simulated latency), the storage transactions made inside the execution (× STORAGE_LATENCY_MS)
 * and the product's CPU time per transfer. Flex Consumption bills the instance while at least one execution is
 * active, so transfers that overlap share it: the batched figure scales the one-at-a-time time by the overlap this
 * run measured (wall time with an execution active / sum of execution times, a ratio the machine's load moves little).
 */
function costFigures(name: string, result: ScenarioResult, memoryMb: number, latencyMs: number, targets: { transactions?: number; dollars?: number }): Figure[] {
  if (!result.storage || !result.invocations) return [];
  const transfers = result.customers;
  const storage = storagePerTransfer(result.storage, transfers);
  const receives = totalOf(result.storage.byOperation, (key) => key.startsWith('queue ') && key.endsWith(' receive')) / transfers;
  const hostSide = receives + totalOf(result.storage.byOperation, (key) => key.startsWith('queue ') && (key.endsWith(' delete') || key.endsWith(' update'))) / transfers;
  const webhookExecutions = result.invocations.byFunction.businessCentralWebhook ?? 0;
  const executions = result.invocations.count / transfers;
  const apiRequests = (result.counts.bc + result.counts.ipaas) / transfers;
  const cpuMs = (result.cpuMs ?? 0) / transfers;
  const busyMs = apiRequests * latencyMs + (storage.total - hostSide) * STORAGE_LATENCY_MS + cpuMs;
  const overlap = Math.min(1, result.invocations.sumMs > 0 ? result.invocations.busyMs / result.invocations.sumMs : 1);
  const executionNote = Object.entries(result.invocations.byFunction)
    .map(([fn, total]) => `${fn} ${total}`)
    .join(', ');
  const figures: Figure[] = [
    targets.transactions === undefined
      ? info('storage', `${name}: storage transactions per transfer`, count(storage.total), storage.total, storage.parts)
      : judged('storage', `${name}: storage transactions per transfer`, storage.total, count, { max: targets.transactions }, storage.parts),
  ];
  const logBytes = (result.logBytes ?? 0) / transfers;
  const batched: PerTransfer = { queueOperations: storage.queue, tableTransactions: storage.table, executions, busySeconds: (busyMs * overlap) / 1000, logBytes };
  // One at a time: a notification and a receive of its own for each transfer.
  const single: PerTransfer = {
    queueOperations: storage.queue - receives + 1,
    tableTransactions: storage.table,
    executions: executions - webhookExecutions / transfers + (webhookExecutions > 0 ? 1 : 0),
    busySeconds: busyMs / 1000,
    logBytes,
  };
  const [costBatched, costSingle] = [costPerMillion(batched, memoryMb), costPerMillion(single, memoryMb)];
  const describeCost = (cost: CostBreakdown, shape: PerTransfer): string =>
    `Functions ${dollars(cost.functions)} (${count(shape.executions)} executions, ${(shape.busySeconds * 1000).toFixed(1)} ms active × ${memoryMb} MB), ` +
    `storage ${dollars(cost.storage)} (${count(shape.queueOperations)} queue + ${count(shape.tableTransactions)} table), app logs ${dollars(cost.logs)} (${Math.round(shape.logBytes)} B)`;
  const model = `active time per transfer ${busyMs.toFixed(1)} ms = ${count(apiRequests)} API requests × ${latencyMs} ms + ${count(storage.total - hostSide)} storage transactions × ${STORAGE_LATENCY_MS} ms + ${cpuMs.toFixed(1)} ms CPU`;
  figures.push(
    targets.dollars === undefined
      ? info('cost per 1,000,000', `${name}, ${transfers} per notification`, dollars(costBatched.total), costBatched.total, `${describeCost(costBatched, batched)}; overlap ${ratio(overlap)}; ${executionNote}`)
      : judged('cost per 1,000,000', `${name}, ${transfers} per notification`, costBatched.total, dollars, { max: targets.dollars }, `${describeCost(costBatched, batched)}; overlap ${ratio(overlap)}; ${executionNote}`),
    info('cost per 1,000,000', `${name}, one at a time`, dollars(costSingle.total), costSingle.total, `${describeCost(costSingle, single)}; ${model}`),
  );
  return figures;
}

async function countsSection(world: BenchWorld, product: ProductProcess, counter: StorageProxy | undefined, latencyMs: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  const memoryMb = deployedInstanceMemoryMb(ROOT);
  log('request counts: new customers (no address) via webhook');
  const plain = Array.from({ length: 20 }, () => createPerson(world, false));
  const created = await notifiedScenario(world, product, plain, 'created', counter);
  figures.push(...perCustomerFigures('webhook, new (no address)', created, { bc: 1, ipaas: 3 }));

  log('request counts: new customers with an address via webhook');
  const addressed = Array.from({ length: 20 }, () => createPerson(world, true));
  const createdWithAddress = await notifiedScenario(world, product, addressed, 'created', counter);
  figures.push(...perCustomerFigures('webhook, new with address', createdWithAddress, { bc: 1 }));

  log('request counts: updated customers (name changed, address unchanged) via webhook');
  const updated = addressed.map((customer) => world.world.businessCentral.updateCustomer(customer.id, { displayName: `${customer.displayName} Jr.` }));
  const updatedResult = await notifiedScenario(world, product, updated, 'updated', counter);
  figures.push(...perCustomerFigures('webhook, updated', updatedResult, { bc: 1, ipaas: 3 }));

  log('request counts: unchanged customers via webhook');
  const unchanged = await notifiedScenario(world, product, updated, 'updated', counter);
  figures.push(...perCustomerFigures('webhook, unchanged', unchanged, { bc: 1, ipaas: 0 }));

  log('request counts: polled customers (first poll: a full pass)');
  const fresh = 500;
  Array.from({ length: fresh }, () => createPerson(world, true));
  const total = world.world.businessCentral.customers().length;
  const since = product.transfers.length;
  const before = counts(world);
  const polled = await observed(product, counter, async () => {
    await product.runTimer('pollCustomers');
    // A loaded machine may need minutes for 540 transfers; counts do not depend on how long it takes. The 40 customers
    // transferred above come in the pass unchanged since their last transfer: they do nothing and report no transfer.
    return product.waitForTransfers((event) => event.source === 'poll', fresh, { since, timeoutMs: 600_000 });
  });
  const polledResult: ScenarioResult = {
    customers: total,
    counts: countsSince(world, before),
    arrivals: polled.value,
    outcomes: outcomesOf(polled.value.map((arrival) => arrival.event)),
    ...(polled.storage ? { storage: polled.storage } : {}),
    invocations: polled.invocations,
    logBytes: polled.logBytes,
    cpuMs: polled.cpuMs,
  };
  figures.push(...perCustomerFigures('polled', polledResult, { bc: 0.01 }));

  // A poll that finds nothing (every company's watermark current): one Business Central request per company.
  log('request counts: a poll that finds nothing');
  const companies = world.config.companies.length;
  const idleBefore = counts(world);
  await product.runTimer('pollCustomers');
  const idlePoll = countsSince(world, idleBefore);
  figures.push(
    judged('requests/poll', `poll that finds nothing: Business Central requests per company (${companies} companies)`, idlePoll.bc / companies, count, { max: 1 }, `${idlePoll.bc} requests in all (${idlePoll.bcList} list pages), ${idlePoll.ipaas} iPaaS.com`),
  );

  figures.push(
    ...costFigures('new (no address)', created, memoryMb, latencyMs, { transactions: 9 }),
    ...costFigures('new with address', createdWithAddress, memoryMb, latencyMs, {}),
    ...costFigures('updated', updatedResult, memoryMb, latencyMs, { transactions: 9 }),
    ...costFigures('unchanged', unchanged, memoryMb, latencyMs, { transactions: 8, dollars: 5 }),
    ...costFigures('polled (full pass)', polledResult, memoryMb, latencyMs, {}),
  );
  if (counter) {
    const idle = await idlePolling(product, counter);
    figures.push(idle);
  }
  return figures;
}

/** Storage transactions of an idle, warm instance: the queue triggers' empty polls over a few seconds. */
async function idlePolling(product: ProductProcess, counter: StorageProxy): Promise<Figure> {
  const seconds = 10;
  // Let the listeners back off fully first, as they do after the last message.
  await sleep(3000);
  const before = counter.snapshot();
  await sleep(seconds * 1000);
  const idle = countsBetween(before, counter.snapshot());
  const perHour = (totalOf(idle.emptyReceives) / seconds) * 3600;
  const monthly = perHour * 730 * PRICES.queueOperation;
  return info(
    'cost per 1,000,000',
    'idle warm instance: queue polls per hour',
    `${Math.round(perHour).toLocaleString('en-US')} (${dollars(monthly)} a month)`,
    perHour,
    `empty receives by queue over ${seconds} s: ${JSON.stringify(idle.emptyReceives)}; maxPollingInterval ${product.queues.maxPollingIntervalMs} ms; a scaled-in app (no instance) does not poll`,
  );
}

async function throughputSection(world: BenchWorld, product: ProductProcess, latencyMs: number): Promise<Figure[]> {
  const section = 'worker throughput';
  const total = 600;
  log(`throughput: ${total} new customers (no address) in one webhook notification`);
  const customers = Array.from({ length: total }, () => createPerson(world, false));
  const azuritePid = findChildPid('azurite');
  const cpuBefore = { product: (await product.stats()).cpuMs, bench: cpuMsOfThisProcess(), azurite: azuritePid ? processCpuMs(azuritePid) : undefined };
  const result = await notifiedScenario(world, product, customers, 'created');
  const stats = await product.stats();
  const cpuPerCustomer = (stats.cpuMs - cpuBefore.product) / total;
  const benchCpuPerCustomer = (cpuMsOfThisProcess() - cpuBefore.bench) / total;
  const azuriteCpu = azuritePid ? processCpuMs(azuritePid) : undefined;
  const azuriteCpuPerCustomer = azuriteCpu !== undefined && cpuBefore.azurite !== undefined ? (azuriteCpu - cpuBefore.azurite) / total : undefined;
  const times = result.arrivals.map((arrival) => arrival.at).sort((a, b) => a - b);
  // Steady state: from the 10th to the 90th percentile of completions (no ramp-up, no tail).
  const first = Math.floor(total * 0.1);
  const last = Math.ceil(total * 0.9) - 1;
  const measured = (last - first) / ((times[last]! - times[first]!) / 1000);

  const bcPer = result.counts.bc / total;
  const ipaasPer = result.counts.ipaas / total;
  const latency = latencyMs / 1000;
  const { bcMaxConcurrent, ipaasMaxConcurrent } = world.config.http;
  const hostConcurrency = product.queues.batchSize + product.queues.newBatchThreshold;
  const bounds = {
    [`Business Central ${bcMaxConcurrent} concurrent / (${count(bcPer)} req × ${latencyMs} ms)`]: bcMaxConcurrent / (bcPer * latency),
    [`iPaaS.com ${ipaasMaxConcurrent} concurrent / (${count(ipaasPer)} req × ${latencyMs} ms)`]: ipaasMaxConcurrent / (ipaasPer * latency),
    [`host ${hostConcurrency} messages in flight (batchSize ${product.queues.batchSize} + newBatchThreshold ${product.queues.newBatchThreshold}) / (${count(bcPer + ipaasPer)} sequential req × ${latencyMs} ms)`]:
      hostConcurrency / ((bcPer + ipaasPer) * latency),
  };
  const [limiting, bound] = Object.entries(bounds).sort((a, b) => a[1] - b[1])[0]!;
  return [
    info(section, 'measured (10th–90th percentile of completions)', perSecond(measured), measured, `${total} customers: ${result.outcomes}`),
    info(section, 'bound from latency and concurrency', perSecond(bound), bound, `limited by ${limiting}; others: ${Object.entries(bounds)
      .filter(([name]) => name !== limiting)
      .map(([name, value]) => `${name.split(' ')[0]} ${perSecond(value)}`)
      .join(', ')}`),
    judged(section, 'measured / bound', measured / bound, ratio, { min: 0.9 }),
    info(
      section,
      'product CPU per customer → one-core ceiling',
      `${ms(cpuPerCustomer)} → ${perSecond(1000 / cpuPerCustomer)}`,
      cpuPerCustomer,
      `user+system CPU of the host process over the run; one Node worker process cannot go faster than this on one core. Peak RSS ${megabytes(stats.maxRssBytes)}`,
    ),
    ...(azuriteCpuPerCustomer === undefined
      ? []
      : [
          info(
            section,
            `machine CPU per customer → ceiling on ${cpus().length} cores`,
            `${ms(cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer)} → ${perSecond((cpus().length * 1000) / (cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer))}`,
            cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer,
            `product ${ms(cpuPerCustomer)} + fakes (bench process) ${ms(benchCpuPerCustomer)} + Azurite ${ms(azuriteCpuPerCustomer)}; everything shares this machine, other load included`,
          ),
        ]),
  ];
}

/** The latency target is stated at this simulated latency per Business Central / iPaaS.com call. */
const LATENCY_CALL_MS = 20;

async function latencySection(world: BenchWorld, product: ProductProcess): Promise<Figure[]> {
  const section = `added latency at ${LATENCY_CALL_MS} ms per call`;
  const samples = 30;
  const faults = [world.world.businessCentral.faults, world.world.ipaas.faults];
  const previousLatency = faults.map((fault) => fault.latencyMs);
  log(`latency: ${samples} single-entry notifications at random intervals (0.3–3 s, so the queue listener idles as in production), ${LATENCY_CALL_MS} ms per API call`);
  const pool = Array.from({ length: 10 }, () => createPerson(world, true));
  // First transfers create them; the measured ones are updates (the common case).
  await notifiedScenario(world, product, pool, 'created');
  for (const fault of faults) fault.latencyMs = LATENCY_CALL_MS;
  const endToEnd: number[] = [];
  const ack: number[] = [];
  const queueWait: number[] = [];
  const transfer: number[] = [];
  const report: number[] = [];
  try {
    for (let index = 0; index < samples; index += 1) {
      await sleep(300 + Math.random() * 2700);
      const customer = world.world.businessCentral.updateCustomer(pool[index % pool.length]!.id, { displayName: `Bench Latency ${index}` });
      const since = product.transfers.length;
      const posted = Date.now();
      const { status, elapsedMs } = await postNotification(product, notificationBody(world, [customer.id], 'updated'));
      if (status !== 202) throw new Error(`the webhook answered ${status}`);
      const [arrival] = await product.waitForTransfers((event) => event.customerId === customer.id, 1, { since, timeoutMs: 30_000 });
      const event = arrival!.event;
      endToEnd.push(arrival!.at - posted);
      ack.push(elapsedMs);
      const enqueued = event.enqueuedAt ? Date.parse(event.enqueuedAt) : Number.NaN;
      transfer.push(event.durationMs);
      if (event.latencyMs !== null && !Number.isNaN(enqueued)) {
        // enqueued → the worker started (the listener's polling), then started → finished (the transfer itself).
        queueWait.push(event.latencyMs - event.durationMs);
        report.push(arrival!.at - (enqueued + event.latencyMs));
      }
    }
  } finally {
    faults.forEach((fault, index) => {
      fault.latencyMs = previousLatency[index]!;
    });
  }
  const pair = (values: number[]): string => `${ms(percentile(values, 50))} / ${ms(percentile(values, 95))}`;
  return [
    judged(section, 'POST sent → iPaaS.com done p50', percentile(endToEnd, 50), ms, { max: 500 }),
    judged(section, 'POST sent → iPaaS.com done p95', percentile(endToEnd, 95), ms, { max: 500 }, `${samples} updated customers, one notification each; done = the TransferCompleted line, written after the iPaaS.com update, the link and the history`),
    info(section, 'where it goes, p50 / p95: webhook ack', pair(ack), percentile(ack, 95), 'POST to 202: the message is in the queue'),
    info(
      section,
      'where it goes, p50 / p95: queue wait',
      pair(queueWait),
      percentile(queueWait, 95),
      `enqueued → the worker starts: the queue listener's idle polling (maxPollingInterval ${product.queues.maxPollingIntervalMs} ms, randomized exponential back-off from 100 ms as in Azure)`,
    ),
    info(section, 'where it goes, p50 / p95: transfer', pair(transfer), percentile(transfer, 95), 'the worker: lease, Business Central read, iPaaS.com search/read/update, link, history'),
    info(section, 'where it goes, p50 / p95: report to the bench', pair(report), percentile(report, 95), 'the log line crossing to the bench process (IPC), not part of the product'),
  ];
}

async function loadSection(options: Options, tls: TlsMaterial, azurite: RunningAzurite): Promise<Figure[]> {
  const section = `initial load ${options.loadCustomers.toLocaleString('en-US')}`;
  const world = await startBenchWorld({
    tls,
    storageConnectionString: azurite.connectionString('benchload'),
    latencyMs: options.loadLatencyMs,
    clientState: randomBytes(24).toString('base64url'),
  });
  try {
    log(`initial load: seeding ${options.loadCustomers} customers in the fake Business Central`);
    const seedStarted = performance.now();
    for (let index = 0; index < options.loadCustomers; index += 1) createPerson(world, index % 4 !== 0);
    log(`initial load: seeded in ${seconds(elapsed(seedStarted))}; running pollChanges in a child process`);
    const benchRss = process.memoryUsage().rss;
    // Bundled and run with plain node, as deployed: tsx's transpiler would add its own memory to the figure.
    const script = await bundleBenchEntry('bench/initialLoad.ts');
    const report = await runInitialLoad(script, childEnvironment(world, tls), 10 * 60_000);
    const requests = world.world.businessCentral.requests;
    const polled = report.result.outcome === 'skipped' ? null : report.result;
    const figures: Figure[] = [
      info(section, 'duration', seconds(report.durationMs), report.durationMs, `latency ${options.loadLatencyMs} ms per Business Central call`),
      judged(section, 'poller peak RSS', report.maxRssBytes, megabytes, { max: 256 * 1024 * 1024 }, `baseline before polling ${megabytes(report.baselineRssBytes)}, peak heap used ${megabytes(report.peakHeapUsedBytes)}`),
      judged(section, 'Business Central requests', requests.total, count, { max: 10 }, `${requests.list} list pages, ${requests.get} single reads`),
      info(
        section,
        'enqueued / queued',
        `${polled ? polled.enqueued : 'n/a'} / ${report.queued}`,
        report.queued,
        `message size mean ${report.sampleMessageBytes.mean} B, max ${report.sampleMessageBytes.max} B (limit 65,536)`,
      ),
      info(section, 'fake Business Central holding the customers (bench process RSS)', megabytes(benchRss), benchRss),
    ];
    if (!polled || polled.enqueued !== options.loadCustomers) figures.push(failedFigure(section, 'completeness', 'all enqueued', `poll result ${JSON.stringify(report.result)}`));
    return figures;
  } finally {
    await world.close();
    await clearQueues(azurite, 'benchload');
  }
}

/**
 * 100,000 customers on each side with a few hundred differences of every kind; the production reconciliation in
 * a child process. Counts must come out exactly as seeded.
 */
async function reconcileSection(options: Options, tls: TlsMaterial, azurite: RunningAzurite): Promise<Figure[]> {
  const total = options.reconcileCustomers;
  const section = `reconcile ${total.toLocaleString('en-US')} vs ${total.toLocaleString('en-US')}`;
  const world = await startBenchWorld({
    tls,
    storageConnectionString: azurite.connectionString('benchreconcile'),
    latencyMs: options.latencyMs,
    clientState: randomBytes(24).toString('base64url'),
  });
  try {
    const { businessCentral: bc, ipaas } = world.world;
    const differences = { Missing: 100, Drifted: 100, Unlinked: 50, DuplicateEmail: 20, Invalid: 20, Filtered: 30, Orphaned: 20 };
    const inSync = total - (differences.Missing + differences.Drifted + differences.Unlinked + differences.DuplicateEmail + differences.Invalid + differences.Filtered);
    log(`reconcile: seeding ${total} Business Central customers, the iPaaS.com side and the links`);
    const seedStarted = performance.now();
    const links: Array<{ customerId: string; ipaasCustomerId: string; customerNumber: string }> = [];
    const person = () => createPerson(world, false);
    const seedIpaas = (customer: FakeBcCustomer, firstName = customer.displayName) =>
      ipaas.seedCustomer({ customerNumber: customer.number, firstName, emailAddress: customer.email });
    for (let index = 0; index < inSync; index += 1) {
      const customer = person();
      links.push({ customerId: customer.id, ipaasCustomerId: seedIpaas(customer).id, customerNumber: customer.number });
    }
    for (let index = 0; index < differences.Drifted; index += 1) {
      const customer = person();
      links.push({ customerId: customer.id, ipaasCustomerId: seedIpaas(customer, `${customer.displayName} (edited)`).id, customerNumber: customer.number });
    }
    for (let index = 0; index < differences.Missing; index += 1) person();
    for (let index = 0; index < differences.Unlinked; index += 1) seedIpaas(person());
    for (let index = 0; index < differences.DuplicateEmail; index += 1) {
      const customer = person();
      ipaas.seedCustomer({ customerNumber: `D1-${customer.number}`, firstName: customer.displayName, emailAddress: customer.email });
      ipaas.seedCustomer({ customerNumber: `D2-${customer.number}`, firstName: customer.displayName, emailAddress: customer.email });
    }
    for (let index = 0; index < differences.Invalid; index += 1) bc.updateCustomer(person().id, { email: '' });
    for (let index = 0; index < differences.Filtered; index += 1) bc.updateCustomer(person().id, { type: 'Company' });
    for (let index = 0; index < differences.Orphaned; index += 1) {
      const gone = ipaas.seedCustomer({ customerNumber: `O-${index}`, firstName: 'Deleted in Business Central', emailAddress: `gone.${index}@contoso.example` });
      links.push({ customerId: randomUUID(), ipaasCustomerId: gone.id, customerNumber: `O-${index}` });
    }
    const storage = createStorage({ connectionString: azurite.connectionString('benchreconcile') });
    let next = 0;
    const now = new Date().toISOString();
    // Seeding only: a save that times out on a loaded machine is tried again.
    const save = async (link: (typeof links)[number]): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await storage.links.save({ ...link, payloadHash: 'bench', lastSyncedAt: now });
        } catch (error) {
          if (attempt >= 5) throw error;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < links.length) await save(links[next++]!);
      }),
    );
    log(`reconcile: seeded ${bc.customers().length} + ${ipaas.customers().length} customers and ${links.length} links in ${seconds(elapsed(seedStarted))}`);
    const before = counts(world);
    const script = await bundleBenchEntry('bench/reconcile.ts');
    const report = await runReportingChild<ReconcileBenchMessage>(script, childEnvironment(world, tls), 30 * 60_000);
    const used = countsSince(world, before);
    const ipaasPages = Math.ceil(ipaas.customers().length / 50);
    const expected = { InSync: inSync, ...differences };
    const figures: Figure[] = [
      judged(section, 'duration', report.durationMs, seconds, { max: 60_000 }, `latency ${options.latencyMs} ms per call; ${report.items} items in the report`),
      judged(section, 'peak RSS', report.maxRssBytes, megabytes, { max: 256 * 1024 * 1024 }, `baseline ${megabytes(report.baselineRssBytes)}, peak heap used ${megabytes(report.peakHeapUsedBytes)}`),
      judged(section, 'Business Central requests', used.bc, count, { max: 10 }, `${used.bcList} list pages, ${used.bcGet} single reads`),
      judged(section, 'iPaaS.com requests', used.ipaas, count, { max: ipaasPages }, `${describeOperations(used.ipaasByOperation, 1)}; ${ipaasPages} pages of 50 hold every customer`),
    ];
    const mismatched = Object.entries(expected).filter(([name, value]) => report.counts[name] !== value);
    if (report.outcome !== 'completed' || mismatched.length > 0) {
      figures.push(failedFigure(section, 'counts', JSON.stringify(expected), `run ${report.outcome}, counts ${JSON.stringify(report.counts)}`));
    } else {
      figures.push(info(section, 'counts as seeded', 'yes', null, Object.entries(report.counts).map(([name, value]) => `${name} ${value}`).join(', ')));
    }
    return figures;
  } finally {
    await world.close();
  }
}

async function coldStartSection(options: Options): Promise<Figure[]> {
  const section = 'cold start';
  if (options.build) {
    log('cold start: npm run build');
    const built = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) {
      const reason = `${built.stdout ?? ''}${built.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ');
      return [failedFigure(section, 'npm run build', '', reason)];
    }
  }
  log('cold start: bundling the minimal app (bench/minimalApp.ts) the same way');
  const minimal = await buildMinimalApp();
  const runs = 15;
  log(`cold start: ${runs} fresh imports of each, alternated`);
  const result = measureColdStart(appEntry(), minimal, runs);
  const sizes = bundleSizes(appEntry());
  return [
    info(section, `import dist/${ENTRY_FILE}, p50 of ${runs}`, ms(result.appP50), result.appP50, `p95 ${ms(percentile(result.appMs, 95))}; absolute times move with the machine's other load, the ratio much less`),
    info(section, `import of a minimal app (@azure/functions + 1 HTTP function), p50 of ${runs}`, ms(result.minimalP50), result.minimalP50, `p95 ${ms(percentile(result.minimalMs, 95))}`),
    judged(section, 'app / minimal app', result.ratio, ratio, { max: 1.5 }),
    info(
      section,
      'JavaScript loaded at start / in all',
      `${kibibytes(sizes.entryBytes)} / ${kibibytes(sizes.totalBytes)}`,
      sizes.entryBytes,
      `${sizes.files} files; the rest loads on the first invocation that needs it`,
    ),
  ];
}

/** Failed transfers and warnings the product logged while the 'product' sections ran. */
function productProblems(product: ProductProcess): Figure[] {
  const failedTransfers = product.transfers.filter((arrival) => arrival.event.status === 'Failed');
  if (failedTransfers.length === 0 && product.problems.length === 0) return [];
  return [info('product', 'failed transfers / warnings logged', `${failedTransfers.length} / ${product.problems.length}`, null, product.problems.slice(0, 3).join(' || ') || undefined)];
}

/**
 * Every section, in the order they run (`--only` picks some). To add one, see BenchSection in bench/lib/sections.ts
 * and docs/performance.md ("Adding a section").
 */
const SECTIONS: BenchSection[] = [
  { name: 'ack', title: 'webhook ack', needs: 'world', run: (c) => ackSection(c.world!, c.tls!, c.azurite!) },
  { name: 'counts', title: 'requests/customer', needs: 'countedProduct', run: (c) => countsSection(c.world!, c.product!, c.storageCounter, c.options.latencyMs) },
  { name: 'throughput', title: 'worker throughput', needs: 'product', run: (c) => throughputSection(c.world!, c.product!, c.options.latencyMs) },
  { name: 'latency', title: 'added latency', needs: 'product', run: (c) => latencySection(c.world!, c.product!) },
  { name: 'load', title: 'initial load', needs: 'world', run: (c) => loadSection(c.options, c.tls!, c.azurite!) },
  { name: 'reconcile', title: 'reconcile', needs: 'world', run: (c) => reconcileSection(c.options, c.tls!, c.azurite!) },
  { name: 'coldstart', title: 'cold start', needs: 'none', run: (c) => coldStartSection(c.options) },
  { name: 'mapping', title: 'mapping evaluation per customer', needs: 'none', run: () => mappingSection() },
  { name: 'budget', title: 'shared BC budget', needs: 'none', run: (c) => sharedBudgetSection(c.log) },
];

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = performance.now();
  const host = machine();
  log(`machine: ${host.nproc} CPUs (${host.cpu}), node ${host.node}, load average ${host.load}; latency ${options.latencyMs} ms per API call`);
  const figures: Figure[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  const context: BenchContext = { options, log };
  let productKind: 'product' | 'countedProduct' | undefined;
  try {
    for (const section of SECTIONS.filter((candidate) => options.only.has(candidate.name))) {
      // A product runs only through consecutive sections of the same need, so it never competes with the others.
      const productNeed = section.needs === 'product' || section.needs === 'countedProduct' ? section.needs : undefined;
      if (context.product && productNeed !== productKind) {
        figures.push(...productProblems(context.product));
        await context.product.stop();
        delete context.product;
        productKind = undefined;
      }
      try {
        if (section.needs !== 'none' && !context.world) {
          const tls = createTlsMaterial();
          cleanups.push(() => tls.dispose());
          const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
          log(`starting Azurite in memory on ports ${ports.blob}/${ports.queue}/${ports.table}`);
          const azurite = await startAzurite({ ports, accounts: ['benchload', 'benchreconcile'] });
          cleanups.push(() => azurite.stop());
          const world = await startBenchWorld({
            tls,
            storageConnectionString: azurite.connectionString(),
            latencyMs: options.latencyMs,
            clientState: randomBytes(24).toString('base64url'),
          });
          cleanups.push(() => world.close());
          // Queue and table only: the counts are those of the transfers' own storage transactions.
          const storageCounter = await startStorageProxy(azurite.ports, { services: ['queue', 'table'] });
          cleanups.push(() => storageCounter.close());
          Object.assign(context, { tls, azurite, world, storageCounter });
        }
        if (productNeed && !context.product) {
          log(`starting the host with queue listeners${productNeed === 'countedProduct' ? ', storage through the counting proxy' : ''}`);
          const extra: Record<string, string> = productNeed === 'countedProduct' ? { AzureWebJobsStorage: context.storageCounter!.connectionString() } : {};
          const product = await startProduct(childEnvironment(context.world!, context.tls!, extra));
          cleanups.push(() => product.stop());
          context.product = product;
          productKind = productNeed;
        }
        figures.push(...(await section.run(context)));
      } catch (error) {
        figures.push(failedFigure(section.title, 'run', '', error instanceof Error ? error.message.split('\n')[0]! : String(error)));
      }
    }
    if (context.product) figures.push(...productProblems(context.product));
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }

  const header = [
    `Benchmark ${host.date}`,
    `machine: ${host.nproc} × ${host.cpu}, node ${host.node}, load average at start ${host.load}`,
    `simulated latency: ${options.latencyMs} ms per Business Central / iPaaS.com call (initial load: ${options.loadLatencyMs} ms); storage: Azurite in memory`,
    `total run time: ${seconds(elapsed(startedAt))}`,
    '',
  ].join('\n');
  console.log(`\n${header}${renderTable(figures)}\n`);
  if (options.json) {
    mkdirSync(path.dirname(path.resolve(options.json)), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify({ ...host, options: { ...options, only: [...options.only] }, figures }, null, 2)}\n`);
  }
  if (figures.some((figure) => figure.verdict === 'ERROR')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(1);
});
