import { randomUUID } from 'node:crypto';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { readLimitedBody } from '../shared/http/body';
import { apiError, loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';

/** Business Central's tokens are short; a longer one is not a genuine handshake. */
export const MAX_VALIDATION_TOKEN_LENGTH = 1024;
/** A full notification (1,000 entries) is about 400 KB. */
export const MAX_NOTIFICATION_BYTES = 1024 * 1024;

/**
 * Business Central webhook: the subscription handshake, then notifications turned into queue messages.
 * Business Central deletes a subscription on any 4xx but 408/429, so only non-genuine traffic gets
 * one; a failure to enqueue is a 503 so it delivers again. Nothing here calls Business Central.
 */
export async function businessCentralWebhook(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const validationToken = request.query.get('validationToken');
  // Answered before anything else: Business Central waits on it while our create/renew request is in flight.
  if (validationToken !== null) {
    if (validationToken.length > MAX_VALIDATION_TOKEN_LENGTH) return apiError('InvalidParameter', `validationToken is longer than ${MAX_VALIDATION_TOKEN_LENGTH} characters`);
    return {
      status: 200,
      body: validationToken,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' },
    };
  }
  if (request.method !== 'POST') return apiError('InvalidParameter', 'GET serves only the subscription handshake (?validationToken=...)');

  const text = await readLimitedBody(request, MAX_NOTIFICATION_BYTES);
  if (text === null) return apiError('BodyTooLarge', `The notification is larger than ${MAX_NOTIFICATION_BYTES} bytes`);
  let body: unknown;
  try {
    // A UTF-8 byte order mark is legal before JSON in transit; a 400 for it would cost us the subscription.
    body = JSON.parse(text.replace(/^\uFEFF/u, ''));
  } catch {
    return apiError('InvalidBody', 'The body is not valid JSON');
  }

  // Modules beyond the registration load on the first notification (docs/performance.md, cold start).
  const [{ getServices }, { ingestCompanyNotifications }, { planCompanyNotifications }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/ingest.js'),
    import('../shared/sync/notifications.js'),
  ]);
  const loaded = loadOrNotConfigured(getServices, context, 'webhook');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  // One URL serves every company's subscription: entries are routed by the company in their resource.
  const plan = planCompanyNotifications(body, { clientState: services.config.webhook.clientState, companyIds: services.companies.map((company) => company.ref.id) });
  if (plan.outcome === 'unauthorized') {
    context.warn('webhook: rejected a notification whose clientState does not match (nothing enqueued)');
    return apiError('ClientStateMismatch', 'clientState does not match');
  }
  if (plan.outcome === 'invalid') {
    context.warn(`webhook: rejected a malformed notification: ${plan.reason}`);
    return apiError('InvalidBody', plan.reason);
  }
  const correlationId = correlationIdOf(request);
  try {
    const result = await ingestCompanyNotifications(
      {
        syncQueue: services.storage.syncQueue,
        catchUpQueue: services.storage.catchUpQueue,
        logger: context,
        clock: services.clock,
        companies: services.companies.map((company) => ({ ref: company.ref, transfers: company.storage.transfers, logger: company.logger(context) })),
        multiCompany: services.multiCompany,
      },
      plan,
      { correlationId },
    );
    return { status: 202, jsonBody: { ...result, correlationId } };
  } catch (failure) {
    context.error(`webhook: could not enqueue the notification, answering 503 so Business Central retries: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The notification could not be stored; deliver it again later', 60);
  }
}

/** Business Central's correlation id ties our logs and messages to its delivery; anything odd is replaced. */
function correlationIdOf(request: HttpRequest): string {
  const candidate = request.headers.get('x-ms-correlation-id') ?? request.headers.get('clientrequestid') ?? '';
  return /^[A-Za-z0-9._:-]{1,100}$/u.test(candidate) ? candidate : randomUUID();
}

app.http('businessCentralWebhook', {
  methods: ['POST', 'GET'],
  authLevel: 'anonymous',
  route: 'webhooks/business-central',
  handler: businessCentralWebhook,
});
