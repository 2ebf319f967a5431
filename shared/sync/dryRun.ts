import { describeError, SyncError } from '../errors';
import { planSync, type PlanDependencies, type SyncPlan } from './planSync';

/** `dryRun` query value: absent or "false"/"0" → false, "true"/"1"/"" (bare `?dryRun`) → true, anything else invalid. */
export function parseDryRunFlag(value: string | null): boolean | 'invalid' {
  if (value === null) return false;
  const normalized = value.trim().toLowerCase();
  if (normalized === '' || normalized === 'true' || normalized === '1') return true;
  if (normalized === 'false' || normalized === '0') return false;
  return 'invalid';
}

export type DryRunReply =
  | { status: 200; plan: SyncPlan }
  | { status: 502 | 503; error: string };

/**
 * The dry run of one customer: the planner's decision, computed with reads only (nothing written to iPaaS.com,
 * nothing enqueued, no transfer recorded). A service that cannot be read is 503 (try later) or 502 (it refused).
 */
export async function dryRunSync(deps: PlanDependencies, customerId: string): Promise<DryRunReply> {
  try {
    return { status: 200, plan: await planSync(deps, customerId) };
  } catch (error) {
    const transient = !(error instanceof SyncError) || error.transient;
    return transient
      ? { status: 503, error: `A service is unavailable; try again later (${describeError(error)})` }
      : { status: 502, error: `A service refused the dry run: ${describeError(error)}` };
  }
}
