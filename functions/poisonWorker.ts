import { app, type InvocationContext } from '@azure/functions';
import { POISON_QUEUE } from '../shared/queueNames';

/** How many deliveries a message had before it landed here: the host's effective maxDequeueCount, read once. */
let maxDequeueCount: number | undefined;

/**
 * Records every message that exhausted its retries as a `RetriesExhausted` transfer, then schedules its automatic
 * retry. While Table Storage fails the message goes back on this queue with a delay instead of failing (which would
 * strand it in customer-sync-poison-poison); it throws only when the queue refuses that too.
 */
export async function poisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handlePoisonMessage }, { effectiveMaxDequeueCount }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/queueWorkers.js'),
    import('../shared/hostJson.js'),
  ]);
  const { storage, retries, clock } = getServices();
  await handlePoisonMessage(
    { transfers: storage.transfers, logger: context, retries, clock, poisonQueue: storage.poisonSender },
    message,
    (maxDequeueCount ??= effectiveMaxDequeueCount()),
  );
}

app.storageQueue('poisonWorker', {
  queueName: POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: poisonWorker,
});
