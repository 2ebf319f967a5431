import { app, type InvocationContext } from '@azure/functions';
import { describeError, isTransient } from '../shared/errors';
import { CATCH_UP_QUEUE } from '../shared/queueNames';

/** Fans out a large notification, pages a `collection` resource, or runs a catch-up poll, enqueuing customer-sync messages. Throws to retry. */
export async function catchUpWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { catchUpMessageSchema, expandCustomerBatch, runCollectionCatchUp }, { pollChanges }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/catchUp.js'),
    import('../shared/sync/pollChanges.js'),
  ]);
  const parsed = catchUpMessageSchema.safeParse(message);
  if (!parsed.success) {
    // Retrying cannot fix it; the next poll covers whatever it was about.
    context.warn(`catch-up: dropped an invalid message: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ')}`);
    return;
  }
  const services = getServices();
  const { storage } = services;
  if (parsed.data.kind === 'customers') {
    const result = await expandCustomerBatch({ syncQueue: storage.syncQueue, transfers: storage.transfers }, parsed.data);
    context.info(`catch-up: large notification batch: ${result.enqueued} enqueued, ${result.deleted} deletions recorded`);
    return;
  }
  if (parsed.data.kind === 'collection') {
    try {
      const result = await runCollectionCatchUp({ businessCentral: services.businessCentral, syncQueue: storage.syncQueue, logger: context }, parsed.data);
      context.info(`catch-up: ${result.pages} pages, ${result.enqueued} customers enqueued`);
    } catch (failure) {
      if (isTransient(failure)) throw failure;
      // E.g. a collection resource the client refuses; the scheduled poll covers the same changes.
      context.error(`catch-up: gave up on a collection (not retryable), the next poll covers it: ${describeError(failure)}`);
    }
    return;
  }
  context.info(`catch-up poll requested: ${parsed.data.reason}`);
  await pollChanges({
    businessCentral: services.businessCentral,
    syncQueue: storage.syncQueue,
    leases: storage.leases,
    state: storage.state,
    logger: context,
    startFrom: services.config.poll.startFrom,
    overlapMs: services.config.poll.overlapMs,
  });
}

app.storageQueue('catchUpWorker', {
  queueName: CATCH_UP_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: catchUpWorker,
});
