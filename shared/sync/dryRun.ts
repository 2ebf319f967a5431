import { companyReply } from '../companyRoutes';
import { describeError, SyncError } from '../errors';
import { apiError, type ApiResponse } from '../http/apiErrors';
import type { Logger } from '../log';
import type { CompanyServices } from '../services';
import { planSync, type PlanDependencies, type SyncPlan } from './planSync';

/** `dryRun` query value: absent or "false"/"0" → false, "true"/"1"/"" (bare `?dryRun`) → true, anything else invalid. */
export function parseDryRunFlag(value: string | null): boolean | 'invalid' {
  if (value === null) return false;
  const normalized = value.trim().toLowerCase();
  if (normalized === '' || normalized === 'true' || normalized === '1') return true;
  if (normalized === 'false' || normalized === '0') return false;
  return 'invalid';
}

export const INVALID_DRY_RUN = (): ApiResponse => apiError('InvalidParameter', 'dryRun must be true or false');

/**
 * The dry run of one customer: 200 with the planner's decision, computed with reads only (nothing written to
 * iPaaS.com, nothing enqueued, no transfer recorded). A service that cannot be read now is 503 with Retry-After;
 * one that refuses (a wrong path, a refused key) is 502.
 */
export async function dryRunSync(
  deps: PlanDependencies,
  customerId: string,
): Promise<{ status: 200; jsonBody: SyncPlan } | ApiResponse> {
  try {
    return { status: 200, jsonBody: await planSync(deps, customerId) };
  } catch (error) {
    const transient = !(error instanceof SyncError) || error.transient;
    const businessCentral = error instanceof SyncError && error.code.startsWith('BusinessCentral');
    if (transient) {
      return apiError(businessCentral ? 'BusinessCentralUnavailable' : 'IpaasUnavailable', `A service is unavailable; try again later (${describeError(error)})`, {
        'Retry-After': '30',
      });
    }
    return apiError(businessCentral ? 'BusinessCentralRejected' : 'IpaasRejected', `The dry run was refused: ${describeError(error)}`);
  }
}

/**
 * The dry run of one customer of `company`, as the manual sync routes answer it (by id and by number): the plan, with
 * the company named when `nameCompany` (a route named one, or several are configured); a refusal as dryRunSync says.
 */
export async function companyDryRun(company: CompanyServices, logger: Logger, customerId: string, nameCompany: boolean) {
  const reply = await dryRunSync(company.syncDependencies(logger), customerId);
  if (reply.status !== 200) logger.warn(`dry run of customer ${customerId}: answered ${reply.status}`);
  return reply.status === 200 && nameCompany ? { ...reply, jsonBody: { ...reply.jsonBody, ...companyReply(company) } } : reply;
}
