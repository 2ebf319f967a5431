/**
 * The queue workers' logic: what `syncWorker` (customer-sync) and `poisonWorker` (customer-sync-poison) do with
 * one message. The functions in functions/ only hand the message and its dequeue count over.
 */
import { randomUUID } from 'node:crypto';
import { isoNow, systemClock, type Clock } from '../clock';
import { describeError, SERVICES, SyncError } from '../errors';
import type { Logger } from '../log';
import { reportTransfer } from '../telemetry';
import type { QueueSender, TransferRecord, TransferStore } from '../storage/types';
import type { WaitingRoom } from '../storage/waitingRoom';
import type { ServiceName } from '../errors';
import type { Admission, HoldDecision, ServiceBreakers } from './outages';
import { retryNote, type RetrySchedule, type ScheduledRetry } from './retrySchedule';
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
  clock: Clock = systemClock,
): Promise<TransferRecord> {
  const now = isoNow(clock);
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
  /** `customer-sync`: a held message goes back there with a delay (storage trouble, a busy customer, no waiting room). */
  syncQueue: QueueSender;
  /** Where customers wait while a service is on hold; without it held messages go round the queue. */
  waiting?: WaitingRoom | undefined;
}

/** A message put back on the queue because a service is on hold: no transfer was attempted or it failed with the service. */
export interface HeldTransfer {
  held: true;
  customerId: string;
  /** The service on hold, or `storage` when Table Storage failed (for `reason: 'busy'`, not meaningful). */
  service: ServiceName | 'storage';
  retryAt: string;
  /** `outage`: a service is on hold; `storage`: Table Storage failed; `busy`: another transfer of the customer is running. */
  reason: 'outage' | 'storage' | 'busy';
  /** The customer waits in the waiting room (resumed by the breaker), rather than as a delayed message. */
  parked?: boolean;
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
    let admission: Admission;
    try {
      admission = await hold.breakers.admit(SERVICES, deps.logger);
    } catch (error) {
      if (isStorageOutage(error)) return holdForStorage(deps, hold, message, error);
      throw error;
    }
    if (!admission.admitted) return holdBack(deps, hold, message, admission.service, admission.delayMs, admission.sentinel);
  }
  try {
    const transfer = await syncCustomer(deps, {
      customerId: message.customerId,
      source: message.source,
      correlationId: message.correlationId,
      enqueuedAt: message.enqueuedAt,
      attempt: delivery.dequeueCount,
      ...(message.snapshot ? { snapshot: message.snapshot } : {}),
    });
    hold?.breakers.storageAnswered(deps.logger);
    return transfer;
  } catch (error) {
    if (!hold) throw error;
    if (error instanceof LeaseBusyError) return waitForRunningTransfer(deps, hold, message);
    // Table Storage down (the lease, the history, the link): an outage of storage, not this customer's failure.
    if (isStorageOutage(error)) return holdForStorage(deps, hold, message, error);
    let decision: HoldDecision;
    try {
      decision = await hold.breakers.failed(error, deps.logger);
    } catch (failure) {
      if (isStorageOutage(failure)) return holdForStorage(deps, hold, message, failure);
      throw failure;
    }
    if (!decision.held || !decision.service || !decision.state) throw error;
    return holdBack(deps, hold, message, decision.service, decision.delayMs, decision.sentinel ?? false);
  } finally {
    // Closing a breaker is an optimisation (its probe closes it too): a storage failure here must not fail the message.
    await hold?.breakers.settle(deps.logger).catch((error: unknown) => deps.logger.warn(`could not close a breaker: ${describeError(error)}`));
  }
}

/** A failure of Table Storage itself (unreachable, 5xx, throttled): the work waits for storage, it is not the customer's. */
export function isStorageOutage(error: unknown): boolean {
  return error instanceof SyncError && error.code === 'StorageUnavailable' && error.transient;
}

/** First hold while storage fails; doubled per hold of the same change, at most STORAGE_HOLD_MAX_MS. */
const STORAGE_HOLD_BASE_MS = 15_000;
const STORAGE_HOLD_MAX_MS = 5 * 60_000;

/**
 * Storage did not answer: the message goes back on the queue as a new message (its dequeue count starts again),
 * invisible for a back-off that grows with the number of holds, so an hour of Table Storage trouble never drives a
 * change into the poison queue. Only when the queue itself refuses the message does the failure go up (the queue
 * then delivers it again by itself).
 */
