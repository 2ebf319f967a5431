import { app, type InvocationContext } from '@azure/functions';
import { RECONCILE_POISON_QUEUE } from '../shared/queueNames';

/** Reads reconcile-poison: the run goes on from its checkpoint later, or ends as Failed after repeated rounds. */
export async function reconcilePoisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handleReconcilePoison }] = await Promise.all([import('../shared/services.js'), import('../shared/reconcile/queueRun.js')]);
  const services = getServices();
  const outcome = await handleReconcilePoison(services.reconcileDependencies(context), services.reconcileScheduler, message);
  context.info(`reconcile poison: ${outcome}`);
}

app.storageQueue('reconcilePoisonWorker', {
  queueName: RECONCILE_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: reconcilePoisonWorker,
});
