/**
 * Section "counts": requests per customer (the fakes' counters), storage transactions per transfer (the counting
 * proxy in front of Azurite), executions, log bytes and the cost per 1,000,000 transfers, for new, updated,
 * unchanged and polled customers; then the idle instance's queue polls.
 */
import path from 'node:path';
import { deployedInstanceMemoryMb, dollars, PRICES } from '../lib/cost';
import { log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import type { InvocationTotals } from '../../dev/host/childProtocol';
import { counts, countsSince, createPerson, notifiedScenario, observed, outcomesOf, perCustomerFigures, type ScenarioResult } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { countsBetween, totalOf, type StorageProxy, type StorageCounts } from '../../dev/storageProxy';
import { count, info, judged, sleep, type Figure } from '../lib/stats';
import { costFigures, STORAGE_LATENCY_MS } from '../lib/transferCost';
import type { BenchWorld } from '../lib/world';

const ROOT = path.resolve(__dirname, '..', '..');

async function measureCounts(world: BenchWorld, product: ProductProcess, counter: StorageProxy | undefined, latencyMs: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  const memoryMb = deployedInstanceMemoryMb(ROOT);
  const companies = world.config.companies.length;
  // First, before any customer changes: what a poll costs when there is nothing to enqueue (nothing else runs).
  log('request counts: a poll with nothing to enqueue');
  // The first run loads and creates what every later one finds ready (modules, tables): warm up first.
  await product.runTimer('pollCustomers');
  const quietBefore = counts(world);
  const quietRun = await observed(product, counter, () => product.runTimer('pollCustomers'));
  const quietPoll = countsSince(world, quietBefore);
  figures.push(...idlePollCost(quietRun, quietPoll.bc, companies, latencyMs, memoryMb));

  log('request counts: new customers (no address) via webhook');
  const plain = Array.from({ length: 20 }, () => createPerson(world, false));
  const created = await notifiedScenario(world, product, plain, 'created', counter);
  // iPaaS.com: the search by email (match before create), the search by number (CustomerNumber must be unique in
  // iPaaS.com: the spec's Duplicate CustomerNumber rule, its test scenario 2), the create, the external id link.
  figures.push(...perCustomerFigures('webhook, new (no address)', created, { bc: 1, ipaas: 4 }));

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
  const fresh = Array.from({ length: 500 }, () => createPerson(world, true));
  const total = world.world.businessCentral.customers().length;
  const since = product.transfers.length;
  const before = counts(world);
  const polled = await observed(product, counter, async () => {
    await product.runTimer('pollCustomers');
    // The customers transferred before meet the poll at the version already sent: their messages end without a
    // transfer record (docs/reliability.md, "Polls without repeats"), so only the new ones are waited for.
    // A loaded machine may need minutes for 500 transfers; counts do not depend on how long it takes.
    return product.waitForTransfers((event) => event.source === 'poll', fresh.length, { since, timeoutMs: 8 * 60_000, what: 'the full-pass poll\'s transfers of the new customers' });
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

  // A poll with no change since the last one (every company's watermark current): one Business Central request per
  // company. It re-reads the overlap before its watermark (2 minutes): here every customer above, changed seconds ago,
  // all enqueued by the last poll, which stored their keys with the watermark (shared/sync/pollOverlap.ts).
  log('request counts: a poll with no new change');
  const idleBefore = counts(world);
  const putsBefore = counter?.snapshot();
  await product.runTimer('pollCustomers');
  const idlePoll = countsSince(world, idleBefore);
  const reEnqueued = counter && putsBefore ? totalOf(countsBetween(putsBefore, counter.snapshot()).byOperation, (key) => key === 'queue customer-sync put') : undefined;
  figures.push(
    judged('requests/poll', `poll with no new change: Business Central requests per company (${companies} companies)`, idlePoll.bc / companies, count, { max: 1 }, `${idlePoll.bc} requests in all (${idlePoll.bcList} list pages), ${idlePoll.ipaas} iPaaS.com`),
    ...(reEnqueued === undefined
      ? []
      : [
          judged(
            'requests/poll',
            'poll with no new change: customers enqueued again (the overlap)',
            reEnqueued,
            count,
            { max: 0 },
            `of ${world.world.businessCentral.customers().length} customers, all changed within the poll's 2-minute overlap before its watermark and enqueued by the poll before; each enqueued again would cost a queue put, receive and delete, a lease and a link read, and end without a transfer`,
          ),
        ]),
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

/** Polls a month at the default POLL_SCHEDULE (every 5 minutes): 12 an hour, 730 hours. */
const POLLS_A_MONTH = 12 * 730;

/**
 * What polling costs per company when nothing changed (and nothing changed within the overlap either): storage transactions (the watermark read, the poll lease),
 * log bytes, CPU and the execution's busy time of one poll, divided by the companies it covered, and a month of
 * them at the default schedule. Billed busy time is estimated as for transfers: the Business Central requests ×
 * the simulated latency, storage × STORAGE_LATENCY_MS, plus CPU (the companies are polled at once, so this is an
 * upper bound).
 */
function idlePollCost(run: { storage?: StorageCounts; invocations: InvocationTotals; logBytes: number; cpuMs: number }, bcRequests: number, companies: number, latencyMs: number, memoryMb: number): Figure[] {
  const section = 'cost of polling';
  if (!run.storage) return [];
  const puts = totalOf(run.storage.byOperation, (key) => key.endsWith(' put'));
  const tables = totalOf(run.storage.byOperation, (key) => key.startsWith('table '));
  const queues = totalOf(run.storage.byOperation, (key) => key.startsWith('queue ') && !key.endsWith(' receive'));
  const perCompany = { tables: tables / companies, queues: queues / companies, logBytes: run.logBytes / companies, cpuMs: run.cpuMs / companies };
  const busySeconds = (latencyMs + perCompany.tables * STORAGE_LATENCY_MS + perCompany.cpuMs) / 1000;
  const monthly =
    POLLS_A_MONTH *
    (perCompany.tables * PRICES.tableTransaction +
      perCompany.queues * PRICES.queueOperation +
      (perCompany.logBytes / 1024 ** 3) * PRICES.logIngestionGb +
      busySeconds * (memoryMb / 1024) * PRICES.flexGbSecond +
      PRICES.flexExecution / companies);
  const operations = Object.entries(run.storage.byOperation)
    .filter(([key]) => !key.endsWith(' receive'))
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  return [
    judged(section, 'poll with nothing to enqueue: Business Central requests per company', bcRequests / companies, count, { max: 1 }, `${companies} companies; ${puts} messages enqueued`),
    info(section, 'poll with nothing to enqueue: storage transactions per company', count(perCompany.tables + perCompany.queues), perCompany.tables + perCompany.queues, `${companies} companies: ${operations || 'none'}`),
    info(section, 'poll with nothing to enqueue: log bytes and CPU per company', `${Math.round(perCompany.logBytes)} B, ${perCompany.cpuMs.toFixed(1)} ms`, perCompany.cpuMs, 'CPU of the product process over the poll, its idle queue listeners included'),
    info(
      section,
      'poll with nothing to enqueue: a month per company at every 5 minutes',
      dollars(monthly),
      monthly,
      `${POLLS_A_MONTH.toLocaleString('en-US')} polls; ${Math.round(POLLS_A_MONTH * perCompany.tables).toLocaleString('en-US')} table transactions, ${Math.round((POLLS_A_MONTH * perCompany.logBytes) / 1024)} KiB of logs, ${(POLLS_A_MONTH * busySeconds * (memoryMb / 1024)).toFixed(0)} GB-s at ${memoryMb} MB (one execution polls every company); free grants not deducted`,
    ),
  ];
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

export const countsSection: BenchSection = {
  name: 'counts',
  title: 'requests/customer',
  needs: 'countedProduct',
  deadlineMs: 15 * 60_000,
  run: (context) => measureCounts(context.world!, context.product!, context.storageCounter, context.options.latencyMs),
};
