/**
 * Section "ack": webhook acknowledgement. A host without queue listeners (nothing else competes), 200 one-entry
 * and 30 thousand-entry notifications over HTTP, each timed from the POST to the end of the reply.
 */
import { randomUUID } from 'node:crypto';
import type { RunningAzurite } from '../../dev/azurite';
import type { TlsMaterial } from '../../dev/fakes/serve';
import { log } from '../lib/machine';
import { startProduct } from '../lib/productProcess';
import { clearQueues, notificationBody, postNotification } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { judged, ms, percentile, type Figure } from '../lib/stats';
import { childEnvironment, type BenchWorld } from '../lib/world';

async function measureAck(world: BenchWorld, tls: TlsMaterial, azurite: RunningAzurite): Promise<Figure[]> {
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

export const ackSection: BenchSection = {
  name: 'ack',
  title: 'webhook ack',
  needs: 'world',
  run: (context) => measureAck(context.world!, context.tls!, context.azurite!),
};
