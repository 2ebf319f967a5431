/**
 * The queue workers' logic: what `syncWorker` (customer-sync) and `poisonWorker` (customer-sync-poison) do with
 * one message. The functions in functions/ only hand the message and its dequeue count over.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { transferEventLine } from '../telemetry';
import type { TransferRecord, TransferStore } from '../storage/types';
import { syncMessageSchema, type SyncSource } from '../messages';
import { syncCustomer, type SyncDependencies } from './syncCustomer';

/** Transfers that cannot be tied to a customer (a message without a usable id) are filed under the nil GUID. */
export const UNKNOWN_CUSTOMER_ID = '00000000-0000-0000-0000-000000000000';

export interface DeliveryInfo {
  /** The queue's dequeue count for this message. */
  dequeueCount: number;
}

function record(
  transfers: TransferStore,
  fields: Pick<TransferRecord, 'customerId' | 'source' | 'errorCode' | 'errorMessage' | 'attempt'> & Partial<TransferRecord>,
): Promise<TransferRecord> {
  const now = new Date().toISOString();
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

/** Best effort to find who a malformed message was about, for the history. */
function salvage(raw: unknown): { customerId: string; source: SyncSource } {
  const candidate = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const id = syncMessageSchema.shape.customerId.safeParse(candidate.customerId);
  const source = syncMessageSchema.shape.source.safeParse(candidate.source);
  return { customerId: id.success ? id.data : UNKNOWN_CUSTOMER_ID, source: source.success ? source.data : 'manual' };
}

/**
 * The `customer-sync` queue worker's logic: validates the message (an invalid one is recorded as a
 * failed transfer and not retried), then runs the sync. Throws only for transient failures.
 */
export async function handleSyncMessage(deps: SyncDependencies, raw: unknown, delivery: DeliveryInfo): Promise<TransferRecord> {
  const parsed = syncMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');
    deps.logger.warn(`Invalid customer-sync message, recorded and dropped: ${issues}`);
    const transfer = await record(deps.transfers, {
      ...salvage(raw),
      errorCode: 'InvalidMessage',
      errorMessage: `The queue message is not a valid customer-sync message (${issues})`,
      attempt: delivery.dequeueCount,
    });
    deps.logger.warn(transferEventLine(transfer));
    return transfer;
  }
  const message = parsed.data;
  return syncCustomer(deps, {
    customerId: message.customerId,
    source: message.source,
    correlationId: message.correlationId,
    enqueuedAt: message.enqueuedAt,
    attempt: delivery.dequeueCount,
    ...(message.snapshot ? { snapshot: message.snapshot } : {}),
  });
}

/** A message that exhausted its retries: recorded as RetriesExhausted so it shows in the history and can be replayed. */
export async function handlePoisonMessage(
  deps: { transfers: TransferStore; logger: Logger },
  raw: unknown,
  maxDequeueCount: number,
): Promise<TransferRecord> {
  const parsed = syncMessageSchema.safeParse(raw);
  const target = parsed.success ? { customerId: parsed.data.customerId, source: parsed.data.source } : salvage(raw);
  const [last] = target.customerId === UNKNOWN_CUSTOMER_ID ? [] : await deps.transfers.listForCustomer(target.customerId, 1).catch(() => []);
  const transfer = await record(deps.transfers, {
    ...target,
    customerNumber: last?.customerNumber ?? null,
    errorCode: 'RetriesExhausted',
    errorMessage:
      `Gave up after ${maxDequeueCount} attempts` +
      (last?.errorMessage ? `; last error: ${last.errorMessage}` : '') +
      '. Replay it once the cause is fixed.',
    attempt: maxDequeueCount,
  });
  deps.logger.error(transferEventLine(transfer, parsed.success ? { correlationId: parsed.data.correlationId, enqueuedAt: parsed.data.enqueuedAt } : {}));
  return transfer;
}

