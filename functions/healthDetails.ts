import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { apiError } from '../shared/http/apiErrors';

/**
 * The health checks one by one, for operators (function key): which part fails and which setting to change, never a value.
 * `?deep=true` runs the doctor's read-only checks against Business Central, Entra ID, iPaaS.com, the webhook and
 * storage (as `npm run doctor`): `{ status, checks: [{ id, title, status, detail, fix }] }`, 503 when one fails.
 */
export async function healthDetails(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const deep = request.query.get('deep');
  if (deep !== null && !['true', 'false', '1', '0', ''].includes(deep.trim().toLowerCase())) {
    return apiError('InvalidParameter', 'deep must be true or false');
  }
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const { checkHealth, httpStatusOf } = await import('../shared/health.js');
  if (deep !== null && ['true', '1', ''].includes(deep.trim().toLowerCase())) {
    const { runDoctor } = await import('../shared/doctor/doctor.js');
    const report = await runDoctor(process.env);
    const status = !report.ok ? 'down' : report.checks.some((check) => check.status === 'warn') ? 'degraded' : 'ok';
    if (status !== 'ok') context.warn(`health details (deep): ${status}: ${report.checks.filter((check) => check.status === 'fail' || check.status === 'warn').map((check) => check.id).join(', ')}`);
    return { status: httpStatusOf(status), jsonBody: { status, checks: report.checks }, headers: { 'Cache-Control': 'no-store' } };
  }
  const report = await checkHealth(process.env);
  if (report.status !== 'ok') context.warn(`health details: ${report.status}`);
  return { status: httpStatusOf(report.status), jsonBody: report, headers: { 'Cache-Control': 'no-store' } };
}

app.http('healthDetails', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health/details',
  handler: healthDetails,
});
