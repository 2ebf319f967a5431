import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { TRANSFER_STATUSES } from '../shared/storage/types';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** Recent transfers across customers, newest first, optionally of one status. */
export async function recentTransfers(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const rawStatus = request.query.get('status')?.trim() || null;
  // Case-insensitive, answered in the contract's spelling.
  const status = rawStatus === null ? undefined : TRANSFER_STATUSES.find((candidate) => candidate.toLowerCase() === rawStatus.toLowerCase());
  if (rawStatus !== null && !status) return { status: 400, jsonBody: { error: `status must be one of ${TRANSFER_STATUSES.join(', ')}` } };
  const rawLimit = request.query.get('limit');
  const limit = rawLimit === null ? DEFAULT_LIMIT : /^\d{1,4}$/u.test(rawLimit.trim()) ? Number(rawLimit.trim()) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return { status: 400, jsonBody: { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` } };
  try {
    // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
    const { getServices } = await import('../shared/services.js');
    const transfers = await getServices().storage.transfers.listRecent({ limit, ...(status ? { status } : {}) });
    return { status: 200, jsonBody: { transfers } };
  } catch (failure) {
    context.error(`transfers: ${describeError(failure)}`);
    return { status: 503, jsonBody: { error: 'The transfer history is unavailable; try again later' }, headers: { 'Retry-After': '30' } };
  }
}

app.http('transfers', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'transfers',
  handler: recentTransfers,
});
