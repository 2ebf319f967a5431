import { app, type InvocationContext } from '@azure/functions';
import { RECONCILE_QUEUE } from '../shared/queueNames';

/** Advances a reconciliation run from its checkpoint for a few minutes, then hands over to a new message. Throws (to retry) only when storage fails. */
export async function reconcileWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { reconcileMessageSchema }, { continueQueuedReconciliation }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/messages.js'),
    import('../shared/reconcile/queueRun.js'),
  ]);
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
