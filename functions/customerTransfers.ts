import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { isGuid, normalizeGuid } from '../shared/guid';
import { apiError, unavailable } from '../shared/http/apiErrors';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * The transfer history of one customer, newest first. Also serves `companies/{company}/customers/{id}/transfers`;
 * without a company and with several configured, the customer's history is looked for in every company.
 */
export async function customerTransfers(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const customerId = normalizeGuid(request.params.id ?? '');
  if (!isGuid(customerId)) return apiError('InvalidCustomerId', 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  const rawLimit = request.query.get('limit');
  const limit = rawLimit === null ? DEFAULT_LIMIT : /^\d{1,4}$/u.test(rawLimit.trim()) ? Number(rawLimit.trim()) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return apiError('InvalidParameter', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  try {
    // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
    const [{ getServices }, routes] = await Promise.all([import('../shared/services.js'), import('../shared/companyRoutes.js')]);
    const services = getServices();
    const named = request.params.company;
    const choice = named !== undefined ? routes.companyFromRoute(services, named) : await routes.companyForHistory(services, customerId);
    if (!choice.ok) return choice.response;
    const transfers = await choice.company.storage.transfers.listForCustomer(customerId, limit);
    const withCompany = named !== undefined || services.multiCompany;
    return { status: 200, jsonBody: { customerId, ...(withCompany ? routes.companyReply(choice.company) : {}), transfers } };
  } catch (failure) {
    context.error(`customer transfers: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The transfer history is unavailable; try again later');
  }
}

app.http('customerTransfers', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'customers/{id}/transfers',
  handler: customerTransfers,
});
