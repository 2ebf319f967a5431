import * as z from 'zod/mini';

/** The shapes the console reads, checked on arrival; unknown extra fields are kept and ignored. */
export const transferSchema = z.looseObject({
  transferId: z.string(),
  customerId: z.string(),
  companyId: z.optional(z.string()),
  companyName: z.optional(z.string()),
  customerNumber: z.nullable(z.string()),
  source: z.string(),
  status: z.string(),
  action: z.nullable(z.string()),
  errorCode: z.nullable(z.string()),
  errorMessage: z.nullable(z.string()),
  ipaasCustomerId: z.nullable(z.string()),
  addressesAdded: z.number(),
  attempt: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  warnings: z.optional(z.array(z.string())),
});
export type Transfer = z.infer<typeof transferSchema>;

export const transferPageSchema = z.looseObject({
  transfers: z.array(transferSchema),
  nextLink: z.optional(z.nullable(z.string())),
});

export const customerHistorySchema = z.looseObject({
  customerId: z.string(),
  companyId: z.optional(z.string()),
  companyName: z.optional(z.string()),
  customerNumber: z.optional(z.nullable(z.string())),
  transfers: z.array(transferSchema),
});
export type CustomerHistory = z.infer<typeof customerHistorySchema>;

export const healthSchema = z.looseObject({ status: z.string() });
export type Health = z.infer<typeof healthSchema> & Record<string, unknown>;

export const statusSchema = z.looseObject({
  generatedAt: z.string(),
  subscription: z.looseObject({
    managed: z.boolean(),
    schedule: z.string(),
    current: z.nullable(z.looseObject({ subscriptionId: z.string(), expirationDateTime: z.string(), lastRenewedAt: z.string() })),
  }),
  poll: z.looseObject({ schedule: z.string(), watermark: z.nullable(z.string()) }),
  queues: z.looseObject({ sync: z.nullable(z.number()), poison: z.nullable(z.number()) }),
  features: z.looseObject({ dryRun: z.boolean(), reconciliation: z.boolean() }),
  companies: z.optional(
    z.array(
      z.looseObject({
        companyId: z.string(),
        companyName: z.string(),
        subscription: z.nullable(z.looseObject({ subscriptionId: z.string(), expirationDateTime: z.string(), lastRenewedAt: z.string() })),
        watermark: z.nullable(z.string()),
        lastPoll: z.nullable(z.looseObject({ outcome: z.string(), at: z.string(), failingSince: z.nullable(z.string()), error: z.nullable(z.string()), status: z.nullable(z.number()) })),
        lastSubscriptionCheck: z.nullable(z.looseObject({ outcome: z.string(), at: z.string(), error: z.nullable(z.string()), status: z.nullable(z.number()) })),
      }),
    ),
  ),
});
export type SyncStatus = z.infer<typeof statusSchema>;
export type CompanyStatus = NonNullable<SyncStatus['companies']>[number];

const changeSchema = z.looseObject({ field: z.string(), from: z.nullable(z.string()), to: z.nullable(z.string()) });
export type FieldChange = z.infer<typeof changeSchema>;

export const syncPlanSchema = z.looseObject({
  customerId: z.string(),
  companyId: z.optional(z.string()),
  customerNumber: z.nullable(z.string()),
  outcome: z.string(),
  errorCode: z.nullable(z.string()),
  reason: z.nullable(z.string()),
  ipaasCustomerId: z.nullable(z.string()),
  changes: z.array(changeSchema),
  addressesToAdd: z.array(z.record(z.string(), z.unknown())),
  externalIdLink: z.boolean(),
});
export type SyncPlan = z.infer<typeof syncPlanSchema>;

export const replayResultSchema = z.looseObject({
  replayed: z.number(),
  customerIds: z.array(z.string()),
  dryRun: z.boolean(),
  moreRemain: z.optional(z.boolean()),
  message: z.optional(z.string()),
  targets: z.optional(z.array(z.looseObject({ customerId: z.string(), companyId: z.string() }))),
});
export type ReplayResult = z.infer<typeof replayResultSchema>;

