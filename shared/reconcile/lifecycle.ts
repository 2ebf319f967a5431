/**
 * A run's life: started (one at a time; an abandoned one no longer blocks), advanced from its last checkpoint step by
 * step (within a time budget, waiting out outages when queue-driven), cancelled by an operator.
 */
import { dateOf, isoNow, systemClock } from '../clock';
import { describeError, isTransient } from '../errors';
import { emptyCounts, type ReconcileReport, type ReconcileTrigger } from './report';
import { DEFAULT_STALE_AFTER_MS, FIRST_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS, MAX_TRANSIENT_FAILURES, type ReconcileDependencies, type RunState, newRunId, readState } from './runState';
import { type Memo, step } from './steps';
import { readReport, reportFromState } from './reportReading';
import { runEventLine } from './runTelemetry';

export type StartResult = { started: true; runId: string; report: ReconcileReport } | { started: false; runningRunId: string };

/**
 * Starts a run unless one is running (one at a time): writes its first checkpoint and makes it the latest.
 * A Running run without a checkpoint for `staleAfterMs` is marked Failed (abandoned) and no longer blocks.
 * The caller then advances it (in-process, or through the reconcile queue).
 */
export async function startReconciliation(
  deps: ReconcileDependencies,
  options: { fix: boolean; trigger: ReconcileTrigger; companies?: ReadonlyArray<{ id: string; name: string }> },
): Promise<StartResult> {
  const clock = (): Date => dateOf(deps.clock ?? systemClock);
  const latest = await deps.runs.readLatest();
  if (latest) {
    const current = await readState(deps.runs, latest.value.runId);
    if (current && current.state.status === 'Running') {
      const idleMs = clock().getTime() - Date.parse(current.state.updatedAt);
      if (idleMs < (deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS)) return { started: false, runningRunId: current.state.runId };
      const abandoned: RunState = {
        ...current.state,
        status: 'Failed',
        finishedAt: clock().toISOString(),
        updatedAt: clock().toISOString(),
        error: `Abandoned: no progress for ${Math.round(idleMs / 60_000)} minutes`,
      };
      await deps.runs.writeState(abandoned.runId, abandoned, current.etag);
      deps.logger.warn(`reconcile: run ${abandoned.runId} made no progress for ${Math.round(idleMs / 60_000)} minutes; marked Failed`);
    }
  }
  const now = clock();
  const runId = newRunId(now);
  const state: RunState = {
    version: 1,
    runId,
    status: 'Running',
    trigger: options.trigger,
    fix: options.fix,
    startedAt: now.toISOString(),
    finishedAt: null,
    updatedAt: now.toISOString(),
    enqueued: 0,
    error: null,
    transientFailures: 0,
    counts: emptyCounts(),
    progress: { phase: 'ipaas', ipaasPagesRead: 0, ipaasTotalPages: null, ipaasCustomers: 0, businessCentralPagesRead: 0, businessCentralCustomers: 0 },
    cursor: { ipaasNextPage: 1, ipaasTotalPages: null, ipaasParts: 0, businessCentralNextLink: null, businessCentralParts: 0 },
    ...(options.companies && options.companies.length > 0
      ? {
          companies: options.companies.map((company) => ({ id: company.id, name: company.name })),
          companyIndex: 0,
          companyFirstIpaasPart: 0,
          companyCounts: options.companies.map(() => emptyCounts()),
        }
      : {}),
  };
  await deps.runs.writeState(runId, state, null);
  if (!(await deps.runs.writeLatest(runId, latest?.etag ?? null))) {
    // Another start won the race: this run never becomes the latest and is closed at once.
    await deps.runs.writeState(runId, { ...state, status: 'Failed', finishedAt: now.toISOString(), error: 'Not started: another run started at the same moment' }, null);
    const winner = await deps.runs.readLatest();
    return { started: false, runningRunId: winner?.value.runId ?? runId };
  }
  deps.logger.info(
    `reconcile: run ${runId} started (${options.trigger}${options.fix ? ', fix' : ''}${state.companies ? `, ${state.companies.map((company) => company.name).join(', ')}` : ''})`,
  );
  return { started: true, runId, report: reportFromState(state) };
}

export interface AdvanceOptions {
  /** Stop after the step that ends past this many milliseconds (a function's time budget); default no limit. */
  budgetMs?: number;
  /** Called after every checkpoint. */
  onProgress?: (report: ReconcileReport) => void;
  /**
   * A transient failure (an outage, throttling) of either service or storage: true (the queue-driven run) keeps
   * the checkpoint and asks to be called again after `retryAfterMs`; false (the command) fails the run.
   */
  retryTransient?: boolean;
  /** Stop after this many steps (tests simulate an interruption with it). */
  maxSteps?: number;
  /** Checked after every checkpoint: true stops (Ctrl-C in the command). */
  shouldStop?: () => boolean;
}

