import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError, SyncError } from '../shared/errors';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';
/** Longer than any Business Central customer number (Code[20]) with room; anything beyond is not a number. */
const MAX_NUMBER_LENGTH = 100;

/**
 * Manual transfer by Business Central customer number: resolves the id, then queues as by id (or, `?dryRun=true`,
 * plans only). Also serves `companies/{company}/customers/by-number/{number}/sync`; without a company and with
 * several configured it answers 400 CompanyRequired (numbers repeat across companies).
 */
export async function manualSyncByNumber(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const customerNumber = (request.params.number ?? '').trim();
  if (customerNumber.length === 0 || customerNumber.length > MAX_NUMBER_LENGTH) {
    return apiError('InvalidCustomerNumber', `number must have 1 to ${MAX_NUMBER_LENGTH} characters`);
  }
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { companyDryRun, INVALID_DRY_RUN, parseDryRunFlag }, { enqueueManualSync }, routes] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/dryRun.js'),
    import('../shared/sync/ingest.js'),
    import('../shared/companyRoutes.js'),
  ]);
  const dryRun = parseDryRunFlag(request.query.get('dryRun'));
  if (dryRun === 'invalid') return INVALID_DRY_RUN();
  const loaded = loadOrNotConfigured(getServices, context, 'manual sync by number');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  const named = request.params.company;
  const choice = named !== undefined ? routes.companyFromRoute(services, named) : routes.companyForNumber(services);
  if (!choice.ok) return choice.response;
  const { company } = choice;
  const withCompany = named !== undefined || services.multiCompany;
  const correlationId = context.invocationId;
  let customerId: string;
  try {
    // The client escapes the number as an OData literal, so quotes in it cannot widen the filter.
    const customer = await company.businessCentral.findCustomerByNumber(customerNumber);
    if (!customer) return apiError('CustomerNotFound', `No Business Central customer has this number${withCompany ? ` in ${company.ref.name}` : ''}`);
    customerId = customer.id;
    if (dryRun) {
      return await companyDryRun(company, context, customerId, withCompany);
    }
    await enqueueManualSync(services.storage.syncQueue, customerId, correlationId, company.ref.id, services.clock);
  } catch (failure) {
    context.error(`manual sync by number: ${describeError(failure)}`);
    const transient = !(failure instanceof SyncError) || failure.transient;
    return transient
      ? unavailable('BusinessCentralUnavailable', 'Business Central or storage is unavailable; try again later')
      : apiError('BusinessCentralRejected', `Business Central rejected the lookup: ${describeError(failure)}`);
  }
  company.logger(context).info(`manual sync queued for customer ${customerId} (by number)`);
  // Location points at where the outcome will appear.
  return routes.queuedReply(customerId, company, withCompany, correlationId);
}

app.http('manualSyncByNumber', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'customers/by-number/{number}/sync',
  handler: manualSyncByNumber,
});
