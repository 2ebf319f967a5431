import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError, isTransient } from '../shared/errors';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';
import { readLimitedBody } from '../shared/http/body';
const MAX_BODY_BYTES = 4 * 1024;

/** `{}`, `{ "fix": boolean }` and/or `{ "company": "<GUID or name>" }`; null for anything else. */
function parseBody(body: unknown): { fix: boolean; company?: string } | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const entries = Object.entries(body);
  const valid = ([key, value]: [string, unknown]) =>
    (key === 'fix' && typeof value === 'boolean') || (key === 'company' && typeof value === 'string' && value.trim() !== '' && value.length <= 200);
  if (!entries.every(valid)) return null;
  const { fix, company } = body as { fix?: boolean; company?: string };
  return { fix: fix ?? false, ...(company ? { company } : {}) };
}

/**
 * Starts a reconciliation run in the background: 202 `{ runId }` + Location; 409 while another run is running.
 * With several companies it covers every company (or the one named by `company`), with counts per company.
 */
export async function startReconciliationHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const text = await readLimitedBody(request, MAX_BODY_BYTES);
  if (text === null) return apiError('BodyTooLarge', `The body is larger than ${MAX_BODY_BYTES} bytes; send {} or {"fix":true}`);
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      return apiError('InvalidBody', 'The body is not valid JSON; send {} or {"fix":true}');
    }
  }
  const parsed = parseBody(body);
  if (!parsed) {
    return apiError('InvalidBody', 'The body must be {} or {"fix": true|false, "company": "<GUID or name>"} (fix enqueues the Missing and Drifted customers; company limits the run to one)');
  }

  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { beginQueuedReconciliation }, { companyFromRoute }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/reconcile/queueRun.js'),
    import('../shared/companyRoutes.js'),
  ]);
  const loaded = loadOrNotConfigured(getServices, context, 'reconcile');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  let companies = services.multiCompany ? services.companies : undefined;
  if (parsed.company !== undefined) {
    const choice = companyFromRoute(services, parsed.company);
    if (!choice.ok) return choice.response;
    companies = [choice.company];
  }
  try {
    const result = await beginQueuedReconciliation(services.reconcileDependencies(context), services.reconcileScheduler, {
      fix: parsed.fix,
      trigger: 'http',
      // With several companies (or one named), the run covers each in turn, counting each.
      ...(companies ? { companies: companies.map((company) => company.ref) } : {}),
    });
    if (!result.started) {
      return apiError('ReconciliationRunning', `Reconciliation ${result.runningRunId} is still running; one runs at a time`, {
        Location: `/api/reconciliations/${result.runningRunId}`,
      });
    }
    return {
      status: 202,
      jsonBody: { runId: result.runId, correlationId: context.invocationId },
      headers: { Location: `/api/reconciliations/${result.runId}` },
    };
  } catch (failure) {
    context.error(`reconcile: could not start: ${describeError(failure)}`);
    return isTransient(failure)
      ? unavailable('StorageUnavailable', 'Storage is unavailable; no run was started. Try again later')
      : apiError('InternalError', `The run could not be started: ${describeError(failure)}`);
  }
}

app.http('startReconciliation', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'reconciliations',
  handler: startReconciliationHttp,
});