async function holdForStorage(deps: SyncDependencies, hold: HoldDependencies, message: SyncMessage, error: unknown): Promise<HeldTransfer> {
  const holds = (message.holds ?? 0) + 1;
  const backoff = Math.min(STORAGE_HOLD_MAX_MS, STORAGE_HOLD_BASE_MS * 2 ** Math.min(holds - 1, 10));
  const delayMs = Math.round(backoff * (0.8 + Math.random() * 0.4));
  const { snapshot: _dropped, ...rest } = message;
  try {
    await hold.syncQueue.send([{ ...rest, holds }], { delaySeconds: Math.ceil(delayMs / 1000) });
  } catch {
    throw error;
  }
  hold.breakers.storageFailed(error, deps.logger);
  const now = (deps.clock ?? systemClock).now();
  return { held: true, customerId: message.customerId, service: 'storage', retryAt: new Date(now + delayMs).toISOString(), reason: 'storage' };
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
  const now = (deps.clock ?? systemClock).now();
  return { held: true, customerId: message.customerId, service: 'businessCentral', retryAt: new Date(now + delayMs).toISOString(), reason: 'busy' };
}

/**
 * Holds a change while `service` is on hold. With a waiting room (the deployed app) the customer is parked there,
 * one row per customer whatever the outage's length, and resumed by the breaker when the service answers again;
 * right after parking, the breaker is read once more, so a customer parked just as the breaker closed is not left
 * behind. The sentinel (the message whose invocation opened the breaker or ran its failed probe), a message when
 * there is no waiting room, or one whose row storage refused goes back on the queue as a new message, invisible for
 * `delayMs`, keeping its correlation and enqueue time: one message per service comes back at the end of each hold,
 * so the breaker is probed even if its timer does not run. No log line per held message: the breaker writes one per
 * change of state.
 */
async function holdBack(
  deps: SyncDependencies,
  hold: HoldDependencies,
  message: SyncMessage,
  service: ServiceName,
  delayMs: number,
  sentinel: boolean,
): Promise<HeldTransfer> {
  const now = (deps.clock ?? systemClock).now();
  const retryAt = new Date(now + delayMs).toISOString();
  if (hold.waiting && !sentinel) {
    try {
      await hold.waiting.park(service, message);
      if (!(await hold.breakers.isOnHold(service))) await hold.waiting.resumeCustomer(service, message.customerId);
      return { held: true, customerId: message.customerId, service, retryAt, reason: 'outage', parked: true };
    } catch (error) {
      if (!isStorageOutage(error)) throw error;
      // Storage refused the row: the queue holds the change instead.
    }
  }
  const { snapshot: _dropped, ...rest } = message;
  const holds = (message.holds ?? 0) + 1;
  await hold.syncQueue.send([{ ...rest, holds }], { delaySeconds: Math.max(1, Math.ceil(delayMs / 1000)) });
  return { held: true, customerId: message.customerId, service, retryAt, reason: 'outage', parked: false };
}

/** What the poison worker needs. */
export interface PoisonDependencies {
  transfers: TransferStore;
  logger: Logger;
  retries?: RetrySchedule | undefined;
  clock?: Clock;
  /** The company of the message (its history and its retry row). */
  company?: CompanyRef | undefined;
  /**
   * `customer-sync-poison` itself: when storage fails, the message goes back there with a delay (a new message, its
   * delivery count starting again) instead of failing until it lands in the poison queue's own poison queue.
   */
  poisonQueue?: QueueSender | undefined;
}

/** A poison message put back on the poison queue because storage failed: nothing lost, tried again later. */
export interface DeferredPoison {
  deferred: true;
  customerId: string;
  delaySeconds: number;
  /** Whether the RetriesExhausted record was written already (only the automatic retry is still to schedule). */
  recorded: boolean;
}

export function isDeferred(result: TransferRecord | DeferredPoison): result is DeferredPoison {
  return 'deferred' in result;
}

/** First wait before a poison message whose failure could not be recorded is tried again; doubled up to 15 min. */
const POISON_DEFER_BASE_SECONDS = 60;
const POISON_DEFER_MAX_SECONDS = 15 * 60;

/**
 * A message that exhausted its retries. First of all its failure is recorded, as RetriesExhausted, so it shows in
 * the history and can be replayed; then, with `retries`, its automatic retry (shared/sync/retrySchedule.ts) is
 * scheduled at the time the record states. When Table Storage fails (with `poisonQueue`), the message goes back on
 * the poison queue with a growing delay, carrying what was already written, and nothing is lost: a redelivery
 * writes the same record again (same id and time: the same row) and schedules the retry.
 */
