import { app, type InvocationContext, type Timer } from '@azure/functions';
import { optionalScheduleSetting } from '../shared/config';
import { beginQueuedReconciliation } from '../shared/reconcile/queueRun';
import { getServices } from '../shared/services';

/** A scheduled reconciliation (report only; `fix` stays an operator's decision). Skipped while a run is running. */
export async function reconcileTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = getServices();
  const result = await beginQueuedReconciliation(services.reconcileDependencies(context), services.reconcileScheduler, { fix: false, trigger: 'timer' });
  if (result.started) context.info(`reconcile: scheduled run ${result.runId} started`);
  else context.info(`reconcile: scheduled run skipped, ${result.runningRunId} is still running`);
}

// Registered only when RECONCILE_SCHEDULE is set: there is no scheduled reconciliation by default.
const schedule = optionalScheduleSetting('RECONCILE_SCHEDULE');
if (schedule) {
  app.timer('reconcileTimer', {
    schedule,
    handler: reconcileTimer,
  });
}
