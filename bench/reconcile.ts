/**
 * The reconciliation for `npm run bench`, in a process of its own so its peak RSS is the run's alone: the
 * production use-case with the production clients (settings from the environment, pointed by the bench at fakes
 * holding the customers in the parent process) and the production blob, table and queue stores (Azurite).
 * Reports its figures to the parent over IPC.
 */
import { createBusinessCentralClient } from '../shared/businessCentral/client';
import { loadConfig } from '../shared/config';
import { createIpaasClient } from '../shared/ipaas/client';
import { silentLogger } from '../shared/log';
import { advanceReconciliation, startReconciliation } from '../shared/reconcile';
import { createStorage } from '../shared/storage';
import { watchMemory } from './lib/memory';
import { runAsBenchChild, type Send } from './lib/childEntry';
import type { ReconcileBenchMessage } from './lib/protocol';

type Done = Extract<ReconcileBenchMessage, { type: 'done' }>;

async function main(send: Send<Done>): Promise<void> {
  const config = loadConfig(process.env);
  const storage = createStorage(config.storage);
  const deps = {
    businessCentral: createBusinessCentralClient(config.businessCentral, config.http),
    ipaas: createIpaasClient(config.ipaas, config.http),
    links: storage.links,
    runs: storage.reconciliations,
    syncQueue: storage.syncQueue,
    logger: silentLogger,
  };
  const baselineRssBytes = process.memoryUsage().rss;
  const memory = watchMemory();
  const started = performance.now();
  const run = await startReconciliation(deps, { fix: false, trigger: 'command' });
  if (!run.started) throw new Error(`a run is already running: ${run.runningRunId}`);
  // Each checkpoint says where the run stands, for a run stopped at its deadline.
  const result = await advanceReconciliation(deps, run.runId, {
    onProgress: ({ progress }) =>
      send({
        type: 'progress',
        note: `phase ${progress.phase}, ${progress.ipaasPagesRead} iPaaS.com pages and ${progress.businessCentralPagesRead} Business Central pages read in ${Math.round((performance.now() - started) / 1000)} s, ${memory.describe()}`,
      }),
  });
  const durationMs = performance.now() - started;
  memory.stop();
  if (!('report' in result)) throw new Error(`the run ended ${result.outcome}`);
  send({
    type: 'done',
    outcome: result.outcome,
    counts: { ...result.report.counts },
    items: result.report.items.length,
    durationMs,
    baselineRssBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapUsedBytes: memory.peakHeapUsedBytes(),
    peakLiveHeapBytes: memory.peakLiveHeapBytes(),
  });
}

runAsBenchChild<Done>(main);
