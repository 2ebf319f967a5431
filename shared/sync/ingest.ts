import { dateOf, systemClock, type Clock } from '../clock';
import { newSyncMessage } from '../messages';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import type { QueueSender, TransferStore } from '../storage/types';
import { newCollectionCatchUp, newCustomerBatches, recordDeletions } from './catchUp';
import type { AcceptedNotification, CompanyNotifications } from './notifications';
import type { CompanyRef } from '../storage/companies';

export interface IngestDependencies {
  /** The customer-sync queue. */
  syncQueue: QueueSender;
  /** The customer-catchup queue. */
  catchUpQueue: QueueSender;
  transfers: TransferStore;
  logger: Logger;
  clock?: Clock;
}

export interface IngestResult {
  /** customer-sync messages written directly. */
  enqueued: number;
  /** Customers (changed or deleted) handed to the catch-up worker in batches (large notifications). */
  fannedOut: number;
  /** Collection passes requested. */
  catchUps: number;
  /** Deleted customers (recorded now, or by the catch-up worker when fanned out). */
  deleted: number;
  ignored: number;
}

/**
 * Up to this many customers are handled directly (one round of the sender's concurrent writes);
 * more are written as a few batch messages that catchUpWorker fans out, so the answer never waits
 * on hundreds of storage writes (Business Central gives up on slow endpoints and delivers again).
 */
export const DIRECT_ENQUEUE_LIMIT = 32;

/**
 * The webhook's use-case: makes an accepted notification durable. One customer-sync message per
 * customer (for large notifications: batch messages fanned out by catchUpWorker), one catch-up
 * message per collection, a `Deleted` history row per deleted customer.
 * It never calls Business Central; any storage failure is rethrown (the webhook answers 503 so
 * Business Central delivers again, and the idempotent sync absorbs the duplicates).
 */
export async function ingestNotification(
  deps: IngestDependencies,
  plan: AcceptedNotification,
  options: { correlationId?: string; companyId?: string } = {},
): Promise<IngestResult> {
  const companyId = options.companyId;
  const correlationId = options.correlationId ?? randomUUID();
  const clock = deps.clock ?? systemClock;
  const work: Array<Promise<unknown>> = [];

  const direct = plan.customers.length + plan.deleted.length <= DIRECT_ENQUEUE_LIMIT;
  if (direct && plan.customers.length > 0) {
    const messages = plan.customers.map((change) => newSyncMessage(change.customerId, 'webhook', { changeType: change.changeType, correlationId, companyId, clock }));
    work.push(deps.syncQueue.send(messages));
  }
  if (direct && plan.deleted.length > 0) work.push(recordDeletions(deps.transfers, plan.deleted, 'webhook', dateOf(clock)));
  const batches = direct
    ? []
    : newCustomerBatches([...plan.customers, ...plan.deleted.map((customerId) => ({ customerId, changeType: 'deleted' }))], correlationId, companyId, clock);
  const catchUps = [...batches, ...plan.collections.map((resource) => newCollectionCatchUp(resource, correlationId, companyId, clock))];
  if (catchUps.length > 0) work.push(deps.catchUpQueue.send(catchUps));

  // Wait for everything before answering, so a 503 never leaves work still running behind it.
  const settled = await Promise.allSettled(work);
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;

  const result: IngestResult = {
    enqueued: direct ? plan.customers.length : 0,
    fannedOut: direct ? 0 : plan.customers.length + plan.deleted.length,
    catchUps: plan.collections.length,
    deleted: plan.deleted.length,
    ignored: plan.ignored,
  };
  deps.logger.info(
    `webhook notification: ${result.enqueued} enqueued, ${result.fannedOut} in ${batches.length} batches, ${result.catchUps} collection catch-up, ` +
      `${result.deleted} deleted recorded, ${result.ignored} ignored (correlation ${correlationId})`,
  );
  return result;
}

/** A manual transfer request (by id or, once resolved, by number): one customer-sync message with source `manual`. */
export async function enqueueManualSync(
  syncQueue: QueueSender,
  customerId: string,
  correlationId: string = randomUUID(),
  companyId?: string,
  clock: Clock = systemClock,
): Promise<void> {
  await syncQueue.send([newSyncMessage(customerId, 'manual', { correlationId, companyId, clock })]);
}

export interface CompanyIngestDependencies {
  syncQueue: QueueSender;
  catchUpQueue: QueueSender;
  logger: Logger;
  /** Every configured company with its own history (deletions are recorded there) and log lines. */
  companies: ReadonlyArray<{ ref: CompanyRef; transfers: TransferStore; logger: Logger }>;
  /** Several companies configured: the reply then lists each company's counts. */
  multiCompany: boolean;
  clock?: Clock;
}

export interface CompanyIngestResult extends IngestResult {
  /** With several companies: entries naming a company this deployment does not serve (acknowledged, counted in `ignored` too). */
  otherCompanies?: number;
  /** With several companies: each named company's counts. */
  companies?: Array<IngestResult & { companyId: string; companyName: string }>;
}

/**
 * The webhook's use-case for a notification split by company: each company's part is made durable as
 * ingestNotification does, its messages naming the company, all of them before the answer; any failure is
 * rethrown (503: Business Central delivers the whole notification again, which the idempotent sync absorbs).
 * With one company the reply is what it always was.
 */
export async function ingestCompanyNotifications(
  deps: CompanyIngestDependencies,
  plan: CompanyNotifications,
  options: { correlationId?: string } = {},
): Promise<CompanyIngestResult> {
  const correlationId = options.correlationId ?? randomUUID();
  const settled = await Promise.allSettled(
    plan.companies.map(async ({ companyId, plan: part }) => {
      const company = deps.companies.find((candidate) => candidate.ref.id === companyId);
      if (!company) throw new Error(`company ${companyId} has no dependencies`);
      const result = await ingestNotification(
        { syncQueue: deps.syncQueue, catchUpQueue: deps.catchUpQueue, transfers: company.transfers, logger: company.logger, ...(deps.clock ? { clock: deps.clock } : {}) },
        part,
        { correlationId, companyId },
      );
      return { ...result, companyId, companyName: company.ref.name };
    }),
  );
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  const parts = settled.map((outcome) => (outcome as PromiseFulfilledResult<IngestResult & { companyId: string; companyName: string }>).value);
  const total: IngestResult = { enqueued: 0, fannedOut: 0, catchUps: 0, deleted: 0, ignored: plan.ignored };
  for (const part of parts) {
    total.enqueued += part.enqueued;
    total.fannedOut += part.fannedOut;
    total.catchUps += part.catchUps;
    total.deleted += part.deleted;
    total.ignored += part.ignored;
  }
  if (!deps.multiCompany) return total;
  if (plan.otherCompanies > 0) deps.logger.info(`webhook notification: ${plan.otherCompanies} entries of companies not configured acknowledged and ignored (correlation ${correlationId})`);
  return { ...total, otherCompanies: plan.otherCompanies, companies: parts };
}
