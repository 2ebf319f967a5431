import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { isGuid, normalizeGuid } from '../shared/guid';
import { apiError, unavailable } from '../shared/http/apiErrors';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** The transfer history of one customer, newest first. */
export async function customerTransfers(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const customerId = normalizeGuid(request.params.id ?? '');
  if (!isGuid(customerId)) return apiError('InvalidCustomerId', 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  const rawLimit = request.query.get('limit');
  const limit = rawLimit === null ? DEFAULT_LIMIT : /^\d{1,4}$/u.test(rawLimit.trim()) ? Number(rawLimit.trim()) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return apiError('InvalidParameter', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  try {
    // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
    const { getServices } = await import('../shared/services.js');
    const transfers = await getServices().storage.transfers.listForCustomer(customerId, limit);
    return { status: 200, jsonBody: { customerId, transfers } };
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
