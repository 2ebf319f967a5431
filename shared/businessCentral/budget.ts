import type { Clock } from '../clock';
import type { Config } from '../config';
import { SharedRequestBudget } from '../http/sharedBudget';
import type { SlotLeases } from '../storage/blobLeases';

/** Business Central's limit per app registration: 6,000 requests in any 5 minutes. */
const BC_REQUESTS_PER_WINDOW = 6_000;
const BC_WINDOW_MS = 5 * 60_000;

/** A slot's lease (blob leases last 15 to 60 s): the longest storage allows, renewed every 20 s while held. */
export const BUDGET_LEASE_SECONDS = 60;
/** The budget's name: its slots are `request-budget/bc-request-budget/slot-<n>`. */
export const BUDGET_NAME = 'bc-request-budget';

/**
 * The request budget every instance shares through blob leases (storage enforces their expiry):
 * `http.bcMaxConcurrent` slots (5 by default, Business Central's concurrent limit per registration), each spacing
 * its requests so that all slots together stay within 6,000 per 5 minutes. A request waits for a slot at most
 * twice HTTP_TIMEOUT_MS: by then every slot has either been handed on or its request has timed out, so a longer
 * wait means the budget is saturated by other instances (or storage is slow); the request then fails as
 * transient and its queue message comes back later.
 */
export function createBusinessCentralBudget(http: Config['http'], leases: SlotLeases, options: { clock?: Clock } = {}): SharedRequestBudget {
  return new SharedRequestBudget({
    slots: http.bcMaxConcurrent,
    leases,
    minIntervalMs: Math.ceil((BC_WINDOW_MS * http.bcMaxConcurrent) / BC_REQUESTS_PER_WINDOW),
    maxWaitMs: budgetWaitMs(http),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** How long a Business Central request waits for a slot of the shared budget: twice HTTP_TIMEOUT_MS. */
export function budgetWaitMs(http: Pick<Config['http'], 'timeoutMs'>): number {
  return 2 * http.timeoutMs;
}
