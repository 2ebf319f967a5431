/** What a storage failure means: its status and code, a detail safe to log, and the app's error for it. */
import { ConfigError } from '../config';
import { SyncError } from '../errors';
import { redact } from '../log';

/** HTTP status of an Azure SDK error, when the service answered. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The service's error code ("TableNotFound", "QueueNotFound", ...). The Tables SDK leaves
 * RestError.code empty and puts the OData error in the response body, so look there too.
 */
export function storageErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, response, message } = error as {
    code?: unknown;
    response?: { headers?: { get?: (name: string) => string | undefined }; parsedBody?: unknown };
    message?: unknown;
  };
  if (typeof code === 'string' && code) return code;
  const header = typeof response?.headers?.get === 'function' ? response.headers.get('x-ms-error-code') : undefined;
  if (header) return header;
  const fromBody = odataCode(response?.parsedBody);
  if (fromBody) return fromBody;
  if (typeof message === 'string' && message.startsWith('{')) {
    try {
      return odataCode(JSON.parse(message));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function odataCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const odata = (record.odataError ?? record['odata.error']) as { code?: unknown } | undefined;
  return typeof odata?.code === 'string' ? odata.code : undefined;
}

/** What went wrong, safe to log: status and service code, or the (redacted) network error. */
export function storageFailureDetail(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined) {
    const code = storageErrorCode(error);
    return `HTTP ${status}${code ? ` ${code}` : ''}`;
  }
  return redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);
}

/** Turns any failure of a storage call into a SyncError; already-classified errors pass through. */
export function storageError(operation: string, error: unknown): SyncError | ConfigError {
  if (error instanceof SyncError || error instanceof ConfigError) return error;
  const status = statusOf(error);
  // Only a malformed request cannot succeed later; auth, throttling, outages and network faults all can.
  const transient = status !== 400 && status !== 413;
  // A request storage refuses as malformed is not an outage: it gets its own code so it is not mistaken for one.
  return new SyncError(transient ? 'StorageUnavailable' : 'StorageRejected', `Storage ${operation} failed: ${storageFailureDetail(error)}`, {
    transient,
    ...(status === undefined ? {} : { status }),
    cause: error,
  });
}
