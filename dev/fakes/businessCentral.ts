import { http, type RequestHandler } from 'msw';
import { FaultInjector } from './faults';
import type { FakeEntraId } from './entraId';
import { CUSTOMER_ENTITY, CustomerStore, compareKeys, decodeSkipToken, encodeSkipToken, keyOf, type FakeBcCustomer, type FakeBcCustomerInput } from './businessCentral/customerStore';
import { BcHttpError, badRequest, bcError, bcJson, EMPTY_GUID, errorBody, faultCode, GUID, methodNotAllowed, notFound, RowVersions } from './businessCentral/http';
import { edmx, type MetadataOptions } from './businessCentral/metadata';
import { parseFilter } from './businessCentral/odataFilter';
import { parseGuidKey, parseSegment, parseStringKey, parseSystemQueryOptions, preferredPageSize, select } from './businessCentral/odataQuery';
import { SubscriptionRegistry, type FakeBcSubscription } from './businessCentral/subscriptions';

export type { BcBlocked, FakeBcCustomer, FakeBcCustomerInput } from './businessCentral/customerStore';
export type { FakeBcSubscription } from './businessCentral/subscriptions';

/**
 * In-memory Business Central online (API v2.0) for tests and the sandbox: customers of one or several companies
 * and webhook subscriptions of one environment (one subscription per company, each naming its company in
 * `resource`), behind the same URLs, authentication, OData query rules,
 * paging, concurrency tokens and error bodies as the real service (docs/external-apis.md, "Business Central").
 *
 * This file is the HTTP front (authentication, routing, injected faults, the request log); the rooms behind it:
 * `businessCentral/customerStore.ts` (the customers), `businessCentral/odataFilter.ts` and `odataQuery.ts`
 * (`$filter`, `$select`, paging options), `businessCentral/subscriptions.ts` (webhook subscriptions and the
 * handshake), `businessCentral/http.ts` (error bodies, ETags).
 *
 * Deliberate simplifications, each answered with a 400 rather than silently ignored: `$filter` supports
 * `<property> <eq|ne|gt|ge|lt|le> <literal>` joined with `and` (no `or`, `not`, parentheses or functions);
 * no `$orderby`, `$expand` or `$count`; subscriptions only for a company's `customers` resource;
 * customers are read-only over HTTP (tests change them through the state API). A company can be removed (every
 * request naming it then answers 404, as for a deleted company) or denied to the app (403, as for a company the
 * app registration has no permission in).
 */

/** A company of the environment, as `GET companies` lists it. */
export interface FakeBcCompanyInfo {
  id: string;
  name: string;
}

/** One company's customers, through the same state API as the fake's own (which is its first company's). */
export interface FakeBcCompany {
  readonly id: string;
  readonly name: string;
  upsertCustomer(input: FakeBcCustomerInput): FakeBcCustomer;
  updateCustomer(id: string, patch: FakeBcCustomerInput): FakeBcCustomer;
  deleteCustomer(id: string): boolean;
  getCustomer(id: string): FakeBcCustomer | undefined;
  customers(): FakeBcCustomer[];
  /** The `resource` value of a subscription to this company's customers. */
  readonly customersResource: string;
}

export type FakeBcRequestKind = 'get' | 'list' | 'subscription' | 'other';

export interface FakeBcRequestRecord {
  method: string;
  /** The URL exactly as received (still percent-encoded). */
  url: string;
  kind: FakeBcRequestKind;
  status: number;
  /** The Prefer header, if any (odata.maxpagesize). */
  prefer: string | null;
}

