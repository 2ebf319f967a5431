import { app, type InvocationContext } from '@azure/functions';
import { POISON_QUEUE } from '../shared/queueNames';

/** How many deliveries a message had before it landed here: the host's effective maxDequeueCount, read once. */
let maxDequeueCount: number | undefined;

/** Records every message that exhausted its retries as a `RetriesExhausted` transfer (in its company) and schedules its automatic retry. */
export async function poisonWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { handlePoisonMessage, messageCompanyId }, { effectiveMaxDequeueCount }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/queueWorkers.js'),
    import('../shared/hostJson.js'),
  ]);
  const services = getServices();
  // A message of a company no longer configured is still recorded, in the first company's history, so nothing vanishes.
  const company = (await services.companyOf(messageCompanyId(message))) ?? services.companies[0]!;
  await handlePoisonMessage(
    { transfers: company.storage.transfers, logger: company.logger(context), retries: services.retries, company: company.ref },
    message,
    (maxDequeueCount ??= effectiveMaxDequeueCount()),
  );
}

app.storageQueue('poisonWorker', {
  queueName: POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: poisonWorker,
});
