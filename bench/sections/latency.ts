/**
 * Section "latency": at 20 ms per API call, 30 single-entry notifications of a changed customer at random
 * intervals, timed from the POST to the TransferCompleted line, and split into the webhook's reply, the queue
 * wait, the transfer itself and the line's trip to the bench.
 */
import { log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import { createPerson, notificationBody, notifiedScenario, postNotification } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { info, judged, ms, percentile, sleep, type Figure } from '../lib/stats';
import type { BenchWorld } from '../lib/world';

/** The latency target is stated at this simulated latency per Business Central / iPaaS.com call. */
const LATENCY_CALL_MS = 20;

async function measureLatency(world: BenchWorld, product: ProductProcess): Promise<Figure[]> {
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
    judged(section, 'POST sent → iPaaS.com done p50', percentile(endToEnd, 50), ms, { max: 400 }),
    judged(section, 'POST sent → iPaaS.com done p95', percentile(endToEnd, 95), ms, { max: 400 }, `${samples} updated customers, one notification each; done = the TransferCompleted line, written after the iPaaS.com update, the link and the history`),
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

export const latencySection: BenchSection = {
  name: 'latency',
  title: 'added latency',
  needs: 'product',
  run: (context) => measureLatency(context.world!, context.product!),
};
