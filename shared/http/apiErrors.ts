/**
 * The one error shape of every HTTP route: `{ "error": { "code": "...", "message": "..." } }`.
 * `code` is stable (clients branch on it); `message` is for people and may change.
 * The table below is documented in README.md ("HTTP API"); the agreement test keeps the two equal.
 */
import { describeError } from '../errors';

export const API_ERROR_CODES = {
  InvalidCustomerId: 400,
  InvalidCustomerNumber: 400,
  InvalidParameter: 400,
  InvalidContinuationToken: 400,
  InvalidBody: 400,
  CompanyRequired: 400,
  ClientStateMismatch: 401,
  CustomerNotFound: 404,
  UnknownCompany: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  AmbiguousCustomer: 409,
  ReconciliationRunning: 409,
  ReportNotReady: 409,
  BodyTooLarge: 413,
  InternalError: 500,
  BusinessCentralRejected: 502,
  IpaasRejected: 502,
  NotConfigured: 503,
  StorageUnavailable: 503,
  BusinessCentralUnavailable: 503,
  IpaasUnavailable: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** Structurally an `HttpResponseInit` of @azure/functions (shared/ does not import it). */
export interface ApiResponse {
  status: number;
  jsonBody: ApiErrorBody;
  headers: Record<string, string>;
}

/** An error reply; the status comes from the code, so a code always means the same status. */
export function apiError(code: ApiErrorCode, message: string, headers: Record<string, string> = {}): ApiResponse {
  return { status: API_ERROR_CODES[code], jsonBody: { error: { code, message } }, headers };
}

/** 503 with Retry-After: the caller may simply try again later. */
export function unavailable(code: 'NotConfigured' | 'StorageUnavailable' | 'BusinessCentralUnavailable', message: string, retryAfterSeconds = 30): ApiResponse {
  return apiError(code, message, { 'Retry-After': String(retryAfterSeconds) });
}

/**
 * What a route needs from the settings (`load`, e.g. getServices), or the 503 NotConfigured answer, logged as
 * `<what>: settings are not usable: ...`, when they cannot be loaded.
 */
export function loadOrNotConfigured<T>(
  load: () => T,
  logger: { error(message: string): void },
  what: string,
  message = 'The service is not configured; try again later',
): { ok: true; value: T } | { ok: false; response: ApiResponse } {
  try {
    return { ok: true, value: load() };
  } catch (failure) {
    logger.error(`${what}: settings are not usable: ${describeError(failure)}`);
    return { ok: false, response: unavailable('NotConfigured', message, 60) };
  }
}
