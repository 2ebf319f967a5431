import type { AnyValueMap } from '@opentelemetry/api-logs';
import { describeError, SyncError, type OutageKind, type ServiceName } from './errors';
import { redact, type Logger } from './log';
import { emitEvent, structuredTelemetryEnabled, transferInstruments } from './observability';
import type { TransferRecord } from './storage/types';

/**
 * Every transfer is reported once. In Azure (OpenTelemetry registered) it is one structured record: message
 * `TransferCompleted` in `traces`, every field of TransferEvent in `customDimensions`, plus the `transfers`
 * counter and `transfer.latency` / `transfer.duration` histograms in `customMetrics`. Locally it is the
 * log line `TransferCompleted {json}` that the host prints. The fields identify the customer by id and
 * number only: never email, name or phone.
 */
export const TRANSFER_EVENT = 'TransferCompleted';

export type TransferEvent = Pick<
  TransferRecord,
  | 'transferId'
  | 'customerId'
  | 'companyId'
  | 'companyName'
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
  return `${TRANSFER_EVENT} ${JSON.stringify(transferEvent(record, context))}`;
}

function transferEvent(record: TransferRecord, context: { correlationId?: string; enqueuedAt?: string }): TransferEvent {
  const enqueued = context.enqueuedAt ? Date.parse(context.enqueuedAt) : Number.NaN;
  const event: TransferEvent = {
    transferId: record.transferId,
    customerId: record.customerId,
    // The company, when the record has one (every record of the app does).
    ...(record.companyId ? { companyId: record.companyId } : {}),
    ...(record.companyName ? { companyName: record.companyName } : {}),
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
  return event;
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
  action: 'Created' | 'Renewed' | 'Recreated' | 'Unchanged' | 'Disabled' | 'Failed';
  subscriptionId: string | null;
  expirationDateTime: string | null;
  /** The company whose subscription it is (one subscription per company). */
  companyId?: string;
  companyName?: string;
}

function subscriptionFields(event: SubscriptionEvent): Record<string, unknown> {
  return {
    action: event.action,
    subscriptionId: event.subscriptionId,
    expirationDateTime: event.expirationDateTime,
    ...(event.companyId ? { companyId: event.companyId } : {}),
    ...(event.companyName ? { companyName: event.companyName } : {}),
  };
}

export function subscriptionEventLine(event: SubscriptionEvent): string {
  return `${SUBSCRIPTION_EVENT} ${JSON.stringify(subscriptionFields(event))}`;
}

/** Attributes of a structured record: null fields are left out (OpenTelemetry has no null). */
function attributesOf(event: object): AnyValueMap {
  const attributes: AnyValueMap = {};
  for (const [key, value] of Object.entries(event)) if (value !== null && value !== undefined) attributes[key] = value as string | number | boolean;
  return attributes;
}

/**
 * Reports one operational event. In Azure: a structured record, `traces.message` = `name` and every field in
 * `customDimensions` (KQL: `where message == "<name>" | extend x = customDimensions`). Locally: the log
 * line `<name> {json}` that the local host prints. Fields must never hold personal data.
 */
export function reportEvent(logger: Logger, name: string, fields: object, level: 'info' | 'warn' | 'error' = 'info'): void {
  if (structuredTelemetryEnabled()) emitEvent(name, attributesOf(fields), level);
  else logger[level](`${name} ${JSON.stringify(fields)}`);
}

/** Reports one transfer: structured record and metrics in Azure, the `TransferCompleted {json}` line locally. */
export function reportTransfer(logger: Logger, record: TransferRecord, context: { correlationId?: string; enqueuedAt?: string } = {}, level: 'info' | 'warn' | 'error' = 'info'): void {
  const event = transferEvent(record, context);
  const { transfers, latency, duration } = transferInstruments();
  // Metrics split by company too, when the record names one.
  const company = event.companyName ? { company: event.companyName } : {};
  transfers.add(1, { status: event.status, source: event.source, action: event.action ?? 'None', errorCode: event.errorCode ?? 'None', ...company });
  duration.record(event.durationMs, { status: event.status, source: event.source, ...company });
  if (event.latencyMs !== null) latency.record(Math.max(0, event.latencyMs), { status: event.status, source: event.source, ...company });
  reportEvent(logger, TRANSFER_EVENT, event, level);
}

/** Reports one subscription check (`SubscriptionState`). */
export function reportSubscriptionState(logger: Logger, event: SubscriptionEvent): void {
  reportEvent(logger, SUBSCRIPTION_EVENT, subscriptionFields(event), event.action === 'Failed' ? 'error' : 'info');
}

/** One record per timer run (`TimerRun`): alerts find failing or silent timers from it. */
export const TIMER_EVENT = 'TimerRun';

export interface TimerRunEvent {
  timer: string;
  outcome: 'Succeeded' | 'Failed';
  durationMs: number;
  errorCode: string | null;
  message: string | null;
}

/**
 * Runs a timer's work and reports its outcome; a failure is reported and rethrown (the invocation fails). A timer
 * that runs every few seconds (`quietSuccess`) reports only its failures, so it does not flood the logs.
 */
export async function runTimer<T>(timer: string, logger: Logger, work: () => Promise<T>, options: { quietSuccess?: boolean } = {}): Promise<T> {
  const started = Date.now();
  try {
    const result = await work();
    if (!options.quietSuccess) reportEvent(logger, TIMER_EVENT, { timer, outcome: 'Succeeded', durationMs: Date.now() - started, errorCode: null, message: null } satisfies TimerRunEvent);
    return result;
  } catch (failure) {
    const errorCode = failure instanceof SyncError ? failure.code : failure instanceof Error ? failure.name : 'Error';
    const event: TimerRunEvent = { timer, outcome: 'Failed', durationMs: Date.now() - started, errorCode, message: redact(describeError(failure)).slice(0, 1000) };
    reportEvent(logger, TIMER_EVENT, event, 'error');
    throw failure;
  }
}

/**
 * One line per service per change of state, `ServiceOutage {json}` (the on-hold alert and docs/reliability.md read
 * it): `onHold` when the breaker opens, `stillOnHold` every few minutes while it stays open (one instance writes
 * it), `resumed` when it closes, with the number of customers that were waiting. Held messages write no line of
 * their own. `message` is the last failure, already redacted.
 */
export const SERVICE_OUTAGE_EVENT = 'ServiceOutage';

export interface ServiceOutageEvent {
  service: ServiceName;
  /** The company whose work is held (each company has its own hold). */
  companyId?: string;
  companyName?: string;
  state: 'onHold' | 'stillOnHold' | 'resumed';
  kind: OutageKind;
  since: string;
  retryAt: string | null;
  downMs: number;
  message: string | null;
  /** Openings so far: 1, plus one per failed probe. */
  openings: number;
  /** Customers waiting for the service (counted on `stillOnHold`, resumed on `resumed`); null when not known. */
  waiting: number | null;
}

export function serviceOutageLine(event: ServiceOutageEvent): string {
  return `${SERVICE_OUTAGE_EVENT} ${JSON.stringify(event)}`;
}

export function parseServiceOutageLine(line: string): ServiceOutageEvent | null {
  const at = line.indexOf(`${SERVICE_OUTAGE_EVENT} {`);
  if (at < 0) return null;
  try {
    return JSON.parse(line.slice(at + SERVICE_OUTAGE_EVENT.length + 1)) as ServiceOutageEvent;
  } catch {
    return null;
  }
}

/**
 * One line per process when Table Storage stops answering the workers and when it answers again,
 * `StorageOutage {json}` (a line every few minutes while it lasts): held messages write none of their own.
 * Storage cannot record its own outage, so each instance reports what it saw.
 */
export const STORAGE_OUTAGE_EVENT = 'StorageOutage';

export interface StorageOutageEvent {
  state: 'onHold' | 'stillOnHold' | 'resumed';
  since: string;
  downMs: number;
  /** Messages this instance put back on the queue meanwhile. */
  held: number;
  message: string | null;
}

/**
 * One record per last-line poison queue (`*-poison-poison`) where the sweeper found messages, `StrandedMessages
 * {json}`: how many it found, moved back to the poison queue they came from, and left (could not move now). An
 * alert counts them (docs/monitoring.md).
 */
export const STRANDED_MESSAGES_EVENT = 'StrandedMessages';

export interface StrandedMessagesEvent {
  queue: string;
  returnedTo: string;
  found: number;
  moved: number;
  left: number;
  /** Why the sweep of this queue stopped early, redacted; null when it did not. */
  error: string | null;
}
