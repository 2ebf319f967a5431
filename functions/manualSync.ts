import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { isGuid, normalizeGuid } from '../shared/guid';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';
/**
 * Manual transfer by Business Central id (the seed's "Microsoft Dynamics 365 Customer ID"); `?dryRun=true` plans
 * only. Also serves `companies/{company}/customers/{id}/sync` (functions/companyManualSync.ts); without a company
 * and with several configured, the customer is looked up in every company.
 */
export async function manualSync(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const raw = request.params.id ?? '';
  const customerId = normalizeGuid(raw);
  // Checked here, not with a {id:guid} route constraint: a malformed id is a 400 (README, HTTP API), not a 404.
  if (!isGuid(customerId)) return apiError('InvalidCustomerId', 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { companyDryRun, INVALID_DRY_RUN, parseDryRunFlag }, { enqueueManualSync }, routes] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/dryRun.js'),
    import('../shared/sync/ingest.js'),
    import('../shared/companyRoutes.js'),
  ]);
  const dryRun = parseDryRunFlag(request.query.get('dryRun'));
  if (dryRun === 'invalid') return INVALID_DRY_RUN();
  const loaded = loadOrNotConfigured(getServices, context, 'manual sync');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  const named = request.params.company;
  const choice = named !== undefined ? routes.companyFromRoute(services, named) : await routes.companyForCustomerId(services, customerId);
  if (!choice.ok) return choice.response;
  const { company } = choice;
  // Replies name the company when a route named one or several are configured; with one company they are as always.
  const withCompany = named !== undefined || services.multiCompany;
  if (dryRun) {
    return companyDryRun(company, context, customerId, withCompany);
  }
  const correlationId = context.invocationId;
  try {
    await enqueueManualSync(services.storage.syncQueue, customerId, correlationId, company.ref.id, services.clock);
  } catch (failure) {
    context.error(`manual sync: could not enqueue customer ${customerId}: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The request could not be queued; try again later');
  }
  company.logger(context).info(`manual sync queued for customer ${customerId}`);
  // Location points at where the outcome will appear.
  return routes.queuedReply(customerId, company, withCompany, correlationId);
}

app.http('manualSync', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'customers/{id}/sync',
  handler: manualSync,
});
