import { app, type InvocationContext } from '@azure/functions';
import { POISON_QUEUE } from '../shared/queueNames';

/** How many deliveries a message had before it landed here: the host's effective maxDequeueCount, read once. */
let maxDequeueCount: number | undefined;

/**
 * Records every message that exhausted its retries as a `RetriesExhausted` transfer (in its company), then schedules
 * its automatic retry. While Table Storage fails the message goes back on this queue with a delay instead of failing
 * (which would strand it in customer-sync-poison-poison); it throws only when the queue refuses that too.
 */
export async function poisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { deferPoisonMessage, handlePoisonMessage, messageCompanyId }, { effectiveMaxDequeueCount }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/queueWorkers.js'),
    import('../shared/hostJson.js'),
  ]);
  const services = getServices();
  // A message of a company no longer configured is still recorded, in the first company's history, so nothing vanishes.
  let company;
  try {
    company = (await services.companyOf(messageCompanyId(message))) ?? services.companies[0]!;
  } catch (error) {
    // Which company owns the keys is read from Table Storage once per process: while it is down, later.
    await deferPoisonMessage({ logger: context }, services.storage.poisonSender, message, error);
    return;
  }
  await handlePoisonMessage(
    {
      transfers: company.storage.transfers,
      logger: company.logger(context),
      retries: services.retries,
      company: company.ref,
      clock: services.clock,
      poisonQueue: services.storage.poisonSender,
    },
    message,
    (maxDequeueCount ??= effectiveMaxDequeueCount()),
  );
}

app.storageQueue('poisonWorker', {
  queueName: POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: poisonWorker,
});
