import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError, isTransient } from '../shared/errors';
import { apiError, unavailable } from '../shared/http/apiErrors';

/** A run id as the reconciliation makes them (20261127T101500Z-3f9a1c). */
const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/u;

/**
 * A reconciliation report by run id, or the latest run's: 200 with the report (`status` Running while it runs).
 * `?format=csv` answers the finished report as CSV.
 */
export async function reconciliationReportHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = request.params.runId ?? '';
  if (runId !== 'latest' && !RUN_ID.test(runId)) return apiError('InvalidParameter', 'runId must be a run id such as 20261127T101500Z-3f9a1c, or "latest"');
  const format = request.query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') return apiError('InvalidParameter', 'format must be json or csv');
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { readReport, readReportCsv }] = await Promise.all([import('../shared/services.js'), import('../shared/reconcile/reportReading.js')]);
  try {
    const { storage } = getServices();
    const deps = { runs: storage.reconciliations };
    const report = await readReport(deps, runId);
    if (!report) return apiError('NotFound', runId === 'latest' ? 'No reconciliation has run yet; start one with POST /api/reconciliations' : `No reconciliation ${runId}`);
    if (format === 'csv') {
      const csv = report.status === 'Completed' ? await readReportCsv(deps, report.runId) : null;
      if (csv === null) return apiError('ReportNotReady', `Reconciliation ${report.runId} is ${report.status}; its CSV exists once it has completed`);
      return { status: 200, body: csv, headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="reconciliation-${report.runId}.csv"` } };
    }
    return { status: 200, jsonBody: report };
  } catch (failure) {
    context.error(`reconcile: could not read the report: ${describeError(failure)}`);
    return isTransient(failure) ? unavailable('StorageUnavailable', 'Storage is unavailable; try again later') : apiError('InternalError', describeError(failure));
  }
}

app.http('reconciliationReport', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'reconciliations/{runId}',
  handler: reconciliationReportHttp,
});
