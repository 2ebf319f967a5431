import { ClientAssertionCredential, ClientSecretCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { DEFAULT_AUTHORITY_HOST, type Config } from '../config';
import { SyncError } from '../errors';
import { GUID_PATTERN, isGuid, normalizeGuid } from '../guid';
import { SharedRequestBudget } from '../http/sharedBudget';
import type { SlotLeases } from '../storage/blobLeases';
import type { Clock } from '../clock';
import { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse, type RequestBudget } from '../http/httpClient';
import { redact } from '../log';
import { serverOf, withDependencySpan } from '../observability';
import { formatQuery, maxPageSizePreference, odataDateTime, odataString } from './odata';
import {
  bcCustomerSchema,
  bcSubscriptionSchema,
  type BcCustomer,
  type BcSubscription,
  type BusinessCentralApi,
  type CustomerPage,
  type ListCustomersOptions,
} from './types';

/** The client-credentials scope for Business Central online, whatever the API base URL. */
export const BUSINESS_CENTRAL_SCOPE = 'https://api.businesscentral.dynamics.com/.default';
export const DEFAULT_PAGE_SIZE = 1_000;
/** Business Central online never returns more than this many entities per page. */
export const MAX_PAGE_SIZE = 20_000;
/** Customer."No." is Code[20]: a longer value can match no customer, and Business Central rejects it in a filter. */
const MAX_CUSTOMER_NUMBER_LENGTH = 20;
/** A cached token is replaced this long before it expires. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

export interface BusinessCentralClientOptions {
  /** Waits between retries; tests pass a spy that resolves at once. */
  sleep?: (ms: number) => Promise<void>;
  onExchange?: HttpClientOptions['onExchange'];
  /** Replaces the ClientSecretCredential built from the settings (managed identity, tests). */
  credential?: TokenCredential;
  random?: () => number;
  /** The budget shared by every instance (BC_SHARED_BUDGET); each request takes one of its slots. */
  budget?: RequestBudget;
}

/**
 * The credential for the settings. `clientSecret`: ClientSecretCredential. `managedIdentity`: the app
 * registration's client-assertion flow, the assertion being a managed-identity token for the token-exchange
 * audience, which the registration's federated credential trusts. Instance discovery only works against
 * Microsoft's public cloud host.
 */
export function createBusinessCentralCredential(config: Config['businessCentral']): TokenCredential {
  const publicCloud = sameOrigin(config.authorityHost, DEFAULT_AUTHORITY_HOST);
  const options = { authorityHost: config.authorityHost, ...(publicCloud ? {} : { disableInstanceDiscovery: true }) };
  if (config.credential === 'clientSecret') return new ClientSecretCredential(config.tenantId, config.clientId, config.clientSecret, options);
  const identity = new ManagedIdentityCredential(config.managedIdentityClientId ? { clientId: config.managedIdentityClientId } : {});
  const audience = tokenExchangeAudience(config.authorityHost);
  return new ClientAssertionCredential(
    config.tenantId,
    config.clientId,
    async () => {
      const token = await identity.getToken(`${audience}/.default`);
      if (!token) throw new Error('the managed identity returned no token for the token exchange');
      return token.token;
    },
    options,
  );
}

/** The audience a federated credential expects, per cloud (Entra ID documents one per national cloud). */
export function tokenExchangeAudience(authorityHost: string): string {
  const host = URL.canParse(authorityHost) ? new URL(authorityHost).hostname : '';
  if (host.endsWith('.microsoftonline.us')) return 'api://AzureADTokenExchangeUSGov';
  if (host.endsWith('.chinacloudapi.cn')) return 'api://AzureADTokenExchangeChina';
  return 'api://AzureADTokenExchange';
}

/**
 * Business Central API v2.0 for one company: customers (by id, by number, changed since) and the
 * environment's webhook subscriptions. One instance per process: its limiter caps requests in flight
 * at `http.bcMaxConcurrent` (Business Central processes 5 per principal at once and queues the rest); with
 * `options.budget` (BC_SHARED_BUDGET) each request also takes a slot shared by every instance.
 */
export function createBusinessCentralClient(
  config: Config['businessCentral'],
  http: Config['http'],
  options: BusinessCentralClientOptions = {},
): BusinessCentralApi {
  return new BusinessCentralClient(new BusinessCentralConnection(config, http, options), config.companyId);
}

