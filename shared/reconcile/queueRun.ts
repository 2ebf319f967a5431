import { isoNow, systemClock } from '../clock';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { reconcileMessageSchema, type ReconcileMessage } from '../messages';
import { advanceReconciliation, cancelReconciliation, startReconciliation, type StartResult } from './lifecycle';
import type { ReconcileDependencies } from './runState';
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
    await schedule({ runId: result.runId, enqueuedAt: isoNow(deps.clock ?? systemClock) }, 0);
  } catch (error) {
    const stored = await deps.runs.readState(result.runId);
    if (stored) {
      const state = stored.value as Record<string, unknown>;
      const now = isoNow(deps.clock ?? systemClock);
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
  if (result.outcome === 'continue') await schedule({ runId: message.runId, enqueuedAt: isoNow(deps.clock ?? systemClock) }, 0);
  if (result.outcome === 'retry') await schedule({ runId: message.runId, enqueuedAt: isoNow(deps.clock ?? systemClock) }, Math.ceil(result.retryAfterMs / 1000));
  return result.outcome;
}

/** Rounds of 5 deliveries a run's message may fail before the run is ended as Failed. */
export const MAX_RECONCILE_REDRIVES = 5;
const RECONCILE_REDRIVE_BASE_SECONDS = 5 * 60;
const RECONCILE_REDRIVE_MAX_SECONDS = 60 * 60;

/**
 * reconcile-poison's reader: a run's message that failed 5 deliveries (its checkpoint blob or the queue failing)
 * goes back to `reconcile` after 5, 10, 20, 40 and 60 minutes, and the run goes on from its checkpoint. After
 * MAX_RECONCILE_REDRIVES rounds the run is ended as Failed with the reason, so it no longer blocks the next one
 * and its report says what happened. Throws when storage refuses either, so the host delivers it again.
 */
export async function handleReconcilePoison(
  deps: Pick<ReconcileDependencies, 'runs' | 'clock'> & { logger: Logger },
  schedule: ReconcileScheduler,
  raw: unknown,
): Promise<'redriven' | 'ended' | 'dropped'> {
  const parsed = reconcileMessageSchema.safeParse(raw);
  if (!parsed.success) {
    deps.logger.warn(`reconcile poison: dropped a message that is not a reconciliation message: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
    return 'dropped';
  }
  const { runId } = parsed.data;
  const round = (parsed.data.redriven ?? 0) + 1;
  if (round > MAX_RECONCILE_REDRIVES) {
    const reason = `Failed: its queue messages kept failing (${MAX_RECONCILE_REDRIVES} rounds of deliveries); start a new run`;
    const ended = await cancelReconciliation(deps, runId, reason);
    deps.logger.error(`reconcile: run ${runId} ${ended ? 'ended as Failed' : 'was no longer running'}: ${reason}`);
    return 'ended';
  }
  const delaySeconds = Math.min(RECONCILE_REDRIVE_MAX_SECONDS, RECONCILE_REDRIVE_BASE_SECONDS * 2 ** (round - 1));
  await schedule({ runId, enqueuedAt: isoNow(deps.clock ?? systemClock), redriven: round }, delaySeconds);
  deps.logger.warn(`reconcile: run ${runId}: its message failed its deliveries; it goes on from its checkpoint in ${delaySeconds} s (round ${round} of ${MAX_RECONCILE_REDRIVES})`);
  return 'redriven';
}
