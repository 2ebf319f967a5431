/** Reading a run's report: as it stands while Running, the finished one by id or 'latest', and as CSV. */
import { emptyCounts, reportSchema, type ReconcileReport } from './report';
import { type ReconcileDependencies, type RunState, readState } from './runState';

/** The report as it stands: while Running, the counts so far and no items (they are listed once the run completes). */
export function reportFromState(state: RunState): ReconcileReport {
  return {
    runId: state.runId,
    status: state.status,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    counts: { ...state.counts },
    items: [],
    fix: state.fix,
    enqueued: state.enqueued,
    trigger: state.trigger,
    progress: { ...state.progress },
    error: state.error,
    ...(state.companies
      ? {
          companies: state.companies.map((company, at) => ({
            companyId: company.id,
            companyName: company.name,
            counts: { ...(state.companyCounts?.[at] ?? emptyCounts()) },
          })),
        }
      : {}),
  };
}

/** A run's report by id, or the latest run's for 'latest'; null when there is no such run. */
export async function readReport(deps: Pick<ReconcileDependencies, 'runs'>, runId: string): Promise<ReconcileReport | null> {
  const id = runId === 'latest' ? (await deps.runs.readLatest())?.value.runId : runId;
  if (id === undefined) return null;
  const loaded = await readState(deps.runs, id);
  if (!loaded) return null;
  if (loaded.state.status === 'Completed') {
    const text = await deps.runs.readReport(id, 'json');
    if (text !== null) {
      const parsed = reportSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data as ReconcileReport;
    }
  }
  return reportFromState(loaded.state);
}

/** The finished report as CSV, or null when the run is unknown or not completed. */
export async function readReportCsv(deps: Pick<ReconcileDependencies, 'runs'>, runId: string): Promise<string | null> {
  const id = runId === 'latest' ? (await deps.runs.readLatest())?.value.runId : runId;
  return id === undefined ? null : deps.runs.readReport(id, 'csv');
}
