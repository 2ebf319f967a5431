import { dateOf, isoNow, systemClock, type Clock } from '../clock';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BusinessCentralApi } from '../businessCentral/types';
import { GUID_PATTERN, normalizeGuid } from '../guid';
import { ConcurrencyLimiter } from '../http/limiter';
import type { Logger } from '../log';
import type { QueueSender, TransferRecord, TransferStore } from '../storage/types';
import { newSyncMessage, SOURCES, type SyncSource } from '../messages';
import { enqueueCustomerPages } from './enqueuePages';

/** The Business Central company a catch-up is about; absent on messages queued before several companies existed. */
const companyIdField = z.string().regex(GUID_PATTERN, 'companyId must be a GUID').transform(normalizeGuid).optional();


const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');
/** How many times the message came back from customer-catchup-poison (handleCatchUpPoison); absent at first. */
const redrivenCount = z.number().int().min(1).max(1_000_000).optional();

/** Ids per `customers` message: about 22 KB encoded, well under the 64 KB queue message limit. */
export const CUSTOMER_BATCH_SIZE = 250;

/**
 * `collection`: page a collection resource from a `collection` notification (its $filter kept; bare = full pass).
 * `poll`: run the polling use-case now (after a subscription was re-created, notifications may have been missed).
 * `customers`: fan a large notification's customers out into customer-sync messages (one write instead of hundreds in the webhook).
 */
/** The fields every catch-up message carries: its company (absent: the first company's, or for `poll` every company), correlation, enqueue time, redeliveries. */
const envelope = { companyId: companyIdField, correlationId: z.string().min(1).max(200), enqueuedAt: isoTime, redriven: redrivenCount };

export const catchUpMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('customers'),
    customers: z
      .array(
        z.object({
          customerId: z.string().regex(GUID_PATTERN, 'customerId must be a GUID').transform(normalizeGuid),
          changeType: z.string().max(64),
        }),
      )
      .min(1)
      .max(CUSTOMER_BATCH_SIZE),
    ...envelope,
    source: z.enum(SOURCES),
  }),
  z.object({
    kind: z.literal('collection'),
    resource: z.string().min(1).max(4096),
    ...envelope,
    source: z.enum(SOURCES),
  }),
  z.object({
    kind: z.literal('poll'),
    reason: z.string().max(200),
    /** `companyId` absent: every company polls. */
    ...envelope,
  }),
]);
export type CatchUpMessage = z.infer<typeof catchUpMessageSchema>;
export type CollectionCatchUp = Extract<CatchUpMessage, { kind: 'collection' }>;
export type CustomersCatchUp = Extract<CatchUpMessage, { kind: 'customers' }>;

/** Splits customers into `customers` messages of at most CUSTOMER_BATCH_SIZE. */
export function newCustomerBatches(
  customers: ReadonlyArray<{ customerId: string; changeType: string }>,
  correlationId: string = randomUUID(),
  companyId?: string,
  clock: Clock = systemClock,
): CatchUpMessage[] {
  const batches: CatchUpMessage[] = [];
  for (let start = 0; start < customers.length; start += CUSTOMER_BATCH_SIZE) {
    batches.push({
      kind: 'customers',
      customers: customers.slice(start, start + CUSTOMER_BATCH_SIZE).map(({ customerId, changeType }) => ({ customerId, changeType })),
      ...(companyId ? { companyId } : {}),
      source: 'webhook',
      correlationId,
      enqueuedAt: isoNow(clock),
    });
  }
  return batches;
}

/**
 * Turns a `customers` message into one customer-sync message per changed customer and a `Deleted`
 * history row per deleted one. Errors propagate so the queue retries (both steps are idempotent enough:
 * a repeated message is absorbed by the sync, a repeated `Deleted` row is merely shown twice).
 */
export async function expandCustomerBatch(
  deps: { syncQueue: QueueSender; transfers: TransferStore; clock?: Clock },
  message: CustomersCatchUp,
): Promise<{ enqueued: number; deleted: number }> {
  const changed = message.customers.filter((customer) => customer.changeType !== 'deleted');
  const deleted = message.customers.filter((customer) => customer.changeType === 'deleted').map((customer) => customer.customerId);
  await Promise.all([
    changed.length > 0
      ? deps.syncQueue.send(
          changed.map((customer) =>
            newSyncMessage(customer.customerId, message.source, {
              changeType: customer.changeType,
              correlationId: message.correlationId,
              companyId: message.companyId,
              ...(deps.clock ? { clock: deps.clock } : {}),
            }),
          ),
        )
      : undefined,
    recordDeletions(deps.transfers, deleted, message.source, dateOf(deps.clock ?? systemClock)),
  ]);
  return { enqueued: changed.length, deleted: deleted.length };
}

/** How many `Deleted` history rows are written at once. */
const RECORD_CONCURRENCY = 16;