export const queuedSchema = z.looseObject({ customerId: z.string(), queued: z.boolean(), companyId: z.optional(z.string()) });

export const reconciliationStartSchema = z.looseObject({ runId: z.string() });

export const reconciliationSchema = z.looseObject({
  runId: z.string(),
  status: z.string(),
  startedAt: z.string(),
  finishedAt: z.nullable(z.string()),
  counts: z.record(z.string(), z.number()),
  companies: z.optional(z.array(z.looseObject({ companyId: z.string(), companyName: z.string(), counts: z.record(z.string(), z.number()) }))),
  items: z.array(
    z.looseObject({
      category: z.string(),
      customerId: z.nullable(z.string()),
      companyId: z.optional(z.string()),
      companyName: z.optional(z.string()),
      customerNumber: z.nullable(z.string()),
      ipaasCustomerId: z.nullable(z.string()),
      errorCode: z.nullable(z.string()),
      changes: z.optional(z.array(changeSchema)),
    }),
  ),
});
export type Reconciliation = z.infer<typeof reconciliationSchema>;

/** The route does not exist in this deployment (404 with no JSON error of ours, or 405). */
export class NotAvailableError extends Error {
  constructor(readonly path: string) {
    super('Not available in this deployment');
    this.name = 'NotAvailableError';
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const KEY_STORAGE = 'console.functionKey';

export function functionKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setFunctionKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key lasts as long as the page.
  }
}

/** Both error shapes: `{ "error": "message" }` and `{ "error": { "code", "message" } }`. */
export function errorOf(body: unknown): { code: string | null; message: string } | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const error = (body as { error: unknown }).error;
  if (typeof error === 'string') return { code: null, message: error };
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: typeof code === 'string' ? code : null, message: typeof message === 'string' ? message : 'The request failed' };
  }
  return null;
}

export interface Api {
  readonly base: string;
  get<T>(path: string, schema: z.ZodMiniType<T>): Promise<T>;
  /** JSON body always: nothing an operator types goes into a query string. */
  post<T>(path: string, body: unknown, schema: z.ZodMiniType<T>): Promise<T>;
  /** Raised when the API answers 401 (in Azure: a function key is needed). */
  onUnauthorized?: () => void;
}

export function createApi(base: string): Api {
  const api: Api = {
    base,
    get: (path, schema) => call('GET', path, undefined, schema),
    post: (path, body, schema) => call('POST', path, body, schema),
  };
  async function call<T>(method: string, path: string, body: unknown, schema: z.ZodMiniType<T>): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const key = functionKey();
    // A header, never ?code=: keys stay out of URLs, logs and browser history.
    if (key) headers['x-functions-key'] = key;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const url = path.startsWith('http') || path.startsWith('/') ? path : `${base.replace(/\/$/u, '')}/${path}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch {
      throw new ApiError(0, 'The function app did not answer (network error)', null);
    }
    const text = await response.text();
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const error = errorOf(json);
    if (response.status === 401) {
      api.onUnauthorized?.();
      throw new ApiError(401, 'The API needs a function key: enter it under "Function key"', error?.code ?? null);
    }
    // A route this deployment lacks: Azure answers an empty 404, the local host { error: { code: "NotFound" } }.
    if ((response.status === 404 && (!error || error.code === 'NotFound')) || response.status === 405) throw new NotAvailableError(path);
    if (!response.ok && !(response.status === 503 && json !== undefined && !error)) {
      throw new ApiError(response.status, error?.message ?? `The API answered ${response.status}`, error?.code ?? null);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiError(response.status, `Unexpected answer from ${path}: ${parsed.error.issues[0]?.message ?? 'wrong shape'}`, null);
    return parsed.data;
  }
  return api;
}
