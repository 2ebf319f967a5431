import { app, type InvocationContext } from '@azure/functions';
import { getServices } from '../shared/services';
import { POISON_QUEUE } from '../shared/messages';
import { handlePoisonMessage } from '../shared/sync/queueMessages';
import { effectiveMaxDequeueCount } from '../shared/hostJson';

/** How many deliveries a message had before it landed here: the host's effective maxDequeueCount, read once. */
let maxDequeueCount: number | undefined;

/** Records every message that exhausted its retries as a `RetriesExhausted` transfer and schedules its automatic retry. */
export async function poisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  const { storage, retries } = getServices();
  await handlePoisonMessage({ transfers: storage.transfers, logger: context, retries }, message, (maxDequeueCount ??= effectiveMaxDequeueCount()));
}

app.storageQueue('poisonWorker', {
  queueName: POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: poisonWorker,
});
