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
 *   --only <list>           BENCH_ONLY                sections: ack,counts,outage,throughput,floor,latency,load,reconcile,coldstart,mapping,budget (default all; SECTIONS below)
 *   --reconcile-customers <n> BENCH_RECONCILE_CUSTOMERS customers on each side in the reconciliation run (default 30000;
 *                                                    100000 alone takes about 15 minutes, most of it seeding)
 *   --no-build              BENCH_NO_BUILD=true       time the existing dist/ instead of running `npm run build`
 *   --json <file>           BENCH_JSON                also write the figures as JSON
 * Diagnostics (environment only): BENCH_CPU_PROFILE=<dir> (V8 CPU profiles of the children),
 * BENCH_CHILD_NODE_ARGS="<node flags>" (e.g. --max-old-space-size=192), BENCH_LOAD_PAGE_SIZE=<n>.
 * What each figure means and the figures of a reference run: docs/performance.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, startAzurite } from '../dev/azurite';
import { createTlsMaterial } from '../dev/fakes/serve';
import { lastLogLine, log, machine } from './lib/machine';
import { startProduct, type ProductProcess } from './lib/productProcess';
import type { BenchContext, BenchOptions, BenchSection } from './lib/sections';
import { elapsed, failedFigure, info, renderMarkdown, renderTable, seconds, type Figure } from './lib/stats';
import { startStorageProxy } from '../dev/storageProxy';
import { childEnvironment, startBenchWorld } from './lib/world';
import { ackSection } from './sections/ack';
import { budgetSection } from './sections/budget';
import { coldStartSection } from './sections/coldStart';
import { countsSection } from './sections/counts';
import { floorSection } from './sections/floor';
import { latencySection } from './sections/latency';
import { loadSection } from './sections/load';
import { mappingSection } from './sections/mapping';
import { outageSection } from './sections/outage';
import { reconcileSection } from './sections/reconcile';
import { throughputSection } from './sections/throughput';

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
    reconcileCustomers: Math.floor(number('reconcile-customers', 'BENCH_RECONCILE_CUSTOMERS', 30_000, 1000)),
    only,
    build: !(flags.has('no-build') || env.BENCH_NO_BUILD === 'true'),
    json: flags.get('json') ?? env.BENCH_JSON,
  };
}

/** Failed transfers and warnings the product logged while the 'product' sections ran. */
function productProblems(product: ProductProcess): Figure[] {
  const failedTransfers = product.transfers.filter((arrival) => arrival.event.status === 'Failed');
  if (failedTransfers.length === 0 && product.problems.length === 0) return [];
  return [info('product', 'failed transfers / warnings logged', `${failedTransfers.length} / ${product.problems.length}`, null, product.problems.slice(0, 3).join(' || ') || undefined)];
}

/**
 * Every section, in the order they run (`--only` picks some). To add one, write bench/sections/<name>.ts exporting
 * a BenchSection (bench/lib/sections.ts) and list it here; docs/performance.md ("Adding a section") says more.
 */
const SECTIONS: BenchSection[] = [ackSection, countsSection, outageSection, throughputSection, floorSection, latencySection, loadSection, reconcileSection, coldStartSection, mappingSection, budgetSection];

// ------------------------------------------------------------------ main

const DEFAULT_SECTION_DEADLINE_MS = 10 * 60_000;

/**
 * Runs a section, stopping it at its deadline: the section's signal aborts (child processes it started are killed,
 * its waits end) and the section becomes an ERROR row saying how long it ran and what it was doing last.
 */
async function runWithinDeadline(section: BenchSection, context: BenchContext): Promise<Figure[]> {
  const deadlineMs = section.deadlineMs ?? DEFAULT_SECTION_DEADLINE_MS;
  const controller = new AbortController();
  context.signal = controller.signal;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`stopped after ${Math.round(deadlineMs / 60_000)} min, its bound; it was at: ${lastLogLine() || 'its start'}`));
    }, deadlineMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => section.run(context)), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = performance.now();
  const host = machine();
  log(`machine: ${host.nproc} CPUs (${host.cpu}), node ${host.node}, load average ${host.load}; latency ${options.latencyMs} ms per API call`);
  const figures: Figure[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  const context: BenchContext = { options, log, signal: new AbortController().signal };
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
          const azurite = await startAzurite({ ports });
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
        figures.push(...(await runWithinDeadline(section, context)));
      } catch (error) {
        figures.push(failedFigure(section.title, 'run', '', error instanceof Error ? error.message.split('\n')[0]! : String(error)));
        if (context.signal.aborted && context.product) {
          // Whatever the section left running in the product is not waited for: the next section gets a fresh one.
          await context.product.stop();
          delete context.product;
          productKind = undefined;
        }
      }
    }
    if (context.product) figures.push(...productProblems(context.product));
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }

  const header = [
    `Benchmark ${host.date}`,
    `machine: ${host.nproc} × ${host.cpu}, node ${host.node}, load average at start ${host.load}, at the end ${machine().load}`,
    `simulated latency: ${options.latencyMs} ms per Business Central / iPaaS.com call (initial load: ${options.loadLatencyMs} ms); storage: Azurite in memory`,
    `total run time: ${seconds(elapsed(startedAt))}`,
    '',
  ].join('\n');
  console.log(`\n${header}${renderTable(figures)}\n`);
  // The same, ready to paste into docs/performance.md.
  console.log(`Markdown:\n\n${header.trimEnd().split('\n').join('  \n')}\n\n${renderMarkdown(figures)}\n`);
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
