import { z } from 'zod';
import { isoNow, systemClock, type Clock } from '../clock';
import type { BusinessCentralApi } from '../businessCentral/types';
import { describeError, SyncError, type ServiceName } from '../errors';
import { redact, type Logger } from '../log';
import type { CompanyRef } from '../storage/companies';
import type { LeaseStore, QueueSender, StateStore } from '../storage/types';
import { ensureSubscription, type EnsureSubscriptionResult } from './ensureSubscription';
import { pollChanges, type PollResult } from './pollChanges';

/**
 * The timers' work for every configured company (sync rule 9): each company has its own poll watermark and its
 * own webhook subscription, and each runs on its own, at the same time, so one company that fails (a deleted
 * company answers 404, one the app registration may not read 403) never delays another. Every run's outcome
 * is recorded in that company's state, where health and the console show it.
 */

/** What a timer needs of one company. */
export interface CompanyWork {
  ref: CompanyRef;
  businessCentral: BusinessCentralApi;
  /** That company's state (watermark, checkpoint, subscription, run status) and leases. */
  state: StateStore;
  leases: LeaseStore;
  logger: Logger;
  /** The first service this company's transfers need that is on hold now, or null (its breakers; the poll enqueues nothing meanwhile). */
  onHold?: () => Promise<ServiceName | null>;
}

/** SyncState keys (per company) of the last poll and subscription check. */
export const POLL_STATUS_KEY = 'pollStatus';
export const SUBSCRIPTION_STATUS_KEY = 'subscriptionStatus';

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');
export const runStatusSchema = z.object({
  outcome: z.enum(['Succeeded', 'Failed']),
  /** When the last run ended. */
  at: isoTime,
  /** Since when the runs fail (the first failure of the current streak); null after a success. */
  failingSince: isoTime.nullable(),
  /** The last failure, redacted; null after a success. */
  error: z.string().max(1000).nullable(),
  /** HTTP status of the failure (404: the company is gone; 403: the app may not read it), when there was one. */
  status: z.number().int().nullable(),
});
export type RunStatus = z.infer<typeof runStatusSchema>;

export const parseRunStatus = (value: unknown): RunStatus | null => {
  const parsed = runStatusSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};

export interface CompanyOutcome<T> {
  company: CompanyRef;
  result?: T;
  error?: unknown;
}

/** One line for an operator: what a failing status means and what to change. */
export function failureHint(status: number | null): string {
  if (status === 404) return 'Business Central does not know this company (deleted, or a wrong id in BC_COMPANIES)';
  if (status === 403) return 'the app registration may not read this company: give it permissions there (page "Microsoft Entra applications", per company)';
  if (status === 401) return 'Business Central refused the app (BC_CLIENT_SECRET or the app registration)';
  return 'see the error; the next run tries again';
}

/**
 * Runs `work` for every company at once and records each outcome under `statusKey`. Never throws for a
 * company's failure: each outcome is returned (and recorded, best effort, so a storage hiccup here never
 * hides the run's own result).
 */
export async function forEachCompany<T>(
  companies: readonly CompanyWork[],
  statusKey: string,
  work: (company: CompanyWork) => Promise<T>,
  clock: Clock = systemClock,
): Promise<Array<CompanyOutcome<T>>> {
  return Promise.all(
    companies.map(async (company): Promise<CompanyOutcome<T>> => {
      try {
        const result = await work(company);
        await recordStatus(company, statusKey, undefined, clock);
        return { company: company.ref, result };
      } catch (error) {
        await recordStatus(company, statusKey, error, clock);
        return { company: company.ref, error };
      }
    }),
  );
}

async function recordStatus(company: CompanyWork, key: string, error: unknown, clock: Clock): Promise<void> {
  const at = isoNow(clock);
  try {
    const previous = (await company.state.get(key, parseRunStatus))?.value ?? null;
    const status: RunStatus =
      error === undefined
        ? { outcome: 'Succeeded', at, failingSince: null, error: null, status: null }
        : {
            outcome: 'Failed',
            at,
            failingSince: previous?.outcome === 'Failed' && previous.failingSince ? previous.failingSince : at,
            error: redact(describeError(error)).slice(0, 1000),
            status: error instanceof SyncError && error.status !== undefined ? error.status : null,
          };
    // Nothing to write for a success after a success: a poll every 5 minutes should not cost a write each.
    if (error === undefined && previous?.outcome === 'Succeeded') return;
    await company.state.put(key, status);
  } catch (failure) {
    company.logger.warn(`could not record the ${key} of company ${company.ref.name}: ${describeError(failure)}`);
  }
}

/**
 * The error a timer run ends with when companies failed: with one company, its own error (as before several
 * companies existed); with several, one error naming each failed company.
 */
export function combinedFailure<T>(outcomes: ReadonlyArray<CompanyOutcome<T>>, what: string): unknown {
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  if (failed.length === 0) return undefined;
  if (outcomes.length === 1) return failed[0]!.error;
  const transient = failed.every((outcome) => !(outcome.error instanceof SyncError) || outcome.error.transient);
  const [first] = failed;
  const code = first?.error instanceof SyncError ? first.error.code : 'InternalError';
  return new SyncError(
    code,
    `${what} failed for ${failed.length} of ${outcomes.length} companies: ${failed.map((outcome) => `${outcome.company.name}: ${describeError(outcome.error)}`).join('; ')}`,
    { transient },
  );
}

export interface PollAllOptions {
  syncQueue: QueueSender;
  startFrom?: string | undefined;
  /** How far before its watermark each poll reads again (POLL_OVERLAP_SECONDS); the poll's default when absent. */
  overlapMs?: number;
  /** Only this company (a catch-up poll asked for by its subscription check); all when absent. */
  companyId?: string | undefined;
  pageSize?: number;
  clock?: Clock;
}

/** The poll of every company (or one), each from its own watermark. */
export function pollCompanies(companies: readonly CompanyWork[], options: PollAllOptions): Promise<Array<CompanyOutcome<PollResult>>> {
  const selected = options.companyId ? companies.filter((company) => company.ref.id === options.companyId) : companies;
  return forEachCompany(
    selected,
    POLL_STATUS_KEY,
    (company) =>
      pollChanges({
        businessCentral: company.businessCentral,
        syncQueue: options.syncQueue,
        leases: company.leases,
        state: company.state,
        logger: company.logger,
        startFrom: options.startFrom,
        ...(options.overlapMs !== undefined ? { overlapMs: options.overlapMs } : {}),
        companyId: company.ref.id,
        ...(company.onHold ? { onHold: company.onHold } : {}),
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    options.clock,
  );
}

export interface SubscribeAllOptions {
  catchUpQueue: QueueSender;
  notificationUrl: string;
  clientState: string;
  clock?: Clock;
}

/** One subscription per company (same URL and clientState), created, renewed or re-created for each. */
export function ensureSubscriptions(companies: readonly CompanyWork[], options: SubscribeAllOptions): Promise<Array<CompanyOutcome<EnsureSubscriptionResult>>> {
  return forEachCompany(
    companies,
    SUBSCRIPTION_STATUS_KEY,
    (company) =>
      ensureSubscription({
        businessCentral: company.businessCentral,
        state: company.state,
        catchUpQueue: options.catchUpQueue,
        logger: company.logger,
        notificationUrl: options.notificationUrl,
        clientState: options.clientState,
        companyId: company.ref.id,
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    options.clock,
  );
}
