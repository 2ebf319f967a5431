/** Error codes recorded on transfers. The seed's named errors first, then this project's own (docs/architecture.md, Outcomes). */
export const ERROR_CODES = [
  'InvalidEmail',
  'MissingEmail',
  'DuplicateCustomerNumber',
  'DuplicateEmail',
  /** The one iPaaS.com customer with the email is already linked to another Business Central customer: nothing is written. */
  'EmailInUse',
  'MissingCustomerNumber',
  'MissingName',
  /** A required destination other than the seed's three (LastName, Company, Comment) is empty. */
  'MissingRequiredField',
  /** A formula or filter of the mapping file failed for this customer. */
  'MappingFailed',
  'RetriesExhausted',
  'InvalidMessage',
  'BusinessCentralUnavailable',
  'BusinessCentralError',
  'IpaasUnavailable',
  'IpaasRejected',
  'ConcurrentSync',
  'StorageUnavailable',
  'StorageRejected',
  'Configuration',
  'InternalError',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The remote services whose outages put work on hold. */
export const SERVICES = ['businessCentral', 'ipaas'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const SERVICE_LABELS: Record<ServiceName, string> = { businessCentral: 'Business Central', ipaas: 'iPaaS.com' };

/**
 * What a failure says about the whole service rather than one customer: `auth` (401/403, AUTH/AUTZ, the
 * credentials refused), `throttled` (429 asking to wait longer than in-process retries would), `unavailable`
 * (5xx, timeouts, network, replies of an unexpected shape, after the in-process retries).
 */
export type OutageKind = 'auth' | 'throttled' | 'unavailable';

export interface OutageSignal {
  service: ServiceName;
  kind: OutageKind;
}

/**
 * An expected failure with a code. `transient` says whether trying again later can succeed
 * (429, 5xx, timeouts, network) or not (validation, business rules, 4xx); adapters decide
 * between retrying and recording from that flag alone.
 */
export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  /** When the remote side asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** HTTP status of the remote reply that caused this, when there was one. */
  readonly status: number | undefined;
  /** Set when the failure is one of the whole service (see OutageKind); the sync then holds work instead of failing it. */
  readonly outage: OutageSignal | undefined;
  /** Error codes the remote service put in its reply (iPaaS.com `CATEGORY-NNNN`), when it sent any. */
  readonly remoteCodes: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { transient?: boolean; retryAfterMs?: number; status?: number; cause?: unknown; outage?: OutageSignal; remoteCodes?: readonly string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.transient = options.transient ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.outage = options.outage;
    this.remoteCodes = options.remoteCodes ?? [];
  }
}

export function isTransient(error: unknown): boolean {
  return error instanceof SyncError ? error.transient : true;
}

/** A message safe to log or store: never the raw cause text of unknown errors from deep inside a library. */
export function describeError(error: unknown): string {
  if (error instanceof SyncError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The service-level signal of a failure, if it is one. */
export function outageOf(error: unknown): OutageSignal | undefined {
  return error instanceof SyncError ? error.outage : undefined;
}
