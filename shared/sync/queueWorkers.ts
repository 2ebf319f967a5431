/**
 * The queue workers' logic: what `syncWorker` (customer-sync) and `poisonWorker` (customer-sync-poison) do with
 * one message. The functions in functions/ only hand the message and its dequeue count over.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { reportTransfer, transferHoldLine } from '../telemetry';
import type { QueueSender, TransferRecord, TransferStore } from '../storage/types';
import type { ServiceName } from '../errors';
import type { OutageState, ServiceBreakers } from './outages';
import { retryNote, type RetrySchedule } from './retrySchedule';
import { syncMessageSchema, type SyncMessage, type SyncSource } from '../messages';
import { companyFields, LeaseBusyError, syncCustomer, type SyncDependencies } from './syncCustomer';
import type { CompanyRef } from '../storage/companies';
import { GUID_PATTERN, normalizeGuid } from '../guid';

/** Transfers that cannot be tied to a customer (a message without a usable id) are filed under the nil GUID. */
export const UNKNOWN_CUSTOMER_ID = '00000000-0000-0000-0000-000000000000';

export interface DeliveryInfo {
  /** The queue's dequeue count for this message. */
  dequeueCount: number;
}

function record(
  transfers: TransferStore,
  fields: Pick<TransferRecord, 'customerId' | 'source' | 'errorCode' | 'errorMessage' | 'attempt'> & Partial<TransferRecord>,
  clock: () => Date = () => new Date(),
): Promise<TransferRecord> {
  const now = clock().toISOString();
  const transfer: TransferRecord = {
    transferId: randomUUID(),
    customerNumber: null,
    status: 'Failed',
    action: null,
    ipaasCustomerId: null,
    addressesAdded: 0,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    warnings: [],
    ...fields,
  };
  return transfers.record(transfer).then(() => transfer);
}

/**
 * The company a customer-sync message names, read before the message is validated (a malformed message is
 * recorded in its company when it names one); undefined when it names none.
 */
export function messageCompanyId(raw: unknown): string | undefined {
  const candidate = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).companyId : undefined;
  return typeof candidate === 'string' && GUID_PATTERN.test(candidate.trim()) ? normalizeGuid(candidate) : undefined;
}

/** Best effort to find who a malformed message was about, for the history. */
function salvage(raw: unknown): { customerId: string; source: SyncSource } {
  const candidate = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const id = syncMessageSchema.shape.customerId.safeParse(candidate.customerId);
  const source = syncMessageSchema.shape.source.safeParse(candidate.source);
  return { customerId: id.success ? id.data : UNKNOWN_CUSTOMER_ID, source: source.success ? source.data : 'manual' };
}

/** What puts work on hold during an outage of a whole service. */
export interface HoldDependencies {
  breakers: ServiceBreakers;
  /** `customer-sync`: a held message goes back there with a delay. */
  syncQueue: QueueSender;
}

/** A message put back on the queue because a service is on hold: no transfer was attempted or it failed with the service. */
export interface HeldTransfer {
  held: true;
  customerId: string;
  /** The service on hold (for `reason: 'busy'`, not meaningful). */
  service: ServiceName;
  retryAt: string;
  /** `outage`: a service is on hold; `busy`: another transfer of the customer is running. */
  reason: 'outage' | 'busy';
}

export function isHeld(result: TransferRecord | HeldTransfer): result is HeldTransfer {
  return 'held' in result;
}

/**
 * The `customer-sync` queue worker's logic: validates the message (an invalid one is recorded as a
 * failed transfer and not retried), then runs the sync. With `hold`, a service on hold (circuit breaker
 * open) holds the message back, re-enqueued with a delay instead of being attempted, and a failure of a
 * whole service that opens the breaker does the same instead of failing the customer (shared/sync/outages.ts).
 * Throws only for transient failures of one customer, so the queue retries them.
 */
export async function handleSyncMessage(deps: SyncDependencies & { hold?: undefined }, raw: unknown, delivery: DeliveryInfo): Promise<TransferRecord>;
export async function handleSyncMessage(
  deps: SyncDependencies & { hold?: HoldDependencies | undefined },
  raw: unknown,
  delivery: DeliveryInfo,
): Promise<TransferRecord | HeldTransfer>;
export async function handleSyncMessage(
  deps: SyncDependencies & { hold?: HoldDependencies | undefined },
  raw: unknown,
  delivery: DeliveryInfo,
): Promise<TransferRecord | HeldTransfer> {
  const parsed = syncMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');
    deps.logger.warn(`Invalid customer-sync message, recorded and dropped: ${issues}`);
    const transfer = await record(deps.transfers, {
      ...salvage(raw),
      ...companyFields(deps.company),
      errorCode: 'InvalidMessage',
      errorMessage: `The queue message is not a valid customer-sync message (${issues})`,
      attempt: delivery.dequeueCount,
    });
    reportTransfer(deps.logger, transfer, {}, 'warn');
    return transfer;
  }
  const message = parsed.data;
  const hold = deps.hold;
  // With a queue to put it back on, a message never waits for a busy lease: it goes back with a short delay.
  if (hold) deps = { ...deps, leaseWaitMs: 0 };
  if (hold) {
    const admission = await hold.breakers.admit();
    if (!admission.admitted) return holdBack(deps, hold, message, admission.service, admission.state, admission.delayMs);
  }
  try {
    return await syncCustomer(deps, {
      customerId: message.customerId,
      source: message.source,
      correlationId: message.correlationId,
      enqueuedAt: message.enqueuedAt,
      attempt: delivery.dequeueCount,
      ...(message.snapshot ? { snapshot: message.snapshot } : {}),
    });
  } catch (error) {
    if (!hold) throw error;
    if (error instanceof LeaseBusyError) return waitForRunningTransfer(deps, hold, message);
    const decision = await hold.breakers.failed(error, deps.logger);
    if (!decision.held || !decision.service || !decision.state) throw error;
    return holdBack(deps, hold, message, decision.service, decision.state, decision.delayMs);
  } finally {
    await hold?.breakers.settle(deps.logger);
  }
}