export async function handlePoisonMessage(deps: PoisonDependencies & { poisonQueue?: undefined }, raw: unknown, maxDequeueCount: number): Promise<TransferRecord>;
export async function handlePoisonMessage(deps: PoisonDependencies, raw: unknown, maxDequeueCount: number): Promise<TransferRecord | DeferredPoison>;
export async function handlePoisonMessage(deps: PoisonDependencies, raw: unknown, maxDequeueCount: number): Promise<TransferRecord | DeferredPoison> {
  const parsed = syncMessageSchema.safeParse(raw);
  const target = parsed.success ? { customerId: parsed.data.customerId, source: parsed.data.source } : salvage(raw);
  const earlier = parsed.success ? parsed.data.exhausted : undefined;
  const known = target.customerId !== UNKNOWN_CUSTOMER_ID;
  const clock = deps.clock ?? systemClock;
  let transfer: TransferRecord;
  let retry: ScheduledRetry | null | undefined;
  try {
    const [last] = known ? await deps.transfers.listForCustomer(target.customerId, 1).catch(() => []) : [];
    // The last attempt's error, unless that is this very record written in an earlier round.
    const previous = last && last.transferId !== earlier?.transferId ? last : undefined;
    const finishedAt = earlier?.finishedAt ?? isoNow(clock);
    retry =
      known && deps.retries
        ? await deps.retries.plan({ customerId: target.customerId, finishedAt, ...(deps.company ? { companyId: deps.company.id } : {}) })
        : undefined;
    transfer = {
      transferId: earlier?.transferId ?? randomUUID(),
      ...target,
      ...companyFields(deps.company),
      customerNumber: previous?.customerNumber ?? last?.customerNumber ?? null,
      status: 'Failed',
      action: null,
      errorCode: 'RetriesExhausted',
      errorMessage:
        `Gave up after ${maxDequeueCount} attempts` +
        (previous?.errorMessage ? `; last error: ${previous.errorMessage}` : '') +
        '.' +
        (retry === undefined ? ' Replay it once the cause is fixed.' : retryNote(retry)),
      ipaasCustomerId: null,
      addressesAdded: 0,
      attempt: maxDequeueCount,
      startedAt: finishedAt,
      finishedAt,
      durationMs: 0,
      warnings: [],
    };
    await deps.transfers.record(transfer);
  } catch (error) {
    if (!deps.poisonQueue || !isStorageOutage(error)) throw error;
    return deferPoison(deps, deps.poisonQueue, raw, target.customerId, undefined, error);
  }
  try {
    if (known && deps.retries && retry !== undefined) await deps.retries.apply(target.customerId, retry, deps.company?.id);
  } catch (error) {
    if (!deps.poisonQueue || !isStorageOutage(error)) throw error;
    return deferPoison(deps, deps.poisonQueue, raw, target.customerId, { transferId: transfer.transferId, finishedAt: transfer.finishedAt }, error);
  }
  reportTransfer(deps.logger, transfer, parsed.success ? { correlationId: parsed.data.correlationId, enqueuedAt: parsed.data.enqueuedAt } : {}, 'error');
  return transfer;
}

/**
 * A poison message whose company could not even be looked up (Table Storage down on a fresh instance): back on the
 * poison queue with a delay, as when its record could not be written; any other failure goes up.
 */
export async function deferPoisonMessage(deps: Pick<PoisonDependencies, 'logger'>, poisonQueue: QueueSender, raw: unknown, error: unknown): Promise<DeferredPoison> {
  if (!isStorageOutage(error)) throw error;
  return deferPoison(deps, poisonQueue, raw, salvage(raw).customerId, undefined, error);
}

async function deferPoison(
  deps: Pick<PoisonDependencies, 'logger'>,
  poisonQueue: QueueSender,
  raw: unknown,
  customerId: string,
  recorded: { transferId: string; finishedAt: string } | undefined,
  error: unknown,
): Promise<DeferredPoison> {
  const object = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const deferrals = typeof object?.poisonDeferrals === 'number' ? object.poisonDeferrals + 1 : 1;
  const delaySeconds = Math.min(POISON_DEFER_MAX_SECONDS, POISON_DEFER_BASE_SECONDS * 2 ** Math.min(deferrals - 1, 10));
  // Anything that is not an object goes back exactly as it came (the next round salvages what it can again).
  const body = object ? { ...object, poisonDeferrals: Math.min(deferrals, 1_000_000), ...(recorded ? { exhausted: recorded } : {}) } : raw;
  try {
    await poisonQueue.send([body], { delaySeconds });
  } catch {
    // The queue refuses too: the failure goes up and the host delivers this message again.
    throw error;
  }
  deps.logger.warn(
    `poison: customer ${customerId}: storage did not answer (${describeError(error)}); ` +
      `${recorded ? 'recorded as RetriesExhausted, its automatic retry is' : 'the message is'} tried again in ${delaySeconds} s`,
  );
  return { deferred: true, customerId, delaySeconds, recorded: recorded !== undefined };
}
