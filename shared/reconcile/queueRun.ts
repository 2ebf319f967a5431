import { describeError } from '../errors';
import type { ReconcileMessage } from '../messages';
import { advanceReconciliation, startReconciliation, type ReconcileDependencies, type StartResult } from './reconcile';
import type { ReconcileTrigger } from './report';

/** Sends a `reconcile` message, visible after `delaySeconds`. */
export type ReconcileScheduler = (message: ReconcileMessage, delaySeconds: number) => Promise<void>;

/** How long one queue-driven invocation works before it hands over to a fresh message (below functionTimeout, 10 min). */
export const STEP_BUDGET_MS = 4 * 60 * 1000;

/**
 * The route's and the timer's start: starts a run and enqueues its first message. When that message cannot be
 * sent the run is closed as Failed at once, so it does not block the next one.
 */
export async function beginQueuedReconciliation(
  deps: ReconcileDependencies,
  schedule: ReconcileScheduler,
  options: { fix: boolean; trigger: ReconcileTrigger; companies?: ReadonlyArray<{ id: string; name: string }> },
): Promise<StartResult> {
  const result = await startReconciliation(deps, options);
  if (!result.started) return result;
  try {
    await schedule({ runId: result.runId, enqueuedAt: new Date().toISOString() }, 0);
  } catch (error) {
    const stored = await deps.runs.readState(result.runId);
    if (stored) {
      const state = stored.value as Record<string, unknown>;
      const now = new Date().toISOString();
      await deps.runs
        .writeState(result.runId, { ...state, status: 'Failed', finishedAt: now, updatedAt: now, error: `Not started: ${describeError(error)}` }, stored.etag)
        .catch(() => undefined);
    }
    throw error;
  }
  return result;
}

/**
 * The queue worker's part: advances the run for at most `budgetMs`, then hands over to a new message (or to a
 * delayed one after a transient failure). A run that is no longer Running, unknown or advanced elsewhere ends here.
 */
export async function continueQueuedReconciliation(
  deps: ReconcileDependencies,
  schedule: ReconcileScheduler,
  message: ReconcileMessage,
  budgetMs: number = STEP_BUDGET_MS,
): Promise<string> {
  const result = await advanceReconciliation(deps, message.runId, { budgetMs, retryTransient: true });
  if (result.outcome === 'continue') await schedule({ runId: message.runId, enqueuedAt: new Date().toISOString() }, 0);
  if (result.outcome === 'retry') await schedule({ runId: message.runId, enqueuedAt: new Date().toISOString() }, Math.ceil(result.retryAfterMs / 1000));
  return result.outcome;
}
