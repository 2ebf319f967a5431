import { ErrorCode, SyncError, type OutageKind, type ServiceName } from '../errors';
import { ConcurrencyLimiter } from './limiter';
import { deadline } from './deadline';
import { checkWriteGuard } from './writeGuard';
import { SpanStatusCode } from '@opentelemetry/api';
import { operationName, serverOf, telemetryUrl, withDependencySpan } from '../observability';

export interface RetryPolicy {
  /** Attempts in this process before giving up and letting the queue retry later. */
  maxAttempts: number;
  baseDelayMs: number;
  /** Longest single wait, whether computed or asked for by Retry-After. A longer Retry-After ends in-process retries. */
  maxDelayMs: number;
}

export interface HttpClientOptions {
  /** Used in error messages: "Business Central", "iPaaS.com". */
  serviceName: string;
  /** Which service this client talks to: failures of the whole service carry it (SyncError.outage). */
  service?: ServiceName;
  /** Error code for failures that may pass (429, 5xx, timeouts, network). */
  transientCode: ErrorCode;
  /** Error code for replies that will not change on retry (4xx other than 408/429). */
  finalCode: ErrorCode;
  getAuthorization: () => Promise<string>;
  maxConcurrent: number;
  /**
   * A budget shared with other instances (Business Central's limits are per app registration): each HTTP
   * exchange runs on one of its slots, inside the in-process cap. The token fetch is not counted.
   */
  budget?: RequestBudget;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Extracts a readable error from a non-2xx body; must not include secrets. */
  describeErrorBody?: (body: unknown) => string | undefined;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called for every HTTP exchange (after the reply or failure); used for request counting and telemetry. */
  onExchange?: (exchange: { method: string; url: string; status: number | 'error'; attempt: number; durationMs: number }) => void;
}

/** Runs an operation when a shared budget allows (shared/http/sharedBudget.ts). */
export interface RequestBudget {
  run<T>(operation: () => Promise<T>): Promise<T>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * Whether sending it twice is harmless. Default: every method but POST. A non-idempotent request is
   * retried here only after answers that say it was not processed (408, 429, 503); after a timeout, a
   * dropped connection or another 5xx it may have been done, so the failure goes up (transient) and the
   * caller's next attempt re-reads the state first instead of writing blindly again.
   */
  idempotent?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** The credentials were refused: no retry here can change that, but the service is not at fault per customer. */
const AUTH_STATUS = new Set([401, 403]);
/** Answers that mean the server did not act on the request, so even a POST may be sent again. */
const NOT_PROCESSED_STATUS = new Set([408, 429, 503]);

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/u.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * JSON over HTTP with a per-client concurrency cap, timeouts, retries with exponential backoff
 * and jitter honouring Retry-After, and every failure classified as transient or final.
 * Calls the global fetch at request time so test interceptors see every request.
 *
 * Connections: Node's fetch keeps them alive and reuses them per origin by itself, and opens about as many to
 * an origin as there are requests in flight, which the limiter caps at `maxConcurrent`; the timeout (an abort
 * signal) covers the whole exchange, connecting included. So no connection pool of our own is configured
 * (test/http/httpClient.test.ts holds all three to it against a real socket).
 */
export class HttpClient {
  private readonly limiter: ConcurrencyLimiter;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: HttpClientOptions) {
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Sends the request, retrying transient failures. Returns any 2xx or 404 reply; throws SyncError otherwise. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const { retry } = this.options;
    for (let attempt = 1; ; attempt += 1) {
      let failure: SyncError;
      try {
        const response = await this.limiter.run(() => this.exchange(request, attempt));
        if ((response.status >= 200 && response.status < 300) || response.status === 404) return response;
        failure = this.toError(request, response);
      } catch (error) {
        if (error instanceof SyncError) throw error;
        failure = this.networkError(request, error);
      }
      if (!failure.transient || failure.outage?.kind === 'auth') throw failure;
      const idempotent = request.idempotent ?? request.method !== 'POST';
      if (!idempotent && !(failure.status !== undefined && NOT_PROCESSED_STATUS.has(failure.status))) throw failure;
      const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      const delay = failure.retryAfterMs ?? Math.round(backoff / 2 + (this.random() * backoff) / 2);
      if (delay > retry.maxDelayMs) throw this.withOutage(failure, 'throttled');
      if (attempt >= retry.maxAttempts) throw failure;
      await this.sleep(delay);
    }
  }