/** First wait for a transfer of the same customer that is running: doubled at each repeat, at most the lease's TTL. */
const BUSY_DELAY_MS = 5_000;

/**
 * A duplicate (or overlapping) message for a customer whose transfer is running: it goes back on the queue
 * at once, invisible for a few seconds, instead of holding a worker while it polls the lease. When it comes
 * back it reads the customer again and usually ends Unchanged.
 */
async function waitForRunningTransfer(deps: SyncDependencies, hold: HoldDependencies, message: SyncMessage): Promise<HeldTransfer> {
  const holds = (message.holds ?? 0) + 1;
  const delayMs = Math.min(deps.leaseTtlMs, BUSY_DELAY_MS * 2 ** Math.min(holds - 1, 10));
  const { snapshot: _dropped, ...rest } = message;
  await hold.syncQueue.send([{ ...rest, holds }], { delaySeconds: Math.ceil(delayMs / 1000) });
  deps.logger.info(`customer ${message.customerId}: another transfer of it is running; this message comes back in ${Math.ceil(delayMs / 1000)} s`);
  const now = (deps.clock ?? (() => new Date()))().getTime();
  return { held: true, customerId: message.customerId, service: 'businessCentral', retryAt: new Date(now + delayMs).toISOString(), reason: 'busy' };
}

/**
 * Puts the change back on the queue as a new message, invisible for `delayMs`: it keeps its correlation and
 * enqueue time, counts the hold, and drops any snapshot (by the time it comes back, the customer is read again).
 */
async function holdBack(
  deps: SyncDependencies,
  hold: HoldDependencies,
  message: SyncMessage,
  service: ServiceName,
  state: OutageState,
  delayMs: number,
): Promise<HeldTransfer> {
  const { snapshot: _dropped, ...rest } = message;
  const holds = (message.holds ?? 0) + 1;
  await hold.syncQueue.send([{ ...rest, holds }], { delaySeconds: Math.max(1, Math.ceil(delayMs / 1000)) });
  const now = (deps.clock ?? (() => new Date()))().getTime();
  const retryAt = new Date(now + delayMs).toISOString();
  deps.logger.warn(
    transferHoldLine({
      customerId: message.customerId,
      ...companyFields(deps.company),
      source: message.source,
      service,
      kind: state.kind,
      retryAt,
      holds,
      correlationId: message.correlationId,
    }),
  );
  return { held: true, customerId: message.customerId, service, retryAt, reason: 'outage' };
}

/**
 * A message that exhausted its retries: recorded as RetriesExhausted so it shows in the history and can be
 * replayed, and, with `retries`, scheduled for an automatic retry (shared/sync/retrySchedule.ts) whose time
 * the record states.
 */
export async function handlePoisonMessage(
  deps: { transfers: TransferStore; logger: Logger; retries?: RetrySchedule | undefined; clock?: () => Date; company?: CompanyRef | undefined },
  raw: unknown,
  maxDequeueCount: number,
): Promise<TransferRecord> {
  const parsed = syncMessageSchema.safeParse(raw);
  const target = parsed.success ? { customerId: parsed.data.customerId, source: parsed.data.source } : salvage(raw);
  const known = target.customerId !== UNKNOWN_CUSTOMER_ID;
  const [last] = known ? await deps.transfers.listForCustomer(target.customerId, 1).catch(() => []) : [];
  const clock = deps.clock ?? (() => new Date());
  const retry =
    known && deps.retries
      ? await deps.retries.scheduleAfter({ customerId: target.customerId, finishedAt: clock().toISOString(), ...(deps.company ? { companyId: deps.company.id } : {}) })
      : undefined;
  const transfer = await record(deps.transfers, {
    ...target,
    ...companyFields(deps.company),
    customerNumber: last?.customerNumber ?? null,
    errorCode: 'RetriesExhausted',
    errorMessage:
      `Gave up after ${maxDequeueCount} attempts` +
      (last?.errorMessage ? `; last error: ${last.errorMessage}` : '') +
      '.' +
      (retry === undefined ? ' Replay it once the cause is fixed.' : retryNote(retry)),
    attempt: maxDequeueCount,
  }, clock);
  reportTransfer(deps.logger, transfer, parsed.success ? { correlationId: parsed.data.correlationId, enqueuedAt: parsed.data.enqueuedAt } : {}, 'error');
  return transfer;
}
