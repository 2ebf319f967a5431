import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { apiError, unavailable } from '../shared/http/apiErrors';
import { TRANSFER_STATUSES, type TransferCursor } from '../shared/storage/types';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * Recent transfers across customers (and companies), newest first, optionally of one status and of one company
 * (`company`: GUID or configured name). A full page carries `nextLink` (the same query plus
 * `continuationToken`); the last page has `nextLink: null`.
 */
export async function recentTransfers(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const rawStatus = request.query.get('status')?.trim() || null;
  // Case-insensitive, answered in the documented spelling.
  const status = rawStatus === null ? undefined : TRANSFER_STATUSES.find((candidate) => candidate.toLowerCase() === rawStatus.toLowerCase());
  if (rawStatus !== null && !status) return apiError('InvalidParameter', `status must be one of ${TRANSFER_STATUSES.join(', ')}`);
  const rawLimit = request.query.get('limit');
  const limit = rawLimit === null ? DEFAULT_LIMIT : /^\d{1,4}$/u.test(rawLimit.trim()) ? Number(rawLimit.trim()) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return apiError('InvalidParameter', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { decodeTransferCursor, encodeTransferCursor }, { companyFromRoute }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/storage/transferStore.js'),
    import('../shared/companyRoutes.js'),
  ]);
  const token = request.query.get('continuationToken');
  let after: TransferCursor | undefined;
  if (token !== null) {
    const cursor = decodeTransferCursor(token.trim());
    if (!cursor) return apiError('InvalidContinuationToken', 'continuationToken is not one this service issued; start again without it');
    after = cursor;
  }
  const rawCompany = request.query.get('company');
  try {
    const services = getServices();
    let company;
    if (rawCompany !== null) {
      const choice = companyFromRoute(services, rawCompany);
      if (!choice.ok) return choice.response;
      company = choice.company;
    }
    const page = await services.storage.transfers.listRecentPage({
      limit,
      ...(status ? { status } : {}),
      ...(after ? { after } : {}),
      ...(company ? { company: company.storage.company } : {}),
    });
    const nextLink = page.next ? nextLinkOf(limit, status, encodeTransferCursor(page.next), company?.ref.id) : null;
    return { status: 200, jsonBody: { transfers: page.transfers, nextLink } };
  } catch (failure) {
    context.error(`transfers: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The transfer history is unavailable; try again later');
  }
}

/** Relative to the host, like the Location headers of the other routes. */
function nextLinkOf(limit: number, status: string | undefined, continuationToken: string, companyId: string | undefined): string {
  const query = new URLSearchParams({ limit: String(limit), ...(status ? { status } : {}), ...(companyId ? { company: companyId } : {}), continuationToken });
  return `/api/transfers?${query.toString()}`;
}

app.http('transfers', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'transfers',
  handler: recentTransfers,
});