/** Deletes are not synced (as in iPaaS.com's own integration) but are visible in the history as Skipped / Deleted. */
export async function recordDeletions(transfers: TransferStore, customerIds: readonly string[], source: SyncSource, at: Date): Promise<void> {
  const limiter = new ConcurrencyLimiter(RECORD_CONCURRENCY);
  const now = at.toISOString();
  const settled = await Promise.allSettled(customerIds.map((customerId) => limiter.run(() => transfers.record(deletedTransfer(customerId, source, now)))));
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
}

function deletedTransfer(customerId: string, source: SyncSource, now: string): TransferRecord {
  return {
    transferId: randomUUID(),
    customerId,
    customerNumber: null,
    source,
    status: 'Skipped',
    action: 'Deleted',
    errorCode: null,
    errorMessage: 'Deleted in Business Central; deletes are not synced to iPaaS.com',
    ipaasCustomerId: null,
    addressesAdded: 0,
    attempt: 1,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    warnings: [],
  };
}

export function newCollectionCatchUp(resource: string, correlationId: string = randomUUID(), companyId?: string, clock: Clock = systemClock): CatchUpMessage {
  return { kind: 'collection', resource, ...(companyId ? { companyId } : {}), source: 'webhook', correlationId, enqueuedAt: isoNow(clock) };
}

export function newPollCatchUp(reason: string, correlationId: string = randomUUID(), companyId?: string, clock: Clock = systemClock): CatchUpMessage {
  return { kind: 'poll', reason: reason.slice(0, 200), ...(companyId ? { companyId } : {}), correlationId, enqueuedAt: isoNow(clock) };
}

export interface CollectionCatchUpDependencies {
  businessCentral: Pick<BusinessCentralApi, 'listCustomerPages'>;
  syncQueue: QueueSender;
  logger: Logger;
  pageSize?: number;
  /** The company whose customers these are: the messages name it. */
  companyId?: string;
  clock?: Clock;
}

export interface CollectionCatchUpResult {
  pages: number;
  customers: number;
  enqueued: number;
}

/**
 * Pages a collection resource (keeping its $filter) and enqueues one customer-sync message per customer
 * through the poll's own page-to-queue helper, each carrying the customer as read (no second read by the
 * worker). Errors propagate so the queue retries the whole pass; re-enqueueing a customer is harmless
 * because the sync is idempotent.
 */
export async function runCollectionCatchUp(deps: CollectionCatchUpDependencies, message: CollectionCatchUp): Promise<CollectionCatchUpResult> {
  const pages = deps.businessCentral.listCustomerPages({
    collectionResource: message.resource,
    ...(deps.pageSize ? { pageSize: deps.pageSize } : {}),
  });
  const result = await enqueueCustomerPages({ syncQueue: deps.syncQueue, logger: deps.logger }, pages, {
    source: message.source,
    correlationId: message.correlationId,
    changeType: 'collection',
    label: 'catch-up',
    ...(deps.companyId ? { companyId: deps.companyId } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  return { pages: result.pages, customers: result.customers, enqueued: result.enqueued };
}

/** The first wait before a catch-up message that failed its deliveries is tried again; doubled up to an hour. */
const CATCH_UP_REDRIVE_BASE_SECONDS = 5 * 60;
const CATCH_UP_REDRIVE_MAX_SECONDS = 60 * 60;

export type CatchUpPoisonOutcome = { outcome: 'redriven'; round: number; delaySeconds: number } | { outcome: 'dropped'; reason: string };

/**
 * customer-catchup-poison's reader: a catch-up message that failed 5 deliveries (Business Central or storage
 * failing for minutes) goes back to customer-catchup after 5, 10, 20, 40, then every 60 minutes, as long as it
 * keeps failing: never given up (the scheduled poll covers the same changes meanwhile, but nothing relies on it).
 * Only a message that is not a catch-up message at all is dropped, as catchUpWorker drops it. Throws when the
 * queue refuses the message, so the host delivers it again (and, after 5, the sweeper brings it back).
 */
export async function handleCatchUpPoison(deps: { catchUpQueue: QueueSender; logger: Logger }, raw: unknown): Promise<CatchUpPoisonOutcome> {
  const parsed = catchUpMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');
    deps.logger.warn(`catch-up poison: dropped a message that is not a catch-up message (${reason})`);
    return { outcome: 'dropped', reason };
  }
  const round = (parsed.data.redriven ?? 0) + 1;
  const delaySeconds = Math.min(CATCH_UP_REDRIVE_MAX_SECONDS, CATCH_UP_REDRIVE_BASE_SECONDS * 2 ** Math.min(round - 1, 10));
  await deps.catchUpQueue.send([{ ...parsed.data, redriven: Math.min(round, 1_000_000) }], { delaySeconds });
  const line = `catch-up: a ${parsed.data.kind} message (correlation ${parsed.data.correlationId}) failed its deliveries; tried again in ${delaySeconds} s (round ${round})`;
  // From the fourth round on it has failed for over an hour: an error, for the operator.
  if (round > 3) deps.logger.error(line);
  else deps.logger.warn(line);
  return { outcome: 'redriven', round, delaySeconds };
}
