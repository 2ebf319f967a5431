import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError, isTransient } from '../shared/errors';
import { readLimitedBody } from '../shared/http/body';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';

/** 1,000 GUIDs with JSON punctuation are about 40 KB; anything far larger is not a replay request. */
export const MAX_REPLAY_BODY_BYTES = 256 * 1024;


/**
 * Replays failed transfers: `{ "customerIds": [...] }`, `{ "errorCode": "RetriesExhausted" }` or `{ "all": true }`,
 * plus optional `"includePoisonQueue": true`, `"dryRun": true` and `"company"` (GUID or name; default: every
 * company). Answers 202 with what was re-enqueued.
 */
export async function replayTransfersHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const text = await readLimitedBody(request, MAX_REPLAY_BODY_BYTES);
  if (text === null) return apiError('BodyTooLarge', `The body is larger than ${MAX_REPLAY_BODY_BYTES} bytes; send at most 1000 customer ids per call`);
  if (text.trim() === '') return apiError('InvalidBody', 'Send a JSON body: {"customerIds":[...]}, {"errorCode":"RetriesExhausted"} or {"all":true}');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return apiError('InvalidBody', 'The body is not valid JSON');
  }
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { parseReplayRequest, replayTransfers }, { companyFromRoute }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/replay.js'),
    import('../shared/companyRoutes.js'),
  ]);
  const parsed = parseReplayRequest(body);
  if (!parsed.ok) return apiError('InvalidBody', parsed.error);

  const loaded = loadOrNotConfigured(getServices, context, 'replay');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  let company: string | undefined;
  if (parsed.request.company !== undefined) {
    const choice = companyFromRoute(services, parsed.request.company);
    if (!choice.ok) return choice.response;
    company = choice.company.ref.id;
  }
  const correlationId = context.invocationId;
  try {
    const result = await replayTransfers(
      {
        transfers: services.companies[0]!.storage.transfers,
        // With several companies each customer is judged, and replayed, in its own company.
        ...(services.multiCompany
          ? { companies: { ids: services.companies.map((candidate) => candidate.ref.id), transfersOf: (id: string) => services.company(id)?.storage.transfers ?? services.storage.transfers } }
          : {}),
        ...(company ? { company } : {}),
        failedTransfers: services.storage.failedTransfers,
        syncQueue: services.storage.syncQueue,
        poisonQueue: services.storage.poisonQueue,
        logger: context,
        correlationId,
        clock: services.clock,
      },
      parsed.request,
    );
    return { status: 202, jsonBody: { ...result, correlationId }, headers: { Location: '/api/transfers?limit=50' } };
  } catch (failure) {
    context.error(`replay: ${describeError(failure)}`);
    return isTransient(failure)
      ? unavailable('StorageUnavailable', 'Storage is unavailable; nothing or only part was replayed, and replaying again is safe. Try again later')
      : apiError('InternalError', `The replay failed: ${describeError(failure)}`);
  }
}

app.http('replayTransfers', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'transfers/replay',
  handler: replayTransfersHttp,
});
