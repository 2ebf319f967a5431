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
import type { ReconcileBenchMessage } from './lib/protocol';

const send = (message: ReconcileBenchMessage): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
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
  let peakHeapUsedBytes = 0;
  const sampler = setInterval(() => {
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
  }, 50);
  const started = performance.now();
  const run = await startReconciliation(deps, { fix: false, trigger: 'command' });
  if (!run.started) throw new Error(`a run is already running: ${run.runningRunId}`);
  const result = await advanceReconciliation(deps, run.runId);
  const durationMs = performance.now() - started;
  clearInterval(sampler);
  if (!('report' in result)) throw new Error(`the run ended ${result.outcome}`);
  send({
    type: 'done',
    outcome: result.outcome,
    counts: { ...result.report.counts },
    items: result.report.items.length,
    durationMs,
    baselineRssBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapUsedBytes,
  });
}

main()
  .then(() => process.disconnect?.())
  .catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  });
