import { app, type InvocationContext } from '@azure/functions';
import { RECONCILE_QUEUE, reconcileMessageSchema } from '../shared/messages';
import { continueQueuedReconciliation } from '../shared/reconcile/queueRun';
import { getServices } from '../shared/services';

/** Advances a reconciliation run from its checkpoint for a few minutes, then hands over to a new message. Throws (to retry) only when storage fails. */
export async function reconcileWorker(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = reconcileMessageSchema.safeParse(message);
  if (!parsed.success) {
    context.warn(`reconcile: dropped an invalid message: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ')}`);
    return;
  }
  const services = getServices();
  const outcome = await continueQueuedReconciliation(services.reconcileDependencies(context), services.reconcileScheduler, parsed.data);
  context.info(`reconcile: run ${parsed.data.runId}: ${outcome}`);
}

app.storageQueue('reconcileWorker', {
  queueName: RECONCILE_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: reconcileWorker,
});
