import { app, type InvocationContext } from '@azure/functions';
import { SYNC_QUEUE } from '../shared/queueNames';

/**
 * Transfers one customer per `customer-sync` message, in the message's company; throws on transient failures so
 * the queue retries. While Business Central or iPaaS.com is on hold for that company the message goes back to the
 * queue with a delay instead.
 */
export async function syncWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handleSyncMessage, messageCompanyId }] = await Promise.all([import('../shared/services.js'), import('../shared/sync/queueWorkers.js')]);
  const services = getServices();
  const companyId = messageCompanyId(message);
  const company = await services.companyOf(companyId);
  if (!company) {
    context.warn(`customer-sync: dropped a message of company ${companyId ?? '(none)'}, which is not configured (BC_COMPANIES)`);
    return;
  }
  await handleSyncMessage({ ...company.syncDependencies(context), hold: company.holdDependencies() }, message, {
    dequeueCount: Number(context.triggerMetadata?.dequeueCount ?? 1),
  });
}

app.storageQueue('syncWorker', {
  queueName: SYNC_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: syncWorker,
});
