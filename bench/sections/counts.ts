/**
 * Section "counts": requests per customer (the fakes' counters), storage transactions per transfer (the counting
 * proxy in front of Azurite), executions, log bytes and the cost per 1,000,000 transfers, for new, updated,
 * unchanged and polled customers; then the idle instance's queue polls.
 */
import path from 'node:path';
import { deployedInstanceMemoryMb, dollars, PRICES } from '../lib/cost';
import { log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import { counts, countsSince, createPerson, notifiedScenario, observed, outcomesOf, perCustomerFigures, type ScenarioResult } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { countsBetween, totalOf, type StorageCounter } from '../lib/storageCounter';
import { count, info, judged, sleep, type Figure } from '../lib/stats';
import { costFigures } from '../lib/transferCost';
import type { BenchWorld } from '../lib/world';

const ROOT = path.resolve(__dirname, '..', '..');

async function measureCounts(world: BenchWorld, product: ProductProcess, counter: StorageCounter | undefined, latencyMs: number): Promise<Figure[]> {
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
async function idlePolling(product: ProductProcess, counter: StorageCounter): Promise<Figure> {
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
