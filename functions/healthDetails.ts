import { app, type HttpResponseInit, type InvocationContext } from '@azure/functions';

/** The health checks one by one, for operators (function key): which part fails and which setting to change, never a value. */
export async function healthDetails(_request: unknown, context: InvocationContext): Promise<HttpResponseInit> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const { checkHealth, httpStatusOf } = await import('../shared/health.js');
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
