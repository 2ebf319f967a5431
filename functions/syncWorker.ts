import { app, type InvocationContext } from '@azure/functions';
import { SYNC_QUEUE } from '../shared/queueNames';

/**
 * Transfers one customer per `customer-sync` message; throws on transient failures so the queue retries.
 * While Business Central or iPaaS.com is on hold the message goes back to the queue with a delay instead.
 */
export async function syncWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handleSyncMessage }] = await Promise.all([import('../shared/services.js'), import('../shared/sync/queueWorkers.js')]);
  const services = getServices();
  await handleSyncMessage({ ...services.syncDependencies(context), hold: services.holdDependencies() }, message, {
    dequeueCount: Number(context.triggerMetadata?.dequeueCount ?? 1),
  });
}

app.storageQueue('syncWorker', {
  queueName: SYNC_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: syncWorker,
});
