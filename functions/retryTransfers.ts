import { app, type InvocationContext, type Timer } from '@azure/functions';

/** Every minute: enqueues the automatic retries that are due (1, 5, 15, 60 minutes, then 6, 12, 18, 24 hours after each failure). */
export async function retryTransfers(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { runDueRetries }, { runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/retrySchedule.js'),
    import('../shared/telemetry.js'),
  ]);
  const services = getServices();
  const { storage, retries } = services;
  // Every minute: only a failed run is reported (TimerRun), so the alert on failed timers sees it.
  const result = await runTimer('retryTransfers', context, () => runDueRetries({
    schedule: retries,
    transfers: storage.transfers,
    // Each retry looks at its own company's history.
    transfersOf: (companyId) => (companyId ? services.company(companyId)?.storage.transfers : undefined) ?? services.companies[0]!.storage.transfers,
    syncQueue: storage.syncQueue,
    logger: context,
    clock: services.clock,
  }), { quietSuccess: true });
  if (result.due > 0) context.info(`retry: ${result.due} due, ${result.enqueued} enqueued, ${result.stopped} stopped (a later success or change)`);
}

app.timer('retryTransfers', {
  schedule: '30 * * * * *',
  handler: retryTransfers,
});