export type AdvanceResult =
  | { outcome: 'completed' | 'failed' | 'notRunning'; report: ReconcileReport }
  | { outcome: 'continue'; report: ReconcileReport }
  | { outcome: 'retry'; report: ReconcileReport; retryAfterMs: number }
  | { outcome: 'superseded'; report: ReconcileReport }
  | { outcome: 'notFound' };

/**
 * Moves a run forward from its last checkpoint, step by step, writing a checkpoint after each: iPaaS.com's
 * customer list (pages, read concurrently), then Business Central's customers page by page (each customer
 * compared and counted; with `fix` the Missing and Drifted ones enqueued with source `reconcile`), then the
 * report. Any step can be interrupted (timeout, crash, redelivery): the next call repeats at most that step.
 * Checkpoints are written under an ETag condition, so two workers never advance one run twice.
 */
export async function advanceReconciliation(deps: ReconcileDependencies, runId: string, options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const clock = (): Date => dateOf(deps.clock ?? systemClock);
  const loaded = await readState(deps.runs, runId);
  if (!loaded) return { outcome: 'notFound' };
  let { state, etag } = loaded;
  if (state.status !== 'Running') return { outcome: 'notRunning', report: await readReport(deps, runId).then((report) => report ?? reportFromState(state)) };
  const began = (deps.clock ?? systemClock).now();
  const memo: Memo = {};
  let steps = 0;
  for (;;) {
    const before = structuredClone(state);
    let report: ReconcileReport | undefined;
    try {
      report = await step(deps, state, memo, clock);
      state.updatedAt = clock().toISOString();
      state.error = null;
      state.transientFailures = 0;
    } catch (error) {
      state = before;
      const message = describeError(error);
      if (options.retryTransient && isTransient(error) && state.transientFailures < MAX_TRANSIENT_FAILURES) {
        state.transientFailures += 1;
        state.error = `Waiting to retry: ${message}`;
        state.updatedAt = clock().toISOString();
        const saved = await deps.runs.writeState(runId, state, etag);
        if (saved === null) return { outcome: 'superseded', report: reportFromState(state) };
        const retryAfterMs = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (state.transientFailures - 1));
        deps.logger.warn(`reconcile: run ${runId} paused after a transient failure (${state.transientFailures} in a row), retrying in ${Math.round(retryAfterMs / 1000)} s: ${message}`);
        return { outcome: 'retry', report: reportFromState(state), retryAfterMs };
      }
      state.status = 'Failed';
      state.error = message;
      state.finishedAt = clock().toISOString();
      state.updatedAt = state.finishedAt;
      const saved = await deps.runs.writeState(runId, state, etag);
      if (saved === null) return { outcome: 'superseded', report: reportFromState(state) };
      deps.logger.error(`reconcile: run ${runId} failed: ${message}`);
      deps.logger.warn(runEventLine(state));
      return { outcome: 'failed', report: reportFromState(state) };
    }
    const saved = await deps.runs.writeState(runId, state, etag);
    if (saved === null) {
      deps.logger.warn(`reconcile: run ${runId} was advanced elsewhere meanwhile; this worker stops`);
      return { outcome: 'superseded', report: reportFromState(state) };
    }
    etag = saved;
    steps += 1;
    const current = report ?? reportFromState(state);
    options.onProgress?.(current);
    if ((state.status as RunState['status']) === 'Completed') {
      deps.logger.info(runEventLine(state));
      await deps.runs.deleteParts(runId).catch((error: unknown) => deps.logger.warn(`reconcile: could not delete the parts of run ${runId}: ${describeError(error)}`));
      return { outcome: 'completed', report: current };
    }
    if (options.maxSteps !== undefined && steps >= options.maxSteps) return { outcome: 'continue', report: current };
    if (options.shouldStop?.()) return { outcome: 'continue', report: current };
    if (options.budgetMs !== undefined && (deps.clock ?? systemClock).now() - began >= options.budgetMs) return { outcome: 'continue', report: current };
  }
}

/** Ends a Running run as Failed with `reason` (an operator stopped it); false when it was no longer Running. */
export async function cancelReconciliation(deps: Pick<ReconcileDependencies, 'runs' | 'clock'>, runId: string, reason: string): Promise<boolean> {
  const loaded = await readState(deps.runs, runId);
  if (!loaded || loaded.state.status !== 'Running') return false;
  const now = isoNow(deps.clock ?? systemClock);
  const state: RunState = { ...loaded.state, status: 'Failed', finishedAt: now, updatedAt: now, error: reason };
  return (await deps.runs.writeState(runId, state, loaded.etag)) !== null;
}