/** Business Central's limit per app registration: 6,000 requests in any 5 minutes. */
const BC_REQUESTS_PER_WINDOW = 6_000;
const BC_WINDOW_MS = 5 * 60_000;

/**
 * The request budget every instance shares through blob leases (storage enforces their expiry):
 * `http.bcMaxConcurrent` slots (5 by default, Business Central's concurrent limit per registration), each spacing
 * its requests so that all slots together stay within 6,000 per 5 minutes. A request waits for a slot at most
 * twice HTTP_TIMEOUT_MS: by then every slot has either been handed on or its request has timed out, so a longer
 * wait means the budget is saturated by other instances (or storage is slow); the request then fails as
 * transient and its queue message comes back later.
 */
export function createBusinessCentralBudget(http: Config['http'], leases: SlotLeases, options: { clock?: Clock } = {}): SharedRequestBudget {
  return new SharedRequestBudget({
    slots: http.bcMaxConcurrent,
    leases,
    minIntervalMs: Math.ceil((BC_WINDOW_MS * http.bcMaxConcurrent) / BC_REQUESTS_PER_WINDOW),
    maxWaitMs: budgetWaitMs(http),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** A slot's lease (blob leases last 15 to 60 s): the longest storage allows, renewed every 20 s while held. */
export const BUDGET_LEASE_SECONDS = 60;
/** The budget's name: its slots are `request-budget/bc-request-budget/slot-<n>`. */
export const BUDGET_NAME = 'bc-request-budget';

/** How long a Business Central request waits for a slot of the shared budget: twice HTTP_TIMEOUT_MS. */
export function budgetWaitMs(http: Pick<Config['http'], 'timeoutMs'>): number {
  return 2 * http.timeoutMs;
}

/** An OData collection page: `value` and, while more pages remain, `@odata.nextLink` (null or "" means the last page). */
export const listPageSchema = z.looseObject({
  value: z.array(z.unknown()),
  '@odata.nextLink': z
    .string()
    .nullish()
    .transform((value) => (value ? value : undefined)),
});

/** Text of an error body's field when it is text; anything else is ignored (an error body never fails to parse). */
const errorText = z.unknown().optional().transform((value) => (typeof value === 'string' ? value : undefined));

/** `{ error: { code, message } }`: the two texts read when present, any type tolerated. */
export const bcErrorBodySchema = z.looseObject({
  error: z.looseObject({ code: errorText, message: errorText }),
});

/** OAuth errors that retrying cannot fix: wrong tenant, client id, secret or scope. */
const CREDENTIAL_ERRORS = /^(invalid_client|unauthorized_client|invalid_scope|invalid_resource|invalid_request|invalid_grant|unsupported_grant_type|invalid_tenant)\b/u;

/**
 * Business Central API v2.0 for several companies of one environment: one connection (token, the in-process cap,
 * the shared budget) serves them all, since Business Central's limits are per app registration. `onExchange`
 * sees every request; `companyOfBusinessCentralUrl` tells whose it was.
 */
export function createBusinessCentralClients(
  config: Config['businessCentral'],
  companyIds: readonly string[],
  http: Config['http'],
  options: BusinessCentralClientOptions = {},
): Map<string, BusinessCentralApi> {
  const connection = new BusinessCentralConnection(config, http, options);
  return new Map(companyIds.map((companyId) => [normalizeGuid(companyId), new BusinessCentralClient(connection, companyId)]));
}

/** The company a Business Central request URL names (`.../companies({id})/...`); undefined for environment-level requests. */
export function companyOfBusinessCentralUrl(url: string): string | undefined {
  const match = /\/companies\(\s*'?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'?\s*\)/iu.exec(url);
  return match?.[1]?.toLowerCase();
}

/** What the clients of one environment share: the token, the HTTP client with its cap and budget, the roots. */
class BusinessCentralConnection {
  readonly http: HttpClient;
  /** `{base}/{tenant}/{environment}`: notification resources are relative to it. */
  readonly environmentRoot: string;
  /** `{environmentRoot}/api/v2.0` */
  readonly apiRoot: string;
  readonly apiOrigin: string;
  private readonly credential: TokenCredential;
  private readonly timeoutMs: number;
  private pendingToken: Promise<string> | undefined;
  private cachedToken: { header: string; refreshAt: number } | undefined;
  private readonly authorityHost: string;

  constructor(config: Config['businessCentral'], http: Config['http'], options: BusinessCentralClientOptions) {
    const base = config.apiBaseUrl.replace(/\/+$/u, '');
    this.apiOrigin = new URL(base).origin;
    this.environmentRoot = `${base}/${encodeURIComponent(config.tenantId)}/${encodeURIComponent(config.environment)}`;
    this.apiRoot = `${this.environmentRoot}/api/v2.0`;
    this.credential = options.credential ?? createBusinessCentralCredential(config);
    this.authorityHost = config.authorityHost;
    this.timeoutMs = http.timeoutMs;
    this.http = new HttpClient({
      serviceName: 'Business Central',
      service: 'businessCentral',
      transientCode: 'BusinessCentralUnavailable',
      finalCode: 'BusinessCentralError',
      getAuthorization: () => this.authorization(),
      maxConcurrent: http.bcMaxConcurrent,
      ...(options.budget ? { budget: options.budget } : {}),
      timeoutMs: http.timeoutMs,
      retry: { maxAttempts: http.maxAttempts, baseDelayMs: http.retryBaseMs, maxDelayMs: http.retryMaxDelayMs },
      describeErrorBody: describeBusinessCentralError,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.onExchange ? { onExchange: options.onExchange } : {}),
    });
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.http.send(request);
    } catch (error) {
      // A revoked or otherwise refused token is not used again.
      if (error instanceof SyncError && error.status === 401) this.cachedToken = undefined;
      throw credentialFailure(error) ?? error;
    }
  }

  /** One token request at a time: concurrent first calls share it instead of each asking Entra ID. */
  private authorization(): Promise<string> {
    if (this.pendingToken === undefined) {
      const pending: Promise<string> = this.acquireToken().finally(() => {
        if (this.pendingToken === pending) this.pendingToken = undefined;
      });
      this.pendingToken = pending;
    }
    return this.pendingToken;
  }

  private async acquireToken(): Promise<string> {
    // Kept here until shortly before it expires, so a token request (and its dependency in telemetry) is a real one.
    const cached = this.cachedToken;
    if (cached && Date.now() < cached.refreshAt) return cached.header;
    const token = await withDependencySpan({ service: 'Entra ID', name: 'token', server: serverOf(this.authorityHost) }, async () => {
      // The timeout keeps a hung authority from blocking a slot forever.
      const issued = await this.credential.getToken(BUSINESS_CENTRAL_SCOPE, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      if (!issued) throw new Error('the credential returned no token');
      return issued;
    });
    const header = `Bearer ${token.token}`;
    const refreshAt = Math.min(token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY, token.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS);
    this.cachedToken = { header, refreshAt };
    return header;
  }
}

class BusinessCentralClient implements BusinessCentralApi {
  readonly customersResource: string;
  private readonly environmentRoot: string;
  private readonly apiRoot: string;
  private readonly customersUrl: string;
  private readonly apiOrigin: string;

  constructor(
    private readonly connection: BusinessCentralConnection,
    rawCompanyId: string,
  ) {
    if (!GUID_PATTERN.test(rawCompanyId)) {
      throw new SyncError('Configuration', 'BC_COMPANY_ID must be a GUID', { transient: false });
    }
    const companyId = normalizeGuid(rawCompanyId);
    this.apiOrigin = connection.apiOrigin;
    this.environmentRoot = connection.environmentRoot;
    this.apiRoot = connection.apiRoot;
    this.customersResource = `/api/v2.0/companies(${companyId})/customers`;
    this.customersUrl = `${this.environmentRoot}${this.customersResource}`;
  }

  // ------------------------------------------------------------------ customers

  async getCustomer(customerId: string): Promise<BcCustomer | null> {
    const id = normalizeGuid(customerId);
    if (!isGuid(id)) throw final('Business Central customer id must be a GUID; nothing was requested');
    const response = await this.send({ method: 'GET', url: `${this.customersUrl}(${id})` });
    if (response.status === 404) {
      // "Resource not found for the segment" means a wrong URL (company, environment), not a deleted customer.
      if (errorCodeOf(response.body) === 'BadRequest_ResourceNotFound') throw this.unexpected404('GET', `${this.customersUrl}(${id})`, response);
      return null;
    }
    const customer = parse(bcCustomerSchema, response.body, 'GET customers(id) returned a customer that');
    if (customer.id !== id) throw final(`Business Central GET customers(${id}) returned a different customer (${customer.id})`);
    return customer;
  }

  async findCustomerByNumber(customerNumber: string): Promise<BcCustomer | null> {
    if (!isWellFormedText(customerNumber)) throw final('Business Central customer number is not valid text; nothing was requested');
    if (customerNumber.length === 0 || customerNumber.length > MAX_CUSTOMER_NUMBER_LENGTH) return null;
    const url = `${this.customersUrl}${formatQuery([['$filter', `number eq ${odataString(customerNumber)}`]])}`;
    const response = await this.send({ method: 'GET', url, headers: { Prefer: maxPageSizePreference(2) } });
    if (response.status === 404) throw this.unexpected404('GET', url, response);
    const customers = parseCustomerPage(response.body).customers;
    // Guards against a server that ignored the filter: only an exact (case-insensitive, as SQL compares) match counts.
    const wanted = customerNumber.toUpperCase();
    return customers.find((customer) => customer.number.toUpperCase() === wanted) ?? null;
  }

  listCustomers(options: ListCustomersOptions = {}): AsyncIterable<BcCustomer[]> {
    // Validate eagerly so a bad argument fails at the call, not at the first iteration.
    const firstUrl = this.firstListUrl(options);
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw final(`Business Central page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
    return this.customerArrays(this.pages(firstUrl, pageSize));
  }

  listCustomerPages(options: ListCustomersOptions & { resumeFrom?: string } = {}): AsyncIterable<CustomerPage> {
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw final(`Business Central page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
    const firstUrl = options.resumeFrom !== undefined ? this.checkNextLink(options.resumeFrom, this.customersUrl) : this.firstListUrl(options);
    return this.pages(firstUrl, pageSize);
  }

  async readCustomerPage(options: ListCustomersOptions, nextLink?: string): Promise<CustomerPage> {
    const firstUrl = this.firstListUrl(options);
    const pageSize = checkedPageSize(options.pageSize);
    const url = nextLink === undefined ? firstUrl : this.checkNextLink(nextLink, firstUrl);
    const response = await this.send({ method: 'GET', url, headers: { Prefer: maxPageSizePreference(pageSize) } });
    if (response.status === 404) throw this.unexpected404('GET', url, response);
    const page = parseCustomerPage(response.body);
    const next = page.nextLink === undefined ? undefined : this.checkNextLink(page.nextLink, url);
    if (next === url) throw final('Business Central returned a nextLink that repeats the page just read; stopped paging');
    return { customers: page.customers, nextLink: next };
  }

  private async *customerArrays(pages: AsyncIterable<CustomerPage>): AsyncGenerator<BcCustomer[]> {
    for await (const page of pages) if (page.customers.length > 0) yield page.customers;
  }

  private async *pages(firstUrl: string, pageSize: number): AsyncGenerator<CustomerPage> {
    const visited = new Set<string>();
    let url: string | undefined = firstUrl;
    while (url !== undefined) {
      if (visited.has(url)) throw final('Business Central returned a nextLink that repeats an earlier page; stopped paging');
      visited.add(url);
      const response = await this.send({ method: 'GET', url, headers: { Prefer: maxPageSizePreference(pageSize) } });
      if (response.status === 404) throw this.unexpected404('GET', url, response);
      const page = parseCustomerPage(response.body);
      // The page is handed over before a bad nextLink stops the paging: its customers are good.
      let next: string | undefined;
      let refused: unknown;
      try {
        next = page.nextLink === undefined ? undefined : this.checkNextLink(page.nextLink, url);
      } catch (error) {
        refused = error;
      }
      yield { customers: page.customers, nextLink: next };
      if (refused !== undefined) throw refused;
      url = next;
    }
  }

  private firstListUrl(options: ListCustomersOptions): string {
    const filters: string[] = [];
    if (options.collectionResource !== undefined) {
      const resourceFilter = this.collectionFilter(options.collectionResource);
      if (resourceFilter !== undefined) filters.push(/\bor\b/iu.test(resourceFilter) ? `(${resourceFilter})` : resourceFilter);
    }
    if (options.modifiedSince !== undefined) {
      const since = odataDateTime(options.modifiedSince);
      if (since === undefined) throw final('modifiedSince must be an ISO date-time');
      filters.push(`lastModifiedDateTime gt ${since}`);
    }
    const query: Array<[string, string]> = filters.length === 0 ? [] : [['$filter', filters.join(' and ')]];
    if (options.select !== undefined) {
      const fields = [...new Set(['id', ...options.select])];
      if (!fields.every((field) => SELECTABLE.test(field))) throw final('$select takes entity property names only');
      query.push(['$select', fields.join(',')]);
    }
    return `${this.customersUrl}${formatQuery(query)}`;
  }

  /**
   * The $filter of a `collection` notification resource, after checking the resource is this company's
   * customers collection: the request carries our token, so the notification must not choose where it goes.
   */
  private collectionFilter(resource: string): string | undefined {
    const refuse = () => final("Business Central collection resource is not this company's customers collection; refused");
    const trimmed = resource.trim();
    let url: URL;
    try {
      const relative = trimmed.replace(/^\/+/u, '');
      // Resources are relative to the environment (`api/v2.0/companies(...)/...`) or, in short form, to the API root.
      url = /^https?:\/\//iu.test(trimmed)
        ? new URL(trimmed)
        : new URL(/^companies\(/iu.test(relative) ? `${this.apiRoot}/${relative}` : `${this.environmentRoot}/${relative}`);
    } catch {
      throw refuse();
    }
    if (url.origin !== this.apiOrigin || url.hash !== '') throw refuse();
    if (normalizeResourcePath(url.pathname) !== normalizeResourcePath(new URL(this.customersUrl).pathname)) throw refuse();
    let filter: string | undefined;
    for (const [name, value] of url.searchParams) {
      // Only $filter is kept; other options ($top, $skiptoken, $expand, ...) would change what we read.
      if (name !== '$filter' || filter !== undefined) throw refuse();
      filter = value;
    }
    return filter === undefined || filter.trim() === '' ? undefined : filter;
  }

  /** Follows only links to this company's customers on the API's own origin: anywhere else would receive our token. */
  private checkNextLink(link: string, current: string): string {
    let next: URL;
    try {
      next = new URL(link, current);
    } catch {
      throw final('Business Central returned an invalid @odata.nextLink');
    }
    const expectedPath = normalizeResourcePath(new URL(this.customersUrl).pathname);
    if (next.origin !== this.apiOrigin || normalizeResourcePath(next.pathname) !== expectedPath) {
      throw final(`Business Central returned an @odata.nextLink outside ${this.apiOrigin}${expectedPath}; refused to follow it with our token`);
    }
    return next.toString();
  }

  // ------------------------------------------------------------------ subscriptions

  async listSubscriptions(): Promise<BcSubscription[]> {
    const url = `${this.apiRoot}/subscriptions`;
    const response = await this.send({ method: 'GET', url });
    if (response.status === 404) throw this.unexpected404('GET', url, response);
    const page = parse(listPageSchema, response.body, 'GET subscriptions returned a body that');
    return page.value.map((item, index) => parse(bcSubscriptionSchema, item, `GET subscriptions item ${index}`));
  }

  async createSubscription(input: { notificationUrl: string; resource: string; clientState: string }): Promise<BcSubscription> {
    const url = `${this.apiRoot}/subscriptions`;
    const response = await this.send({ method: 'POST', url, body: subscriptionBody(input) });
    if (response.status === 404) throw this.unexpected404('POST', url, response);
    return parse(bcSubscriptionSchema, response.body, 'POST subscriptions returned a subscription that');
  }

  async renewSubscription(subscription: BcSubscription): Promise<BcSubscription> {
    const url = this.subscriptionUrl(subscription.subscriptionId);
    // Business Central renews on PATCH (with a new handshake); sending the same values keeps them unchanged.
    const response = await this.send({
      method: 'PATCH',
      url,
      headers: { 'If-Match': subscription['@odata.etag'] },
      body: renewalBody(subscription),
    });
    if (response.status === 404) {
      throw new SyncError('BusinessCentralError', 'Business Central subscription no longer exists (expired or deleted)', { transient: false, status: 404 });
    }
    return parse(bcSubscriptionSchema, response.body, 'PATCH subscriptions returned a subscription that');
  }

  async deleteSubscription(subscription: BcSubscription): Promise<void> {
    const url = this.subscriptionUrl(subscription.subscriptionId);
    // A 404 means it is already gone, which is what the caller wants.
    await this.send({ method: 'DELETE', url, headers: { 'If-Match': subscription['@odata.etag'] } });
  }

  /** The key is an Edm.String: quoted, quotes doubled, then percent-encoded as a path segment. */
  private subscriptionUrl(subscriptionId: string): string {
    return `${this.apiRoot}/subscriptions(${encodeURIComponent(odataString(subscriptionId))})`;
  }

  // ------------------------------------------------------------------ plumbing

  private send(request: HttpRequest): Promise<HttpResponse> {
    return this.connection.send(request);
  }

  private unexpected404(method: string, url: string, response: HttpResponse): SyncError {
    const detail = describeBusinessCentralError(response.body);
    return new SyncError(
      'BusinessCentralError',
      `Business Central ${method} ${new URL(url).pathname} answered 404${detail ? `: ${detail}` : ''}; check BC_TENANT_ID, BC_ENVIRONMENT and BC_COMPANY_ID`,
      { transient: false, status: 404 },
    );
  }
}

/** An entity property name as $select takes it. */
const SELECTABLE = /^[A-Za-z][A-Za-z0-9_]*$/u;

function checkedPageSize(pageSize: number | undefined): number {
  const size = pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw final(`Business Central page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

function subscriptionBody(input: { notificationUrl: string; resource: string; clientState: string }): Record<string, string> {
  return { notificationUrl: input.notificationUrl, resource: input.resource, clientState: input.clientState };
}

/** Omitted properties keep their values: an empty clientState (not returned by the service) must not erase the secret. */
function renewalBody(subscription: BcSubscription): Record<string, string> {
  const body = subscriptionBody(subscription);
  if (subscription.clientState === '') delete body.clientState;
  return body;
}

function parseCustomerPage(body: unknown): { customers: BcCustomer[]; nextLink: string | undefined } {
  const page = parse(listPageSchema, body, 'GET customers returned a page that');
  return {
    customers: page.value.map((item, index) => parse(bcCustomerSchema, item, `GET customers returned item ${index} that`)),
    nextLink: page['@odata.nextLink'],
  };
}

/** Validates a response body; the error names the field, never its value (values are personal data). */
function parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? `field '${issue.path.join('.')}'` : 'the body';
  return throwFinal(`Business Central ${what} is malformed: ${field} ${issue?.message ?? 'is invalid'}`);
}

function throwFinal(message: string): never {
  throw final(message);
}

function final(message: string): SyncError {
  return new SyncError('BusinessCentralError', message, { transient: false });
}

/** `{ error: { code, message } }` as text for error messages, with personal data and secrets masked. */
export function describeBusinessCentralError(body: unknown): string | undefined {
  const parsed = bcErrorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { code, message } = parsed.data.error;
  const text = [code, message].filter((part): part is string => typeof part === 'string' && part.length > 0).join(': ');
  if (text.length === 0) return undefined;
  const clean = redact(text);
  return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
}

function errorCodeOf(body: unknown): string | undefined {
  const parsed = bcErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error.code : undefined;
}

/**
 * Entra ID rejecting the app (wrong tenant, client id, secret or scope) will not pass on retry: a final
 * Configuration error naming the OAuth error and AADSTS code only, never the description or the secret.
 */
function credentialFailure(error: unknown): SyncError | undefined {
  if (!(error instanceof SyncError)) return undefined;
  // Duck-typed: the identity library's errors may come from another realm (jest, bundlers).
  const causeMessage: unknown = typeof error.cause === 'object' && error.cause !== null ? (error.cause as { message?: unknown }).message : undefined;
  if (typeof causeMessage !== 'string') return undefined;
  const oauth = CREDENTIAL_ERRORS.exec(causeMessage);
  if (!oauth) return undefined;
  const aadsts = /AADSTS(\d+)/u.exec(causeMessage);
  return new SyncError(
    'Configuration',
    `Business Central: Entra ID refused the client credentials (${oauth[1]}${aadsts ? `, AADSTS${aadsts[1]}` : ''}); check BC_TENANT_ID, BC_CLIENT_ID and BC_CLIENT_SECRET (or, with BC_CREDENTIAL=managedIdentity, the app registration's federated credential)`,
    // An expired secret refuses every customer alike: the sync holds the work until the credentials work again.
    { transient: true, outage: { service: 'businessCentral', kind: 'auth' } },
  );
}

/** Path with percent-escapes decoded, GUIDs lower-cased, no trailing slash: two spellings of one resource compare equal. */
function normalizeResourcePath(pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
  return decoded
    .replace(/\/+$/u, '')
    .replace(/\(\s*'?([0-9a-f-]{36})'?\s*\)/giu, (_match, guid: string) => `(${guid.toLowerCase()})`);
}

/** False for strings with lone surrogates, which cannot be percent-encoded. */
function isWellFormedText(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
