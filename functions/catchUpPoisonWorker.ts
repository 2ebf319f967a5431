import { app, type InvocationContext } from '@azure/functions';
import { CATCH_UP_POISON_QUEUE } from '../shared/queueNames';

/** Reads customer-catchup-poison: a catch-up message that failed its deliveries goes back to customer-catchup later. */
export async function catchUpPoisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handleCatchUpPoison }] = await Promise.all([import('../shared/services.js'), import('../shared/sync/catchUp.js')]);
  await handleCatchUpPoison({ catchUpQueue: getServices().storage.catchUpQueue, logger: context }, message);
}

app.storageQueue('catchUpPoisonWorker', {
  queueName: CATCH_UP_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: catchUpPoisonWorker,
});
