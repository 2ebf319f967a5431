import type { OutageKind, ServiceName } from './errors';
import type { TransferRecord } from './storage/types';

/**
 * Every transfer is logged once as `TransferCompleted {json}`. In Azure the line lands in Application
 * Insights `traces`, where KQL reads it with `parse_json(substring(message, 18))`; locally the host prints it.
 * The fields identify the customer by id and number only: never email, name or phone.
 */
export const TRANSFER_EVENT = 'TransferCompleted';

export type TransferEvent = Pick<
  TransferRecord,
  | 'transferId'
  | 'customerId'
  | 'customerNumber'
  | 'source'
  | 'status'
  | 'action'
  | 'errorCode'
  | 'attempt'
  | 'durationMs'
  | 'ipaasCustomerId'
  | 'addressesAdded'
  | 'warnings'
> & { correlationId: string | null; enqueuedAt: string | null; latencyMs: number | null };

export function transferEventLine(record: TransferRecord, context: { correlationId?: string; enqueuedAt?: string } = {}): string {
  const enqueued = context.enqueuedAt ? Date.parse(context.enqueuedAt) : Number.NaN;
  const event: TransferEvent = {
    transferId: record.transferId,
    customerId: record.customerId,
    customerNumber: record.customerNumber,
    source: record.source,
    status: record.status,
    action: record.action,
    errorCode: record.errorCode,
    attempt: record.attempt,
    durationMs: record.durationMs,
    ipaasCustomerId: record.ipaasCustomerId,
    addressesAdded: record.addressesAdded,
    // Codes and service error texts only (e.g. "ExternalIdNotLinked: ... VALD-1017 ..."), never personal data.
    warnings: record.warnings,
    correlationId: context.correlationId ?? null,
    enqueuedAt: context.enqueuedAt ?? null,
    // From enqueue to done: the end-to-end delay that users feel.
    latencyMs: Number.isNaN(enqueued) ? null : Date.parse(record.finishedAt) - enqueued,
  };
  return `${TRANSFER_EVENT} ${JSON.stringify(event)}`;
}

/** Reads a TransferCompleted line back (the local host's console and tests use it). */
export function parseTransferEventLine(line: string): TransferEvent | null {
  const at = line.indexOf(`${TRANSFER_EVENT} {`);
  if (at < 0) return null;
  try {
    return JSON.parse(line.slice(at + TRANSFER_EVENT.length + 1)) as TransferEvent;
  } catch {
    return null;
  }
}

/** One line per subscription check, `SubscriptionState {json}` (docs/monitoring.md reads it). */
export const SUBSCRIPTION_EVENT = 'SubscriptionState';

export interface SubscriptionEvent {
  action: 'Created' | 'Renewed' | 'Recreated' | 'Unchanged' | 'Disabled';
  subscriptionId: string | null;
  expirationDateTime: string | null;
}

export function subscriptionEventLine(event: SubscriptionEvent): string {
  return `${SUBSCRIPTION_EVENT} ${JSON.stringify({ action: event.action, subscriptionId: event.subscriptionId, expirationDateTime: event.expirationDateTime })}`;
}

/**
 * One line when a service's work is put on hold or resumes, `ServiceOutage {json}` (the on-hold alert and
 * docs/reliability.md read it). `message` is the last failure, already redacted.
 */
export const SERVICE_OUTAGE_EVENT = 'ServiceOutage';

export interface ServiceOutageEvent {
  service: ServiceName;
  state: 'onHold' | 'resumed';
  kind: OutageKind;
  since: string;
  retryAt: string | null;
  downMs: number;
  message: string | null;
}

export function serviceOutageLine(event: ServiceOutageEvent): string {
  return `${SERVICE_OUTAGE_EVENT} ${JSON.stringify(event)}`;
}

/** One line per customer-sync message held back because a service is on hold, `TransferOnHold {json}`. */
export const TRANSFER_HOLD_EVENT = 'TransferOnHold';

export interface TransferHoldEvent {
  customerId: string;
  source: string;
  service: ServiceName;
  kind: OutageKind;
  /** When the message comes back. */
  retryAt: string;
  /** How many times this change has been held so far. */
  holds: number;
  correlationId: string | null;
}

export function transferHoldLine(event: TransferHoldEvent): string {
  return `${TRANSFER_HOLD_EVENT} ${JSON.stringify(event)}`;
}

export function parseTransferHoldLine(line: string): TransferHoldEvent | null {
  const at = line.indexOf(`${TRANSFER_HOLD_EVENT} {`);
  if (at < 0) return null;
  try {
    return JSON.parse(line.slice(at + TRANSFER_HOLD_EVENT.length + 1)) as TransferHoldEvent;
  } catch {
    return null;
  }
}