export interface FakeBusinessCentralOptions {
  apiBaseUrl: string;
  tenantId: string;
  environment: string;
  companyId: string;
  entra: FakeEntraId;
  now?: () => Date;
  /** Sends the subscription handshake; global fetch by default, so msw handlers or a local server can answer it. */
  deliver?: (url: string, init: RequestInit) => Promise<Response>;
  companyName?: string;
  /** More companies of the environment, besides `companyId` (the first). */
  otherCompanies?: readonly FakeBcCompanyInfo[];
  /** Business Central expects the handshake answer within seconds. */
  handshakeTimeoutMs?: number;
  /** The service principal's user id reported on subscriptions. */
  userId?: string;
  /**
   * Status for a stale If-Match. Microsoft's error table lists `Request_EntityChanged` under the Conflict
   * exception (409); 412 is what generic OData servers send. Clients must handle both.
   */
  staleEtagStatus?: 409 | 412;
  /**
   * Requests it serves at once for the app registration. Business Central processes 5 per user or service
   * principal and queues the rest; this strict stand-in answers 429 to a request that arrives while this many
   * are in flight, so a client that overruns the limit shows up as counted 429s. Unset: no limit.
   */
  maxConcurrentRequests?: number;
  /** `$metadata` as served: customer properties left out, subscriptions left out, or no `$metadata` at all (404). */
  metadata?: MetadataOptions | false;
}

const MAX_PAGE_SIZE = 20_000;
const REQUEST_LOG_LIMIT = 2_000;

