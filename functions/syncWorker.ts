import { app, type InvocationContext } from '@azure/functions';
import { getServices } from '../shared/services';
import { SYNC_QUEUE } from '../shared/messages';
import { handleSyncMessage } from '../shared/sync/queueMessages';

/**
 * Transfers one customer per `customer-sync` message; throws on transient failures so the queue retries.
 * While Business Central or iPaaS.com is on hold the message goes back to the queue with a delay instead.
 */
export async function syncWorker(message: unknown, context: InvocationContext): Promise<void> {
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
