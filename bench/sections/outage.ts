/**
 * Section "outage": what an outage of iPaaS.com costs while it lasts, per changed customer. 20 changed customers are
 * notified while every iPaaS.com request answers 503; the first failures open the breaker and the messages are held
 * (put back on the queue with a delay) instead of failing. Over a window of the outage the bench counts, per changed
 * customer, the holds, the queue operations on `customer-sync` (through the storage counter) and the product's log
 * lines; then iPaaS.com answers again and every customer must be transferred without anyone doing anything.
 *
 * The window sees the first, short holds of the breaker's schedule (30 s, doubled after each failed probe, at most
 * 5 minutes: shared/sync/outages.ts); an hour of outage is estimated from the cost of one hold and the holds that
 * schedule gives in an hour.
 */
import { TRANSFER_HOLD_EVENT } from '../../shared/telemetry';
import { log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import { createPerson, notificationBody, postNotification } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { countsBetween, totalOf, type StorageCounter } from '../lib/storageCounter';
import { count, info, sleep, type Figure } from '../lib/stats';
import type { BenchWorld } from '../lib/world';

const SECTION = 'outage of iPaaS.com';
const CUSTOMERS = 20;
const WINDOW_MS = 150_000;
/** The breaker's hold schedule (shared/sync/outages.ts defaults): first hold, doubled at each failed probe, at most. */
const FIRST_HOLD_S = 30;
const LONGEST_HOLD_S = 300;

/** Holds of one change in the first hour of an outage, and in each hour after, under that schedule. */
function holdsPerHour(): { first: number; later: number } {
  let elapsed = 0;
  let holds = 0;
  for (let hold = FIRST_HOLD_S; elapsed + hold <= 3600; hold = Math.min(LONGEST_HOLD_S, hold * 2)) {
    elapsed += hold;
    holds += 1;
  }
  return { first: holds, later: 3600 / LONGEST_HOLD_S };
}

async function measureOutage(world: BenchWorld, product: ProductProcess, counter: StorageCounter | undefined, signal: AbortSignal): Promise<Figure[]> {
  const ipaas = world.world.ipaas.faults;
  const latencyMs = ipaas.latencyMs;
  const customers = Array.from({ length: CUSTOMERS }, () => createPerson(world, false));
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  const problemsBefore = product.problems.length;
  log(`outage: every iPaaS.com request answers 503; ${CUSTOMERS} changed customers notified; watching for ${WINDOW_MS / 1000} s`);
  ipaas.add({ status: 503 });
  let storageBefore = counter?.snapshot();
  let statsBefore = await product.stats();
  try {
    const { status } = await postNotification(product, notificationBody(world, [...ids], 'created'));
    if (status !== 202) throw new Error(`the webhook answered ${status}`);
    // The first attempts fail and open the breaker; the window starts once the changes are on hold.
    const deadline = performance.now() + 60_000;
    while (countHolds(product, problemsBefore) < CUSTOMERS / 2 && performance.now() < deadline && !signal.aborted) await sleep(250);
    storageBefore = counter?.snapshot();
    statsBefore = await product.stats();
    const holdsBefore = countHolds(product, problemsBefore);
    const windowStart = performance.now();
    while (performance.now() - windowStart < WINDOW_MS && !signal.aborted) await sleep(1000);
    const windowS = (performance.now() - windowStart) / 1000;
    const statsAfter = await product.stats();
    const storage = counter && storageBefore ? countsBetween(storageBefore, counter.snapshot()) : undefined;
    const holds = countHolds(product, problemsBefore) - holdsBefore;
    const queueOps = storage ? totalOf(storage.byOperation, (key) => key.startsWith('queue customer-sync ')) : Number.NaN;
    const lines = statsAfter.logLines - statsBefore.logLines;
    const perCustomer = { holds: holds / CUSTOMERS, queueOps: queueOps / CUSTOMERS, lines: lines / CUSTOMERS };
    const perHold = holds > 0 ? { queueOps: queueOps / holds, lines: lines / holds } : undefined;
    const schedule = holdsPerHour();
    const operations = storage
      ? Object.entries(storage.byOperation)
          .filter(([key]) => key.startsWith('queue customer-sync '))
          .map(([key, value]) => `${key.replace('queue customer-sync ', '')} ${value}`)
          .join(', ')
      : 'not counted';
    const figures: Figure[] = [
      info(SECTION, `in ${Math.round(windowS)} s of outage: holds per changed customer`, count(perCustomer.holds), perCustomer.holds, `${holds} holds of ${CUSTOMERS} changes; nothing failed for good`),
      info(SECTION, `in ${Math.round(windowS)} s of outage: queue operations per changed customer`, count(perCustomer.queueOps), perCustomer.queueOps, `customer-sync: ${operations}`),
      info(SECTION, `in ${Math.round(windowS)} s of outage: log lines per changed customer`, count(perCustomer.lines), perCustomer.lines, 'every line at Information and above, the breaker\'s own lines included'),
    ];
    if (perHold) {
      figures.push(
        info(
          SECTION,
          'an hour of outage, per changed customer: queue operations / log lines',
          `${count(perHold.queueOps * schedule.first)} / ${count(perHold.lines * schedule.first)}`,
          perHold.queueOps * schedule.first,
          `per hold ${count(perHold.queueOps)} queue operations and ${count(perHold.lines)} log lines (this window) × ${schedule.first} holds in the first hour (${FIRST_HOLD_S} s doubled to ${LONGEST_HOLD_S} s), ${schedule.later} in each later hour`,
        ),
      );
    }
    return figures;
  } finally {
    ipaas.clear();
    ipaas.latencyMs = latencyMs;
    log('outage: iPaaS.com answers again; waiting for every held change to be transferred');
    await product
      .waitForTransfers((event) => ids.has(event.customerId) && event.status === 'Succeeded', CUSTOMERS, { since, timeoutMs: 8 * 60_000, what: 'the held changes, once iPaaS.com answers again' })
      .catch((error: unknown) => {
        throw new Error(`after the outage: ${error instanceof Error ? error.message : String(error)}`);
      });
  }
}

/** TransferOnHold lines the product logged (warnings travel back to the bench) since `from`. */
function countHolds(product: ProductProcess, from: number): number {
  return product.problems.slice(from).filter((line) => line.includes(`${TRANSFER_HOLD_EVENT} {`)).length;
}

export const outageSection: BenchSection = {
  name: 'outage',
  title: SECTION,
  needs: 'countedProduct',
  deadlineMs: 15 * 60_000,
  run: (context) => measureOutage(context.world!, context.product!, context.storageCounter, context.signal),
};