export class FakeBusinessCentral {
  readonly handlers: RequestHandler[];
  readonly faults = new FaultInjector();
  /** Requests that reached the fake (including rejected ones), by kind. */
  readonly requests = { total: 0, get: 0, list: 0, subscription: 0, other: 0 };
  /** The most recent requests, oldest first. */
  readonly requestLog: FakeBcRequestRecord[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Requests refused with 429 because `maxConcurrentRequests` were already in flight. */
  throttled = 0;

  readonly root: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly companyId: string;
  private readonly customerStore: CustomerStore;
  private readonly subscriptionRegistry: SubscriptionRegistry;
  private readonly companyRows = new Map<string, { info: FakeBcCompanyInfo; store: CustomerStore; denied: boolean }>();
  private readonly rowVersions = new RowVersions();
  private readonly now: () => Date;

  constructor(private readonly options: FakeBusinessCentralOptions) {
    const base = new URL(options.apiBaseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/u, '');
    if (!GUID.test(options.companyId)) throw new Error('FakeBusinessCentral: companyId must be a GUID');
    this.companyId = options.companyId.toLowerCase();
    this.root = `${this.origin}${this.basePath}/${options.tenantId}/${options.environment}/api/v2.0`;
    const now = options.now ?? (() => new Date());
    this.now = now;
    const rowVersions = this.rowVersions;
    this.customerStore = new CustomerStore(rowVersions, now);
    this.companyRows.set(this.companyId, { info: { id: this.companyId, name: options.companyName ?? 'CRONUS USA, Inc.' }, store: this.customerStore, denied: false });
    for (const other of options.otherCompanies ?? []) this.addCompany(other);
    this.subscriptionRegistry = new SubscriptionRegistry({
      root: this.root,
      companyId: this.companyId,
      companyExists: (companyId) => this.companyRows.has(companyId.toLowerCase()),
      now,
      rowVersions,
      ...(options.deliver ? { deliver: options.deliver } : {}),
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
      ...(options.userId !== undefined ? { userId: options.userId } : {}),
      ...(options.staleEtagStatus !== undefined ? { staleEtagStatus: options.staleEtagStatus } : {}),
    });
    this.handlers = [http.all(({ request }) => new URL(request.url).origin === this.origin, ({ request }) => this.handle(request))];
  }

  /** The `resource` value of a subscription to this company's customers. */
  get customersResource(): string {
    return this.subscriptionRegistry.customersResource;
  }

  /** Handshakes sent to notification URLs, with their outcome. */
  get handshakes(): Array<{ url: string; ok: boolean }> {
    return this.subscriptionRegistry.handshakes;
  }

  // ---------------------------------------------------------------- companies (tests and the sandbox)

  /** Adds a company to the environment (with no customers). */
  addCompany(info: FakeBcCompanyInfo): FakeBcCompany {
    if (!GUID.test(info.id)) throw new Error('FakeBusinessCentral: a company id must be a GUID');
    const id = info.id.toLowerCase();
    if (!this.companyRows.has(id)) this.companyRows.set(id, { info: { id, name: info.name }, store: new CustomerStore(this.rowVersions, this.now), denied: false });
    return this.company(id);
  }

  /** Deletes a company: every request naming it answers 404 from now on, its subscriptions included. */
  removeCompany(companyId: string): boolean {
    return this.companyRows.delete(companyId.toLowerCase());
  }

  /** Takes away (or gives back) the app registration's permission in a company: its requests answer 403. */
  denyCompany(companyId: string, denied = true): void {
    const row = this.companyRows.get(companyId.toLowerCase());
    if (!row) throw new Error(`FakeBusinessCentral: no company ${companyId}`);
    row.denied = denied;
  }

  /** The companies of the environment. */
  companies(): FakeBcCompanyInfo[] {
    return [...this.companyRows.values()].map((row) => ({ ...row.info }));
  }

  /** One company's customers (the fake's own methods are its first company's). */
  company(companyId: string): FakeBcCompany {
    const id = companyId.toLowerCase();
    const row = this.companyRows.get(id);
    if (!row) throw new Error(`FakeBusinessCentral: no company ${companyId}`);
    const store = row.store;
    return {
      id,
      name: row.info.name,
      upsertCustomer: (input) => store.upsert(input),
      updateCustomer: (customerId, patch) => store.update(customerId, patch),
      deleteCustomer: (customerId) => store.delete(customerId),
      getCustomer: (customerId) => store.get(customerId),
      customers: () => store.all(),
      customersResource: `/api/v2.0/companies(${id})/customers`,
    };
  }

  // ---------------------------------------------------------------- state API (tests and the sandbox)

  /** Creates (random GUID id, next number) or updates a customer; every change stamps lastModifiedDateTime. */
  upsertCustomer(input: FakeBcCustomerInput): FakeBcCustomer {
    return this.customerStore.upsert(input);
  }

  updateCustomer(id: string, patch: FakeBcCustomerInput): FakeBcCustomer {
    return this.customerStore.update(id, patch);
  }

  deleteCustomer(id: string): boolean {
    return this.customerStore.delete(id);
  }

  getCustomer(id: string): FakeBcCustomer | undefined {
    return this.customerStore.get(id);
  }

  /** All customers in the order the API returns them (primary key: number). */
  customers(): FakeBcCustomer[] {
    return this.customerStore.all();
  }

  /** Live subscriptions (expired ones are gone, as Business Central deletes them silently). */
  subscriptions(): FakeBcSubscription[] {
    return this.subscriptionRegistry.all();
  }

  /** Removes a subscription without telling anyone, as Business Central does on expiry or failed deliveries. */
  expireSubscription(subscriptionId: string): boolean {
    return this.subscriptionRegistry.expire(subscriptionId);
  }

  resetRequests(): void {
    for (const key of Object.keys(this.requests) as Array<keyof typeof this.requests>) this.requests[key] = 0;
    this.requestLog.length = 0;
    this.handshakes.length = 0;
    this.maxInFlight = this.inFlight;
    this.throttled = 0;
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(request: Request): Promise<Response> {
    const kind = this.kindOf(request);
    this.requests.total += 1;
    this.requests[kind] += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let status = 0;
    try {
      const limit = this.options.maxConcurrentRequests;
      if (limit !== undefined && this.inFlight > limit) {
        this.throttled += 1;
        status = 429;
        return bcError(429, 'Application_TooManyRequests', `More than ${limit} requests at once for this user.`, { 'Retry-After': '1' });
      }
      const response = await this.respond(request);
      status = response.status;
      return response;
    } finally {
      this.inFlight -= 1;
      this.requestLog.push({ method: request.method, url: request.url, kind, status, prefer: request.headers.get('prefer') });
      if (this.requestLog.length > REQUEST_LOG_LIMIT) this.requestLog.shift();
    }
  }

  private async respond(request: Request): Promise<Response> {
    const fault = await this.faults.apply(request, (status) => errorBody(faultCode(status), `Injected fault ${status}.`));
    if (fault) return fault;
    try {
      this.authenticate(request);
      return await this.route(request);
    } catch (error) {
      if (error instanceof BcHttpError) return bcError(error.status, error.code, error.message, error.status === 401 ? this.challenge() : {});
      throw error;
    }
  }

  private authenticate(request: Request): void {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/iu.exec(header);
    const info = match ? this.options.entra.tokenInfo(match[1]!) : undefined;
    const tenantMatches = info?.tenantId === this.options.tenantId.toLowerCase();
    if (!info || !tenantMatches || info.scope !== 'https://api.businesscentral.dynamics.com/.default') {
      throw new BcHttpError(401, 'Authentication_InvalidCredentials', 'The server has rejected the client credentials.');
    }
  }

  private challenge(): Record<string, string> {
    return {
      'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${this.options.tenantId}/oauth2/authorize", resource_id="https://api.businesscentral.dynamics.com"`,
    };
  }

  private kindOf(request: Request): FakeBcRequestKind {
    const path = new URL(request.url).pathname;
    if (/\/api\/v2\.0\/subscriptions(\(|\/?$)/u.test(path)) return 'subscription';
    if (request.method === 'GET' && /\/customers\([^/]*\)\/?$/u.test(path)) return 'get';
    if (request.method === 'GET' && /\/customers\/?$/u.test(path)) return 'list';
    return 'other';
  }

  private async route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const segments = this.apiSegments(url.pathname);
    const query = url.searchParams;
    const [first, second, third, ...extra] = segments;
    if (first === undefined) throw notFound('v2.0');
    if (first === '$metadata' && second === undefined) {
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      if (this.options.metadata === false) throw notFound('$metadata');
      return new Response(edmx(CUSTOMER_ENTITY, this.options.metadata ?? {}), { status: 200, headers: { 'Content-Type': 'application/xml', 'OData-Version': '4.0' } });
    }
    const entitySet = parseSegment(first);
    if (entitySet.name === 'subscriptions' && second === undefined) {
      const subscriptions = this.subscriptionRegistry;
      subscriptions.purgeExpired();
      if (entitySet.key === undefined) {
        if (request.method === 'GET') return subscriptions.listResponse();
        if (request.method === 'POST') return subscriptions.create(request);
        throw methodNotAllowed(request.method);
      }
      const id = parseStringKey(entitySet.key);
      if (request.method === 'GET') return subscriptions.getResponse(id);
      if (request.method === 'PATCH') return subscriptions.renew(request, id);
      if (request.method === 'DELETE') return subscriptions.delete(request, id);
      throw methodNotAllowed(request.method);
    }
    if (entitySet.name !== 'companies') throw notFound(entitySet.name);
    if (entitySet.key === undefined) {
      if (second !== undefined) throw notFound(second);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies`, value: [...this.companyRows.values()].map((row) => this.companyEntity(row.info)) });
    }
    const companyId = parseGuidKey(entitySet.key);
    const row = this.companyRows.get(companyId);
    if (!row) throw notFound('companies');
    if (row.denied) throw new BcHttpError(403, 'Authorization_Forbidden', 'You do not have permission to read data in this company.');
    if (second === undefined) {
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies/$entity`, ...this.companyEntity(row.info) });
    }
    const customers = parseSegment(second);
    if (customers.name !== 'customers' || third !== undefined || extra.length > 0) throw notFound(third ?? customers.name);
    if (request.method !== 'GET') throw methodNotAllowed(request.method);
    if (customers.key === undefined) return this.listCustomers(request, url, companyId, row.store);
    return this.getCustomerResponse(parseGuidKey(customers.key), query, companyId, row.store);
  }

