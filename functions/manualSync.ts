import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { isGuid, normalizeGuid } from '../shared/guid';
import { apiError, unavailable } from '../shared/http/apiErrors';

/** Manual transfer by Business Central id (the seed's "Microsoft Dynamics 365 Customer ID"); `?dryRun=true` plans only. */
export async function manualSync(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const raw = request.params.id ?? '';
  const customerId = normalizeGuid(raw);
  // Checked here, not with a {id:guid} route constraint: a malformed id is a 400 (README, HTTP API), not a 404.
  if (!isGuid(customerId)) return apiError('InvalidCustomerId', 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { dryRunSync, INVALID_DRY_RUN, parseDryRunFlag }, { enqueueManualSync }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/dryRun.js'),
    import('../shared/sync/ingest.js'),
  ]);
  const dryRun = parseDryRunFlag(request.query.get('dryRun'));
  if (dryRun === 'invalid') return INVALID_DRY_RUN();
  if (dryRun) {
    const reply = await dryRunSync(getServices().syncDependencies(context), customerId);
    if (reply.status !== 200) context.warn(`dry run of customer ${customerId}: answered ${reply.status}`);
    return reply;
  }
  const correlationId = context.invocationId;
  try {
    await enqueueManualSync(getServices().storage.syncQueue, customerId, correlationId);
  } catch (failure) {
    context.error(`manual sync: could not enqueue customer ${customerId}: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The request could not be queued; try again later');
  }
  context.info(`manual sync queued for customer ${customerId}`);
  // Location points at where the outcome will appear.
  return { status: 202, jsonBody: { customerId, queued: true, correlationId }, headers: { Location: `/api/customers/${customerId}/transfers` } };
}

app.http('manualSync', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'customers/{id}/sync',
  handler: manualSync,
});
