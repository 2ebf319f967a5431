import { app, type InvocationContext, type Timer } from '@azure/functions';
import { optionalScheduleSetting } from '../shared/schedule';

/** Without RECONCILE_SCHEDULE the timer is registered on a yearly placeholder and does nothing when it fires. */
export const UNSCHEDULED = '0 0 0 1 1 *';

/** A scheduled reconciliation (report only; `fix` stays an operator's decision). Skipped while a run is running. */
export async function reconcileTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { beginQueuedReconciliation }, { runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/reconcile/queueRun.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('reconcileTimer', context, async () => {
    const services = getServices();
    if (!services.config.reconcile.schedule) {
      context.info('reconcile: RECONCILE_SCHEDULE is not set; no scheduled reconciliation');
      return;
    }
    const result = await beginQueuedReconciliation(services.reconcileDependencies(context), services.reconcileScheduler, {
      fix: false,
      trigger: 'timer',
      // With several companies: every company, each counted on its own.
      ...(services.multiCompany ? { companies: services.companies.map((company) => company.ref) } : {}),
    });
    if (result.started) context.info(`reconcile: scheduled run ${result.runId} started`);
    else context.info(`reconcile: scheduled run skipped, ${result.runningRunId} is still running`);
  });
}

app.timer('reconcileTimer', {
  schedule: optionalScheduleSetting('RECONCILE_SCHEDULE') ?? UNSCHEDULED,
  handler: reconcileTimer,
});
