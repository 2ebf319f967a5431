import { app, type InvocationContext } from '@azure/functions';
import { describeError, isTransient } from '../shared/errors';
import { CATCH_UP_QUEUE } from '../shared/queueNames';

/** Fans out a large notification, pages a `collection` resource, or runs a catch-up poll, enqueuing customer-sync messages. Throws to retry. */
export async function catchUpWorker(message: unknown, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { catchUpMessageSchema, expandCustomerBatch, runCollectionCatchUp }, { combinedFailure, pollCompanies }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/catchUp.js'),
    import('../shared/sync/companyRuns.js'),
  ]);
  const parsed = catchUpMessageSchema.safeParse(message);
  if (!parsed.success) {
    // Retrying cannot fix it; the next poll covers whatever it was about.
    context.warn(`catch-up: dropped an invalid message: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ')}`);
    return;
  }
  const services = getServices();
  const { storage } = services;
  if (parsed.data.kind === 'poll') {
    context.info(`catch-up poll requested: ${parsed.data.reason}`);
    const outcomes = await pollCompanies(
      services.companies.map((company) => company.work(context)),
      { syncQueue: storage.syncQueue, startFrom: services.config.poll.startFrom, overlapMs: services.config.poll.overlapMs, companyId: parsed.data.companyId, clock: services.clock },
    );
    const failure = combinedFailure(outcomes, 'catch-up poll');
    if (failure !== undefined) throw failure;
    return;
  }
  const company = await services.companyOf(parsed.data.companyId);
  if (!company) {
    // A company no longer configured: nothing of it is served any more.
    context.warn(`catch-up: dropped a message of company ${parsed.data.companyId ?? '(none)'}, which is not configured (BC_COMPANIES)`);
    return;
  }
  const logger = company.logger(context);
  if (parsed.data.kind === 'customers') {
    const result = await expandCustomerBatch({ syncQueue: storage.syncQueue, transfers: company.storage.transfers, clock: services.clock }, { ...parsed.data, companyId: company.ref.id });
    logger.info(`catch-up: large notification batch: ${result.enqueued} enqueued, ${result.deleted} deletions recorded`);
    return;
  }
  try {
    const result = await runCollectionCatchUp(
      { businessCentral: company.businessCentral, syncQueue: storage.syncQueue, logger, companyId: company.ref.id, clock: services.clock },
      parsed.data,
    );
    logger.info(`catch-up: ${result.pages} pages, ${result.enqueued} customers enqueued`);
  } catch (failure) {
    if (isTransient(failure)) throw failure;
    // E.g. a collection resource the client refuses; the scheduled poll covers the same changes.
    logger.error(`catch-up: gave up on a collection (not retryable), the next poll covers it: ${describeError(failure)}`);
  }
}

app.storageQueue('catchUpWorker', {
  queueName: CATCH_UP_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: catchUpWorker,
});
