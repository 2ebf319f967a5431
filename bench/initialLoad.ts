/**
 * The initial load for `npm run bench`, in a process of its own so its peak RSS is the poller's alone:
 * the production pollChanges use-case with the production Business Central client (settings from the
 * environment, pointed by the bench at a fake holding the customers in the parent process) and the
 * production queue sender (Azurite). Reports its figures to the parent over IPC.
 */
import { createBusinessCentralClient } from '../shared/businessCentral/client';
import { loadConfig } from '../shared/config';
import { silentLogger } from '../shared/log';
import { createStorage, peekCount, queueClient } from '../shared/storage';
import { SYNC_QUEUE } from '../shared/queueNames';
import { pollChanges } from '../shared/sync/pollChanges';
import { watchMemory } from './lib/memory';
import { runAsBenchChild, type Send } from './lib/childEntry';
import type { InitialLoadMessage } from './lib/protocol';

type Done = Extract<InitialLoadMessage, { type: 'done' }>;

async function sampleMessageBytes(storage: ReturnType<typeof loadConfig>['storage']): Promise<{ max: number; mean: number }> {
  const peeked = await queueClient(storage, SYNC_QUEUE).peekMessages({ numberOfMessages: 32 });
  const sizes = peeked.peekedMessageItems.map((item) => Buffer.byteLength(item.messageText));
  return { max: Math.max(0, ...sizes), mean: sizes.length === 0 ? 0 : Math.round(sizes.reduce((sum, size) => sum + size, 0) / sizes.length) };
}

async function main(send: Send<Done>): Promise<void> {
  const config = loadConfig(process.env);
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http);
  const storage = createStorage(config.storage);
  // Tables and the queue exist before the clock starts, as they do in a deployed app.
  await storage.state.get('bench-warmup', (value) => value);
  await peekCount(config.storage, SYNC_QUEUE);
  const baselineRssBytes = process.memoryUsage().rss;
  let sent = 0;
  const started = performance.now();
  const memory = watchMemory();
  // Where the load stands, for a run stopped at its deadline: messages sent and the peak memory so far.
  const reporter = setInterval(() => {
    const note = `${sent.toLocaleString('en-US')} messages sent in ${Math.round((performance.now() - started) / 1000)} s, ${memory.describe()}`;
    send({ type: 'progress', note });
  }, 5000);
  // BENCH_LOAD_PAGE_SIZE tries another odata.maxpagesize; by default the poller's own default is measured.
  const pageSize = process.env.BENCH_LOAD_PAGE_SIZE ? Number(process.env.BENCH_LOAD_PAGE_SIZE) : undefined;
  const result = await pollChanges({
    businessCentral,
    syncQueue: {
      send: async (messages, options) => {
        await storage.syncQueue.send(messages, options);
        sent += messages.length;
      },
    },
    leases: storage.leases,
    state: storage.state,
    logger: silentLogger,
    ...(pageSize ? { pageSize } : {}),
  });
  const durationMs = performance.now() - started;
  memory.stop();
  clearInterval(reporter);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  send({
    type: 'done',
    result,
    durationMs,
    baselineRssBytes,
    maxRssBytes,
    peakHeapUsedBytes: memory.peakHeapUsedBytes(),
    peakLiveHeapBytes: memory.peakLiveHeapBytes(),
    queued: await peekCount(config.storage, SYNC_QUEUE),
    sampleMessageBytes: await sampleMessageBytes(config.storage),
  });
}

runAsBenchChild<Done>(main);
