import { app, type InvocationContext } from '@azure/functions';
import { POISON_QUEUE } from '../shared/queueNames';

/** host.json maxDequeueCount: how many deliveries a message had before it landed here. */
const MAX_DEQUEUE_COUNT = 5;

/** Records every message that exhausted its retries as a `RetriesExhausted` transfer. */
export async function poisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handlePoisonMessage }] = await Promise.all([import('../shared/services.js'), import('../shared/sync/queueWorkers.js')]);
  const { storage } = getServices();
  await handlePoisonMessage({ transfers: storage.transfers, logger: context }, message, MAX_DEQUEUE_COUNT);
}

app.storageQueue('poisonWorker', {
  queueName: POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: poisonWorker,
});
