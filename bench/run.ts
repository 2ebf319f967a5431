/**
 * `npm run bench`: performance figures for this machine, each next to its target (docs/performance.md).
 *
 * The product runs as it does under `npm start`: the local Functions host with the app's own registrations
 * (bench/product.ts, a child process), the real Azurite queues and tables (started here in memory on free
 * ports), and Business Central, Entra ID and iPaaS.com fakes served by this process on their own sockets
 * with a simulated latency per API call. Request counts come from the fakes' counters.
 *
 * Options (flag or environment variable):
 *   --latency <ms>          BENCH_LATENCY_MS          latency added to every Business Central / iPaaS.com call (default 50)
 *   --load-customers <n>    BENCH_LOAD_CUSTOMERS      customers in the initial-load run (default 100000)
 *   --load-latency <ms>     BENCH_LOAD_LATENCY_MS     latency for the initial-load run (default: --latency)
 *   --only <list>           BENCH_ONLY                sections: ack,counts,throughput,latency,load,import,mapping (default all)
 *   --no-build              BENCH_NO_BUILD=true       time the existing dist/index.js instead of running `npm run build`
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
import { findChildPid, processCpuMs } from './lib/cpu';
import { createTlsMaterial, type TlsMaterial } from './lib/fakeServices';
import { runInitialLoad, startProduct, type ProductProcess, type TransferArrival } from './lib/productProcess';
import { mappingSection } from './mapping';
import {
  count,
  elapsed,
  failedFigure,
  info,
  judged,
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
const SECTIONS = ['ack', 'counts', 'throughput', 'latency', 'load', 'import', 'mapping'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  latencyMs: number;
  loadCustomers: number;
  loadLatencyMs: number;
  only: Set<Section>;
  build: boolean;
  json: string | undefined;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'no-build') flags.set(name, 'true');
    else flags.set(name, inline ?? argv[++index] ?? '');
  }
  const known = new Set(['latency', 'load-customers', 'load-latency', 'only', 'no-build', 'json']);
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
  const only = new Set<Section>();
  for (const part of (onlyRaw ?? SECTIONS.join(',')).split(',').map((item) => item.trim()).filter(Boolean)) {
    if (!(SECTIONS as readonly string[]).includes(part)) throw new Error(`--only takes ${SECTIONS.join(', ')}; got "${part}"`);
    only.add(part as Section);
  }
  return {
    latencyMs,
    loadCustomers: Math.floor(number('load-customers', 'BENCH_LOAD_CUSTOMERS', 100_000, 1)),
    loadLatencyMs: number('load-latency', 'BENCH_LOAD_LATENCY_MS', latencyMs, 0),
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
  const product = await startProduct(childEnvironment(world, tls, { BENCH_LISTEN_QUEUES: 'false' }));
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
}

/** Notifies `customers` through the webhook and waits until each has a transfer; counts what it cost. */
async function notifiedScenario(world: BenchWorld, product: ProductProcess, customers: readonly FakeBcCustomer[], changeType: 'created' | 'updated'): Promise<ScenarioResult> {
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  const before = counts(world);
  const { status } = await postNotification(product, notificationBody(world, [...ids], changeType));
  if (status !== 202) throw new Error(`the webhook answered ${status}`);
  const arrivals = await product.waitForTransfers((event) => ids.has(event.customerId), ids.size, { since });
  return { customers: ids.size, counts: countsSince(world, before), arrivals, outcomes: outcomesOf(arrivals.map((arrival) => arrival.event)) };
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

async function countsSection(world: BenchWorld, product: ProductProcess): Promise<Figure[]> {
  const figures: Figure[] = [];
  log('request counts: new customers (no address) via webhook');
  const plain = Array.from({ length: 20 }, () => createPerson(world, false));
  figures.push(...perCustomerFigures('webhook, new (no address)', await notifiedScenario(world, product, plain, 'created'), { bc: 1, ipaas: 3 }));

  log('request counts: new customers with an address via webhook');
  const addressed = Array.from({ length: 20 }, () => createPerson(world, true));
  figures.push(...perCustomerFigures('webhook, new with address', await notifiedScenario(world, product, addressed, 'created'), { bc: 1 }));

  log('request counts: updated customers (name changed, address unchanged) via webhook');
  const updated = addressed.map((customer) => world.world.businessCentral.updateCustomer(customer.id, { displayName: `${customer.displayName} Jr.` }));
  figures.push(...perCustomerFigures('webhook, updated', await notifiedScenario(world, product, updated, 'updated'), { bc: 1, ipaas: 3 }));

  log('request counts: unchanged customers via webhook');
  figures.push(...perCustomerFigures('webhook, unchanged', await notifiedScenario(world, product, updated, 'updated'), { bc: 1, ipaas: 0 }));

  log('request counts: polled customers (first poll: a full pass)');
  Array.from({ length: 500 }, () => createPerson(world, true));
  const total = world.world.businessCentral.customers().length;
  const since = product.transfers.length;
  const before = counts(world);
  await product.runTimer('pollCustomers');
  const arrivals = await product.waitForTransfers((event) => event.source === 'poll', total, { since });
  figures.push(
    ...perCustomerFigures(
      'polled',
      { customers: total, counts: countsSince(world, before), arrivals, outcomes: outcomesOf(arrivals.map((arrival) => arrival.event)) },
      { bc: 0.01 },
    ),
  );
  return figures;
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

async function latencySection(world: BenchWorld, product: ProductProcess): Promise<Figure[]> {
  const section = 'added latency';
  const samples = 30;
  log(`latency: ${samples} single-entry notifications at random intervals (0.3–3 s, so the queue listener idles as in production)`);
  const pool = Array.from({ length: 10 }, () => createPerson(world, true));
  // First transfers create them; the measured ones are updates (the common case).
  await notifiedScenario(world, product, pool, 'created');
  const endToEnd: number[] = [];
  const sinceEnqueue: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    await sleep(300 + Math.random() * 2700);
    const customer = world.world.businessCentral.updateCustomer(pool[index % pool.length]!.id, { displayName: `Bench Latency ${index}` });
    const since = product.transfers.length;
    const posted = Date.now();
    const { status } = await postNotification(product, notificationBody(world, [customer.id], 'updated'));
    if (status !== 202) throw new Error(`the webhook answered ${status}`);
    const [arrival] = await product.waitForTransfers((event) => event.customerId === customer.id, 1, { since, timeoutMs: 30_000 });
    endToEnd.push(arrival!.at - posted);
    if (arrival!.event.latencyMs !== null) sinceEnqueue.push(arrival!.event.latencyMs);
  }
  return [
    judged(section, 'POST sent → transfer done p50', percentile(endToEnd, 50), ms, { max: 1000 }),
    judged(section, 'POST sent → transfer done p95', percentile(endToEnd, 95), ms, { max: 1000 }),
    info(section, 'TransferCompleted latencyMs (enqueued → done) p50/p95', `${ms(percentile(sinceEnqueue, 50))} / ${ms(percentile(sinceEnqueue, 95))}`),
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

function importSection(options: Options): Figure[] {
  const section = 'bundle import';
  const figures: Figure[] = [];
  if (options.build) {
    log('bundle: npm run build');
    const built = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) {
      const reason = `${built.stdout ?? ''}${built.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ');
      return [failedFigure(section, 'npm run build', '', reason)];
    }
  }
  const bundle = path.join(ROOT, 'dist', 'index.js');
  if (!existsSync(bundle)) return [failedFigure(section, 'require(dist/index.js) p50', '≤ 150 ms', 'dist/index.js does not exist (run without --no-build)')];
  // Timed inside a fresh process, around the require alone; '@azure/functions-core' is not installed, so the package runs in test mode.
  const script =
    "const t=process.hrtime.bigint();let ok=true,msg='';try{require(process.argv[1])}catch(e){ok=false;msg=String(e&&e.message||e).split('\\n')[0]}" +
    "process.stdout.write(JSON.stringify({ok,msg,ms:Number(process.hrtime.bigint()-t)/1e6}))";
  const runs: number[] = [];
  const walls: number[] = [];
  for (let run = 0; run < 15; run += 1) {
    const started = performance.now();
    const child = spawnSync(process.execPath, ['-e', script, bundle], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    walls.push(elapsed(started));
    let parsed: { ok: boolean; msg: string; ms: number };
    try {
      parsed = JSON.parse(child.stdout) as { ok: boolean; msg: string; ms: number };
    } catch {
      return [failedFigure(section, 'require(dist/index.js) p50', '≤ 150 ms', `the timing process printed no result (exit ${child.status}): ${child.stderr.split('\n').slice(0, 3).join(' | ')}`)];
    }
    if (!parsed.ok) return [failedFigure(section, 'require(dist/index.js) p50', '≤ 150 ms', `the bundle does not load: ${parsed.msg}`)];
    runs.push(parsed.ms);
  }
  figures.push(judged(section, 'require(dist/index.js) p50', percentile(runs, 50), ms, { max: 150 }, `15 fresh processes; p95 ${ms(percentile(runs, 95))}; whole process p50 ${ms(percentile(walls, 50))}`));
  return figures;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = performance.now();
  const host = machine();
  log(`machine: ${host.nproc} CPUs (${host.cpu}), node ${host.node}, load average ${host.load}; latency ${options.latencyMs} ms per API call`);
  const figures: Figure[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  const attempt = async (section: string, target: string, run: () => Promise<Figure[]> | Figure[]): Promise<void> => {
    try {
      figures.push(...(await run()));
    } catch (error) {
      figures.push(failedFigure(section, 'run', target, error instanceof Error ? error.message.split('\n')[0]! : String(error)));
    }
  };
  try {
    const needsStorage = ['ack', 'counts', 'throughput', 'latency', 'load'].some((section) => options.only.has(section as Section));
    if (needsStorage) {
      const tls = createTlsMaterial();
      cleanups.push(() => tls.dispose());
      const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
      log(`starting Azurite in memory on ports ${ports.blob}/${ports.queue}/${ports.table}`);
      const azurite = await startAzurite({ ports, accounts: ['benchload'] });
      cleanups.push(() => azurite.stop());
      const world = await startBenchWorld({
        tls,
        storageConnectionString: azurite.connectionString(),
        latencyMs: options.latencyMs,
        clientState: randomBytes(24).toString('base64url'),
      });
      cleanups.push(() => world.close());

      if (options.only.has('ack')) await attempt('webhook ack', '', () => ackSection(world, tls, azurite));
      const workerSections = (['counts', 'throughput', 'latency'] as const).filter((section) => options.only.has(section));
      if (workerSections.length > 0) {
        log('starting the host with queue listeners');
        const product = await startProduct(childEnvironment(world, tls));
        cleanups.push(() => product.stop());
        if (options.only.has('counts')) await attempt('requests/customer', '', () => countsSection(world, product));
        if (options.only.has('throughput')) await attempt('worker throughput', '≥ 0.90', () => throughputSection(world, product, options.latencyMs));
        if (options.only.has('latency')) await attempt('added latency', '≤ 1000 ms', () => latencySection(world, product));
        const failedTransfers = product.transfers.filter((arrival) => arrival.event.status === 'Failed');
        if (failedTransfers.length > 0 || product.problems.length > 0) {
          figures.push(
            info('product', 'failed transfers / warnings logged', `${failedTransfers.length} / ${product.problems.length}`, null, product.problems.slice(0, 3).join(' || ') || undefined),
          );
        }
        await product.stop();
      }
      if (options.only.has('load')) await attempt(`initial load`, '', () => loadSection(options, tls, azurite));
    }
    if (options.only.has('import')) await attempt('bundle import', '≤ 150 ms', () => importSection(options));
    if (options.only.has('mapping')) await attempt('mapping evaluation per customer', '≤ 0.200 ms', () => mappingSection());
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