  private async exchange(request: HttpRequest, attempt: number): Promise<HttpResponse> {
    // A write goes out only while the caller may still write (its lease, shared/http/writeGuard.ts): checked per
    // attempt and once a concurrency slot is ours, right before sending, so no retry outlives the right to write.
    if (request.method !== 'GET') await checkWriteGuard();
    // The token first: its own dependency (when it is fetched) is not part of this call's duration.
    const authorization = await this.authorization();
    const budget = this.options.budget;
    if (!budget) return this.exchangeWith(request, attempt, authorization);
    let slotTaken = false;
    try {
      return await budget.run(() => {
        slotTaken = true;
        return this.exchangeWith(request, attempt, authorization);
      });
    } catch (error) {
      if (slotTaken) throw error;
      // Storage failing under the budget is an outage of storage (the worker holds the message for it, without
      // spending a delivery); a wait for a slot that ran out is transient: the queue delivers the message again.
      if (error instanceof SyncError && error.code === 'StorageUnavailable') {
        throw new SyncError('StorageUnavailable', `${this.options.serviceName} request not sent: the shared request budget is unavailable (${error.message})`, { transient: true, cause: error });
      }
      throw new SyncError(this.options.transientCode, `${this.options.serviceName} request not sent: the shared request budget is unavailable (${error instanceof Error ? error.message : String(error)})`, { transient: true });
    }
  }

  private async exchangeWith(request: HttpRequest, attempt: number, authorization: string): Promise<HttpResponse> {
    const started = Date.now();
    const headers: Record<string, string> = {
      Accept: 'application/json',
      ...request.headers,
      Authorization: authorization,
    };
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
    let status: number | 'error' = 'error';
    const dependency = {
      service: this.options.serviceName,
      name: operationName(request.method, request.url),
      server: serverOf(request.url),
      attributes: {
        'http.request.method': request.method,
        'url.full': telemetryUrl(request.url),
        ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
      },
    };
    // The timeout covers the whole exchange, connecting and reading the body included; cleared once it has ended.
    const timeout = deadline(this.options.timeoutMs);
    try {
      return await withDependencySpan(dependency, async (span) => {
        const init: RequestInit = {
          method: request.method,
          headers,
          signal: timeout.signal,
          ...(body === undefined ? {} : { body }),
        };
        const response = await timeout.bound(globalThis.fetch(request.url, init));
        status = response.status;
        span.setAttribute('http.response.status_code', response.status);
        // 404 is an answer the clients expect (a deleted customer), not a failed call.
        if (response.status >= 400 && response.status !== 404) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute('error.type', String(response.status));
        }
        const text = await timeout.bound(response.text());
        return { status: response.status, headers: response.headers, body: parseJson(text) };
      });
    } finally {
      timeout.clear();
      this.options.onExchange?.({
        method: request.method,
        url: request.url,
        status,
        attempt,
        durationMs: Date.now() - started,
      });
    }
  }

  private async authorization(): Promise<string> {
    try {
      return await this.options.getAuthorization();
    } catch (error) {
      throw new SyncError(
        this.options.transientCode,
        `${this.options.serviceName}: could not obtain an access token (${error instanceof Error ? error.name : 'error'}); check the credentials settings`,
        { transient: true, cause: error, ...this.outage('unavailable') },
      );
    }
  }

  private outage(kind: OutageKind): { outage?: { service: ServiceName; kind: OutageKind } } {
    return this.options.service ? { outage: { service: this.options.service, kind } } : {};
  }

  /** The same failure, marked as a failure of the whole service. */
  private withOutage(failure: SyncError, kind: OutageKind): SyncError {
    if (!this.options.service) return failure;
    return new SyncError(failure.code, failure.message, {
      transient: true,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
      cause: failure.cause,
      ...this.outage(kind),
    });
  }

  private toError(request: HttpRequest, response: HttpResponse): SyncError {
    const detail = this.options.describeErrorBody?.(response.body);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    const message = `${this.options.serviceName} ${request.method} ${pathOf(request.url)} answered ${response.status}${detail ? `: ${detail}` : ''}`;
    // With a known service, refused credentials are an outage of that service (an expired key), held and retried.
    if (AUTH_STATUS.has(response.status) && this.options.service) {
      return new SyncError(this.options.transientCode, message, { transient: true, status: response.status, ...this.outage('auth') });
    }
    const transient = RETRYABLE_STATUS.has(response.status) || response.status >= 500;
    return new SyncError(transient ? this.options.transientCode : this.options.finalCode, message, {
      transient,
      status: response.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(transient ? this.outage('unavailable') : {}),
    });
  }

  private networkError(request: HttpRequest, error: unknown): SyncError {
    // DOMException may come from another realm (test runners), so look at the name, not the class.
    const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
    const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
    const reason = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${this.options.timeoutMs} ms` : `failed (${message})`;
    return new SyncError(
      this.options.transientCode,
      `${this.options.serviceName} ${request.method} ${pathOf(request.url)} ${reason}`,
      { transient: true, cause: error, ...this.outage('unavailable') },
    );
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Path without the query string: queries can hold emails. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}
