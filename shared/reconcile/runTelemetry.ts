/** The one telemetry line per finished run (`ReconciliationRun {json}`): counts only, no personal data. */
import { type ReconcileCounts } from './report';
import { type RunState } from './runState';

/** `ReconciliationRun {json}`: one telemetry line per finished run, counts only (no personal data). */
export const RECONCILIATION_EVENT = 'ReconciliationRun';

export function runEventLine(state: Pick<RunState, 'runId' | 'status' | 'trigger' | 'fix' | 'enqueued' | 'counts' | 'startedAt' | 'finishedAt' | 'companies'>): string {
  const durationMs = state.finishedAt ? Date.parse(state.finishedAt) - Date.parse(state.startedAt) : null;
  const counts: ReconcileCounts = state.counts;
  return `${RECONCILIATION_EVENT} ${JSON.stringify({
    runId: state.runId,
    status: state.status,
    trigger: state.trigger,
    fix: state.fix,
    enqueued: state.enqueued,
    durationMs,
    ...counts,
    ...(state.companies ? { companies: state.companies.map((company) => company.name).join(', ') } : {}),
  })}`;
}
