/**
 * Section "outage": what an outage of iPaaS.com costs while it lasts. 20 changed customers are notified while every
 * iPaaS.com request answers 503; the first failures open the breaker and the changes are parked in the company's
 * waiting room (shared/storage/waitingRoom.ts) instead of failing or going round the queue. The bench counts what
 * parking them cost per changed customer (storage transactions through the storage counter, the product's log
 * lines), then what a window of the outage costs once they wait (the breaker's probes and `stillOnHold` lines:
 * a cost per company and hour that does not grow with the customers waiting), scaled to an hour. One change is
 * never parked: the sentinel, the message whose failure opened the breaker, goes back on the queue and returns at
 * the end of each hold (shared/sync/queueWorkers.ts, holdBack). Then iPaaS.com answers again and every customer
 * must be transferred without anyone doing anything; how long that takes is the breaker's hold at that moment.
 */
import { createStorage } from '../../shared/storage';
import { log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import { createPerson, notificationBody, postNotification } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { countsBetween, totalOf, type StorageProxy, type StorageCounts } from '../../dev/storageProxy';
import { count, failedFigure, info, seconds, sleep, type Figure } from '../lib/stats';
import type { BenchWorld } from '../lib/world';

const SECTION = 'outage of iPaaS.com';
/** functions/outageWatch.ts runs every 15 seconds where deployed; the bench's host runs no timers by itself. */
const OUTAGE_WATCH_EVERY_MS = 15_000;
const CUSTOMERS = 20;
const WINDOW_MS = 60_000;
/** The sentinel of the iPaaS.com breaker stays on the queue; every other change is parked. */
const EXPECTED_PARKED = CUSTOMERS - 1;
const PARK_WITHIN_MS = 3 * 60_000;

const describe = (storage: StorageCounts): string =>
  Object.entries(storage.byOperation)
    .filter(([, value]) => value > 0)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ') || 'none';

/** The breaker's longest hold (5 minutes) and the catch-up after it. */
const RECOVER_WITHIN_MS = 6 * 60_000;

async function measureOutage(world: BenchWorld, product: ProductProcess, counter: StorageProxy | undefined, signal: AbortSignal): Promise<Figure[]> {
  if (!counter) return [failedFigure(SECTION, 'run', '', 'needs the storage counter')];
  let outageFigures: Figure[] = [];
  let answeredAt = 0;
  const outageStarted = performance.now();
  const ipaas = world.world.ipaas.faults;
  const latencyMs = ipaas.latencyMs;
  const company = world.config.companies[0]!;
  const waiting = createStorage(world.config.storage).forCompany({ id: company.id, name: company.name }).waiting;
  const customers = Array.from({ length: CUSTOMERS }, () => createPerson(world, false));
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  log(`outage: every iPaaS.com request answers 503; ${CUSTOMERS} changed customers notified`);
  ipaas.add({ status: 503 });
  // The outage timer as deployed: it probes the service, writes the "still on hold" lines and resumes the waiting.
  let watching = true;
  const watcher = (async () => {
    while (watching && !signal.aborted) {
      await product.runTimer('outageWatch').catch(() => undefined);
      await sleep(OUTAGE_WATCH_EVERY_MS);
    }
  })();
  try {
    const storage0 = counter.snapshot();
    const stats0 = await product.stats();
    const { status } = await postNotification(product, notificationBody(world, [...ids], 'created'));
    if (status !== 202) throw new Error(`the webhook answered ${status}`);
    // The first attempts fail (and are retried by the queue after its visibility timeout) until the breaker opens;
    // then each change is parked, but for the sentinel.
    const parkDeadline = performance.now() + PARK_WITHIN_MS;
    let parked = 0;
    while ((parked = await waiting.count('ipaas')) < EXPECTED_PARKED && performance.now() < parkDeadline && !signal.aborted) await sleep(1000);
    if (parked < EXPECTED_PARKED) {
      throw new Error(`only ${parked} of ${CUSTOMERS} changes were parked within ${PARK_WITHIN_MS / 60_000} minutes of the outage (expected ${EXPECTED_PARKED}: all but the breaker's sentinel)`);
    }
    await sleep(2000);
    const storage1 = counter.snapshot();
    const stats1 = await product.stats();
    log(`outage: ${parked} changes parked; watching the outage for ${WINDOW_MS / 1000} s`);
    const windowStart = performance.now();
    while (performance.now() - windowStart < WINDOW_MS && !signal.aborted) await sleep(1000);
    const hours = (performance.now() - windowStart) / 3_600_000;
    const storage2 = counter.snapshot();
    const stats2 = await product.stats();

    const parking = countsBetween(storage0, storage1);
    const waitingCost = countsBetween(storage1, storage2);
    const parkOps = totalOf(parking.byOperation);
    const parkLines = stats1.logLines - stats0.logLines;
    const waitOps = totalOf(waitingCost.byOperation);
    const waitLines = stats2.logLines - stats1.logLines;
    outageFigures = [
      info(SECTION, 'putting a changed customer on hold: storage transactions', count(parkOps / CUSTOMERS), parkOps / CUSTOMERS, `the first attempts that met the outage, the breaker opening, the parking; ${describe(parking)}`),
      info(SECTION, 'putting a changed customer on hold: log lines', count(parkLines / CUSTOMERS), parkLines / CUSTOMERS, 'every line at Information and above'),
      info(
        SECTION,
        'an hour of outage once parked: storage transactions / log lines (whatever waits: none per customer)',
        `${count(waitOps / hours)} / ${count(waitLines / hours)}`,
        waitOps / hours,
        `${CUSTOMERS} customers waiting, the outage timer every ${OUTAGE_WATCH_EVERY_MS / 1000} s as deployed (its reads of the breakers' state run with or without an outage); over ${Math.round(hours * 3600)} s: ${describe(waitingCost)}; idle queue polling (empty receives) not included`,
      ),
    ];
  } finally {
    ipaas.clear();
    ipaas.latencyMs = latencyMs;
    log('outage: iPaaS.com answers again; waiting for every parked change to be transferred');
    answeredAt = performance.now();
    await product
      .waitForTransfers((event) => ids.has(event.customerId) && event.status === 'Succeeded', CUSTOMERS, { since, timeoutMs: RECOVER_WITHIN_MS, what: 'the parked changes, once iPaaS.com answers again' })
      .catch((error: unknown) => {
        throw new Error(`after the outage: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(async () => {
        watching = false;
        await watcher;
      });
  }
  const catchUpMs = performance.now() - answeredAt;
  return [
    ...outageFigures,
    info(
      SECTION,
      'catching up once iPaaS.com answers again',
      seconds(catchUpMs),
      catchUpMs,
      `all ${CUSTOMERS} changes transferred, none by hand, after an outage of ${seconds(answeredAt - outageStarted)}: the wait is what remained of the breaker's hold (30 s, doubled at each failed probe, at most 5 min), then the waiting room's resume`,
    ),
  ];
}

export const outageSection: BenchSection = {
  name: 'outage',
  title: SECTION,
  needs: 'countedProduct',
  deadlineMs: 12 * 60_000,
  run: (context) => measureOutage(context.world!, context.product!, context.storageCounter, context.signal),
};
