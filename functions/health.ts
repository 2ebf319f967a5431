import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { apiError } from '../shared/http/apiErrors';

/**
 * Anonymous liveness for load balancers and uptime probes: `{ "status": "ok" | "degraded" | "down" }` and
 * nothing else (no setting or part names). The details are behind a function key: GET /api/health/details.
 */
export async function health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // The deep checks call Business Central, iPaaS.com and the webhook: only with a function key.
  if (request.query.has('deep')) return apiError('InvalidParameter', 'deep checks need a function key: GET /api/health/details?deep=true');
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const { checkHealth, httpStatusOf } = await import('../shared/health.js');
  const report = await checkHealth(process.env);
  if (report.status !== 'ok') {
    context.warn(`health: ${report.status}: ${report.checks.filter((check) => check.status !== 'ok').map((check) => `${check.name}: ${check.message ?? check.status}`).join(' | ')}`);
  }
  return { status: httpStatusOf(report.status), jsonBody: { status: report.status }, headers: { 'Cache-Control': 'no-store' } };
}

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: health,
});
