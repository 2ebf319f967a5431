import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError, SyncError } from '../shared/errors';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';
const MAX_NUMBER_LENGTH = 100;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * GET /api/customers/by-number/{number}/transfers: the transfer history of the Business Central customer with
 * this number (one read in Business Central to resolve the id, then as GET /api/customers/{id}/transfers).
 * Read-only; the operator console's search uses it. Also serves `companies/{company}/customers/by-number/{number}/transfers`;
 * without a company and with several configured it answers 400 CompanyRequired.
 */
export async function customerTransfersByNumber(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const customerNumber = (request.params.number ?? '').trim();
  if (customerNumber.length === 0 || customerNumber.length > MAX_NUMBER_LENGTH) {
    return apiError('InvalidCustomerNumber', `number must have 1 to ${MAX_NUMBER_LENGTH} characters`);
  }
  const rawLimit = request.query.get('limit');
  const limit = rawLimit === null ? DEFAULT_LIMIT : /^\d{1,4}$/u.test(rawLimit.trim()) ? Number(rawLimit.trim()) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return apiError('InvalidParameter', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [routes, { getServices }] = await Promise.all([import('../shared/companyRoutes.js'), import('../shared/services.js')]);
  const loaded = loadOrNotConfigured(getServices, context, 'customer transfers by number');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  const named = request.params.company;
  const choice = named !== undefined ? routes.companyFromRoute(services, named) : routes.companyForNumber(services);
  if (!choice.ok) return choice.response;
  const { company } = choice;
  const withCompany = named !== undefined || services.multiCompany;
  try {
    const customer = await company.businessCentral.findCustomerByNumber(customerNumber);
    if (!customer) return apiError('CustomerNotFound', `No Business Central customer has this number${withCompany ? ` in ${company.ref.name}` : ''}`);
    const transfers = await company.storage.transfers.listForCustomer(customer.id, limit);
    return { status: 200, jsonBody: { customerId: customer.id, ...(withCompany ? routes.companyReply(company) : {}), customerNumber: customer.number, transfers } };
  } catch (failure) {
    context.error(`customer transfers by number: ${describeError(failure)}`);
    const transient = !(failure instanceof SyncError) || failure.transient;
    return transient
      ? unavailable('BusinessCentralUnavailable', 'Business Central or storage is unavailable; try again later')
      : apiError('BusinessCentralRejected', `Business Central rejected the lookup: ${describeError(failure)}`);
  }
}

app.http('customerTransfersByNumber', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'customers/by-number/{number}/transfers',
  handler: customerTransfersByNumber,
});