  /** Segments after `{base}/{tenant}/{environment}/api/v2.0`, percent-decoded; 404 for any other path. */
  private apiSegments(pathname: string): string[] {
    if (!pathname.startsWith(`${this.basePath}/`)) throw notFound(pathname.split('/')[1] ?? '');
    const [tenant, environment, api, version, ...rest] = pathname.slice(this.basePath.length + 1).split('/');
    if (tenant?.toLowerCase() !== this.options.tenantId.toLowerCase()) throw notFound(tenant ?? '');
    if (environment?.toLowerCase() !== this.options.environment.toLowerCase()) {
      throw new BcHttpError(404, 'BadRequest_ResourceNotFound', `Environment '${environment ?? ''}' was not found.`);
    }
    if (api !== 'api' || version !== 'v2.0') throw notFound(api ?? '');
    const segments = rest.at(-1) === '' ? rest.slice(0, -1) : rest;
    try {
      return segments.map((segment) => decodeURIComponent(segment));
    } catch {
      throw badRequest('Bad Request - Error in query syntax.');
    }
  }

  private companyEntity(info: FakeBcCompanyInfo): Record<string, unknown> {
    return {
      id: info.id,
      systemVersion: '26.0.0.0',
      timestamp: 0,
      name: info.name,
      displayName: info.name,
      businessProfileId: '',
      systemCreatedAt: '2026-01-01T00:00:00Z',
      systemCreatedBy: EMPTY_GUID,
      systemModifiedAt: '2026-01-01T00:00:00Z',
      systemModifiedBy: EMPTY_GUID,
    };
  }

  // ---------------------------------------------------------------- customers over HTTP

  private getCustomerResponse(id: string, query: URLSearchParams, companyId: string, store: CustomerStore): Response {
    const options = parseSystemQueryOptions(query, ['$select'], CUSTOMER_ENTITY);
    const customer = store.get(id);
    if (!customer) {
      throw new BcHttpError(404, 'Internal_RecordNotFound', `The Customer does not exist. Identification fields and values: Id='${id}'`);
    }
    const entity = select(customer, options.select);
    return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies(${companyId})/customers/$entity`, ...entity });
  }

  private listCustomers(request: Request, url: URL, companyId: string, store: CustomerStore): Response {
    const options = parseSystemQueryOptions(url.searchParams, ['$filter', '$select', '$top', '$skip', '$skiptoken'], CUSTOMER_ENTITY);
    const filter = options.filter === undefined ? () => true : parseFilter(options.filter, CUSTOMER_ENTITY);
    const preferred = preferredPageSize(request.headers.get('prefer'));
    const pageSize = Math.min(preferred ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);

    let matches = store.all().filter((customer) => filter(customer));
    if (options.skipToken !== undefined) {
      const after = decodeSkipToken(options.skipToken);
      matches = matches.filter((customer) => compareKeys(keyOf(customer), after) > 0);
    } else if (options.skip !== undefined) {
      matches = matches.slice(options.skip);
    }
    const limit = options.top === undefined ? pageSize : Math.min(pageSize, options.top);
    const page = matches.slice(0, limit);
    const remainingTop = options.top === undefined ? undefined : options.top - page.length;
    const more = matches.length > page.length && (remainingTop === undefined || remainingTop > 0);

    const body: Record<string, unknown> = {
      '@odata.context': `${this.root}/$metadata#companies(${companyId})/customers`,
      value: page.map((customer) => select(customer, options.select)),
    };
    const last = page.at(-1);
    if (more && last) body['@odata.nextLink'] = this.nextLink(url, encodeSkipToken(keyOf(last)), remainingTop);
    const headers: Record<string, string> = preferred === undefined ? {} : { 'Preference-Applied': `odata.maxpagesize=${pageSize}` };
    return bcJson(200, body, headers);
  }

  /** An absolute URL that repeats the query with a continuation key, as Business Central's nextLink does. */
  private nextLink(url: URL, skipToken: string, remainingTop: number | undefined): string {
    const pairs: Array<[string, string]> = [];
    for (const [key, value] of url.searchParams) {
      if (key === '$skiptoken' || key === '$skip' || key === '$top' || key === 'aid') continue;
      pairs.push([key, value]);
    }
    if (remainingTop !== undefined) pairs.push(['$top', String(remainingTop)]);
    pairs.push(['aid', 'FIN'], ['$skiptoken', skipToken]);
    return `${url.origin}${url.pathname}?${pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`;
  }
}
