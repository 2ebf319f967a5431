import { randomBytes, randomUUID } from 'node:crypto';
import { http, HttpResponse, type RequestHandler } from 'msw';
import { z } from 'zod';
import { FaultInjector } from './faults';
import type { FakeEntraId } from './entraId';

/**
 * In-memory Business Central online (API v2.0) for tests and the sandbox: customers of one company and
 * webhook subscriptions of one environment, behind the same URLs, authentication, OData query rules,
 * paging, concurrency tokens and error bodies as the real service (see shared/design/EXTERNAL_APIS.md).
 *
 * Deliberate simplifications, each answered with a 400 rather than silently ignored: `$filter` supports
 * `<property> <eq|ne|gt|ge|lt|le> <literal>` joined with `and` (no `or`, `not`, parentheses or functions);
 * no `$orderby`, `$expand` or `$count`; subscriptions only for this company's `customers` resource;
 * customers are read-only over HTTP (tests change them through the state API).
 */

export type BcBlocked = ' ' | 'Ship' | 'Invoice' | 'All';

/** Every property of the API v2.0 customers entity, as Business Central returns it. */
export interface FakeBcCustomer {
  '@odata.etag': string;
  id: string;
  number: string;
  displayName: string;
  type: 'Company' | 'Person';
  addressLine1: string;
  addressLine2: string;
  city: string;
  state: string;
  country: string;
  postalCode: string;
  phoneNumber: string;
  email: string;
  website: string;
  salespersonCode: string;
  balanceDue: number;
  creditLimit: number;
  taxLiable: boolean;
  taxAreaId: string;
  taxAreaDisplayName: string;
  taxRegistrationNumber: string;
  currencyId: string;
  currencyCode: string;
  paymentTermsId: string;
  shipmentMethodId: string;
  paymentMethodId: string;
  blocked: BcBlocked;
  lastModifiedDateTime: string;
}

export type FakeBcCustomerInput = Partial<Omit<FakeBcCustomer, '@odata.etag' | 'lastModifiedDateTime'>>;

export interface FakeBcSubscription {
  '@odata.etag': string;
  subscriptionId: string;
  notificationUrl: string;
  resource: string;
  userId: string;
  lastModifiedDateTime: string;
  clientState: string;
  expirationDateTime: string;
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
  /** Business Central expects the handshake answer within seconds. */
  handshakeTimeoutMs?: number;
  /** The service principal's user id reported on subscriptions. */
  userId?: string;
  /**
   * Status for a stale If-Match. Microsoft's error table lists `Request_EntityChanged` under the Conflict
   * exception (409); 412 is what generic OData servers send. Clients must handle both.
   */
  staleEtagStatus?: 409 | 412;
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/u;
const MAX_PAGE_SIZE = 20_000;
const MAX_SUBSCRIPTIONS = 200;
const SUBSCRIPTION_LIFETIME_MS = 3 * 24 * 60 * 60 * 1000;
const REQUEST_LOG_LIMIT = 2_000;

type FieldKind = 'string' | 'datetime' | 'guid' | 'number' | 'boolean';
type CustomerField = Exclude<keyof FakeBcCustomer, '@odata.etag'>;

const CUSTOMER_FIELDS: Record<CustomerField, FieldKind> = {
  id: 'guid',
  number: 'string',
  displayName: 'string',
  type: 'string',
  addressLine1: 'string',
  addressLine2: 'string',
  city: 'string',
  state: 'string',
  country: 'string',
  postalCode: 'string',
  phoneNumber: 'string',
  email: 'string',
  website: 'string',
  salespersonCode: 'string',
  balanceDue: 'number',
  creditLimit: 'number',
  taxLiable: 'boolean',
  taxAreaId: 'guid',
  taxAreaDisplayName: 'string',
  taxRegistrationNumber: 'string',
  currencyId: 'guid',
  currencyCode: 'string',
  paymentTermsId: 'guid',
  shipmentMethodId: 'guid',
  paymentMethodId: 'guid',
  blocked: 'string',
  lastModifiedDateTime: 'datetime',
};

/** A request the fake answers with a Business Central error body. */
class BcHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const subscriptionBodySchema = z.strictObject({
  // Read-only properties clients echo back (the documentation's own examples do) are accepted and ignored.
  '@odata.etag': z.string().optional(),
  subscriptionId: z.string().optional(),
  userId: z.string().optional(),
  lastModifiedDateTime: z.string().optional(),
  expirationDateTime: z.string().optional(),
  notificationUrl: z.string().optional(),
  resource: z.string().optional(),
  clientState: z.string().max(2048).optional(),
});

interface StoredCustomer {
  entity: Omit<FakeBcCustomer, '@odata.etag'>;
  rowVersion: number;
}

interface StoredSubscription {
  entity: Omit<FakeBcSubscription, '@odata.etag'>;
  rowVersion: number;
}

export class FakeBusinessCentral {
  readonly handlers: RequestHandler[];
  readonly faults = new FaultInjector();
  /** Requests that reached the fake (including rejected ones), by kind. */
  readonly requests = { total: 0, get: 0, list: 0, subscription: 0, other: 0 };
  /** The most recent requests, oldest first. */
  readonly requestLog: FakeBcRequestRecord[] = [];
  /** Handshakes sent to notification URLs, with their outcome. */
  readonly handshakes: Array<{ url: string; ok: boolean }> = [];
  inFlight = 0;
  maxInFlight = 0;

  readonly root: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly companyId: string;
  private readonly now: () => Date;
  private readonly deliver: (url: string, init: RequestInit) => Promise<Response>;
  private readonly handshakeTimeoutMs: number;
  private readonly userId: string;
  private readonly customerStore = new Map<string, StoredCustomer>();
  /** Upper-cased number → id: "No." is the Customer table's primary key. */
  private readonly numberIndex = new Map<string, string>();
  /** Creates waiting for their handshake, counted against the limit so concurrent creates cannot overshoot it. */
  private pendingCreates = 0;
  private readonly subscriptionStore = new Map<string, StoredSubscription>();
  // Like SQL rowversion: one counter for the database, so an ETag never repeats.
  private rowVersion = 0;
  private nextNumber = 10_000;

  constructor(private readonly options: FakeBusinessCentralOptions) {
    const base = new URL(options.apiBaseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/u, '');
    if (!GUID.test(options.companyId)) throw new Error('FakeBusinessCentral: companyId must be a GUID');
    this.companyId = options.companyId.toLowerCase();
    this.root = `${this.origin}${this.basePath}/${options.tenantId}/${options.environment}/api/v2.0`;
    this.now = options.now ?? (() => new Date());
    this.deliver = options.deliver ?? ((url, init) => globalThis.fetch(url, init));
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5_000;
    this.userId = options.userId ?? randomUUID();
    this.handlers = [http.all(({ request }) => new URL(request.url).origin === this.origin, ({ request }) => this.handle(request))];
  }

  /** The `resource` value of a subscription to this company's customers. */
  get customersResource(): string {
    return `/api/v2.0/companies(${this.companyId})/customers`;
  }

  // ---------------------------------------------------------------- state API (tests and the sandbox)

  /** Creates (random GUID id, next number) or updates a customer; every change stamps lastModifiedDateTime. */
  upsertCustomer(input: FakeBcCustomerInput): FakeBcCustomer {
    const id = input.id?.toLowerCase();
    if (id !== undefined && !GUID.test(id)) throw new Error(`FakeBusinessCentral: customer id must be a GUID, got '${id}'`);
    const existing = id === undefined ? undefined : this.customerStore.get(id);
    if (existing) return this.updateCustomer(existing.entity.id, input);
    const number = input.number ?? this.allocateNumber();
    const entity: Omit<FakeBcCustomer, '@odata.etag'> = {
      id: id ?? randomUUID(),
      number,
      displayName: '',
      type: 'Company',
      addressLine1: '',
      addressLine2: '',
      city: '',
      state: '',
      country: '',
      postalCode: '',
      phoneNumber: '',
      email: '',
      website: '',
      salespersonCode: '',
      balanceDue: 0,
      creditLimit: 0,
      taxLiable: false,
      taxAreaId: EMPTY_GUID,
      taxAreaDisplayName: '',
      taxRegistrationNumber: '',
      currencyId: EMPTY_GUID,
      currencyCode: '',
      paymentTermsId: EMPTY_GUID,
      shipmentMethodId: EMPTY_GUID,
      paymentMethodId: EMPTY_GUID,
      blocked: ' ',
      ...customerFields(input),
      lastModifiedDateTime: this.now().toISOString(),
    };
    entity.id = entity.id.toLowerCase();
    this.storeCustomer(entity);
    return this.getCustomer(entity.id)!;
  }

  updateCustomer(id: string, patch: FakeBcCustomerInput): FakeBcCustomer {
    const stored = this.customerStore.get(id.toLowerCase());
    if (!stored) throw new Error(`FakeBusinessCentral: no customer ${id}`);
    if (patch.id !== undefined && patch.id.toLowerCase() !== stored.entity.id) throw new Error('FakeBusinessCentral: id cannot change');
    const entity = { ...stored.entity, ...customerFields(patch), id: stored.entity.id, lastModifiedDateTime: this.now().toISOString() };
    this.storeCustomer(entity);
    return this.getCustomer(entity.id)!;
  }

  deleteCustomer(id: string): boolean {
    const stored = this.customerStore.get(id.toLowerCase());
    if (!stored) return false;
    this.numberIndex.delete(stored.entity.number.toUpperCase());
    return this.customerStore.delete(stored.entity.id);
  }

  getCustomer(id: string): FakeBcCustomer | undefined {
    const stored = this.customerStore.get(id.toLowerCase());
    return stored ? this.customerEntity(stored) : undefined;
  }

  /** All customers in the order the API returns them (primary key: number). */
  customers(): FakeBcCustomer[] {
    return this.sortedCustomers().map((stored) => this.customerEntity(stored));
  }

  /** Live subscriptions (expired ones are gone, as Business Central deletes them silently). */
  subscriptions(): FakeBcSubscription[] {
    this.purgeExpiredSubscriptions();
    return [...this.subscriptionStore.values()].map((stored) => this.subscriptionEntity(stored));
  }

  /** Removes a subscription without telling anyone, as Business Central does on expiry or failed deliveries. */
  expireSubscription(subscriptionId: string): boolean {
    return this.subscriptionStore.delete(subscriptionId);
  }

  resetRequests(): void {
    for (const key of Object.keys(this.requests) as Array<keyof typeof this.requests>) this.requests[key] = 0;
    this.requestLog.length = 0;
    this.handshakes.length = 0;
    this.maxInFlight = this.inFlight;
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
    const entitySet = parseSegment(first);
    if (entitySet.name === 'subscriptions' && second === undefined) {
      this.purgeExpiredSubscriptions();
      if (entitySet.key === undefined) {
        if (request.method === 'GET') return this.listSubscriptions();
        if (request.method === 'POST') return this.createSubscription(request);
        throw methodNotAllowed(request.method);
      }
      const id = parseStringKey(entitySet.key);
      if (request.method === 'GET') return bcJson(200, this.subscriptionBody(this.findSubscription(id)));
      if (request.method === 'PATCH') return this.renewSubscription(request, id);
      if (request.method === 'DELETE') return this.deleteSubscription(request, id);
      throw methodNotAllowed(request.method);
    }
    if (entitySet.name !== 'companies') throw notFound(entitySet.name);
    if (entitySet.key === undefined) {
      if (second !== undefined) throw notFound(second);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies`, value: [this.company()] });
    }
    if (parseGuidKey(entitySet.key) !== this.companyId) throw notFound('companies');
    if (second === undefined) {
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies/$entity`, ...this.company() });
    }
    const customers = parseSegment(second);
    if (customers.name !== 'customers' || third !== undefined || extra.length > 0) throw notFound(third ?? customers.name);
    if (request.method !== 'GET') throw methodNotAllowed(request.method);
    if (customers.key === undefined) return this.listCustomers(request, url);
    return this.getCustomerResponse(parseGuidKey(customers.key), query);
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

  private company(): Record<string, unknown> {
    return {
      id: this.companyId,
      systemVersion: '26.0.0.0',
      timestamp: 0,
      name: this.options.companyName ?? 'CRONUS USA, Inc.',
      displayName: this.options.companyName ?? 'CRONUS USA, Inc.',
      businessProfileId: '',
      systemCreatedAt: '2026-01-01T00:00:00Z',
      systemCreatedBy: EMPTY_GUID,
      systemModifiedAt: '2026-01-01T00:00:00Z',
      systemModifiedBy: EMPTY_GUID,
    };
  }

  // ---------------------------------------------------------------- customers over HTTP

  private getCustomerResponse(id: string, query: URLSearchParams): Response {
    const options = parseSystemQueryOptions(query, ['$select']);
    const stored = this.customerStore.get(id);
    if (!stored) {
      throw new BcHttpError(404, 'Internal_RecordNotFound', `The Customer does not exist. Identification fields and values: Id='${id}'`);
    }
    const entity = select(this.customerEntity(stored), options.select);
    return bcJson(200, { '@odata.context': `${this.root}/$metadata#companies(${this.companyId})/customers/$entity`, ...entity });
  }

  private listCustomers(request: Request, url: URL): Response {
    const options = parseSystemQueryOptions(url.searchParams, ['$filter', '$select', '$top', '$skip', '$skiptoken']);
    const filter = options.filter === undefined ? [] : parseFilter(options.filter);
    const preferred = preferredPageSize(request.headers.get('prefer'));
    const pageSize = Math.min(preferred ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);

    let matches = this.sortedCustomers().filter((stored) => filter.every((comparison) => comparison.test(stored.entity)));
    if (options.skipToken !== undefined) {
      const after = decodeSkipToken(options.skipToken);
      matches = matches.filter((stored) => compareKeys(keyOf(stored.entity), after) > 0);
    } else if (options.skip !== undefined) {
      matches = matches.slice(options.skip);
    }
    const limit = options.top === undefined ? pageSize : Math.min(pageSize, options.top);
    const page = matches.slice(0, limit);
    const remainingTop = options.top === undefined ? undefined : options.top - page.length;
    const more = matches.length > page.length && (remainingTop === undefined || remainingTop > 0);

    const body: Record<string, unknown> = {
      '@odata.context': `${this.root}/$metadata#companies(${this.companyId})/customers`,
      value: page.map((stored) => select(this.customerEntity(stored), options.select)),
    };
    const last = page.at(-1);
    if (more && last) body['@odata.nextLink'] = this.nextLink(url, encodeSkipToken(keyOf(last.entity)), remainingTop);
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

  // ---------------------------------------------------------------- subscriptions over HTTP

  private listSubscriptions(): Response {
    return bcJson(200, {
      '@odata.context': `${this.root}/$metadata#subscriptions`,
      value: [...this.subscriptionStore.values()].map((stored) => this.subscriptionEntity(stored)),
    });
  }

  private async createSubscription(request: Request): Promise<Response> {
    const body = await readSubscriptionBody(request);
    if (body.notificationUrl === undefined) throw badRequest("The property 'notificationUrl' is required.");
    if (body.resource === undefined) throw badRequest("The property 'resource' is required.");
    const notificationUrl = checkNotificationUrl(body.notificationUrl);
    const resource = this.checkResource(body.resource);
    if (this.subscriptionStore.size + this.pendingCreates >= MAX_SUBSCRIPTIONS) {
      throw badRequest(`The maximum number of subscriptions (${MAX_SUBSCRIPTIONS}) has been reached for this environment.`);
    }
    this.pendingCreates += 1;
    try {
      await this.handshake(notificationUrl);
    } finally {
      this.pendingCreates -= 1;
    }
    const now = this.now();
    const entity: Omit<FakeBcSubscription, '@odata.etag'> = {
      subscriptionId: randomBytes(16).toString('hex'),
      notificationUrl,
      resource,
      userId: this.userId,
      lastModifiedDateTime: isoSeconds(now),
      clientState: body.clientState ?? '',
      expirationDateTime: isoSeconds(new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS)),
    };
    const stored = { entity, rowVersion: this.bump() };
    this.subscriptionStore.set(entity.subscriptionId, stored);
    return bcJson(201, this.subscriptionBody(stored));
  }

  private async renewSubscription(request: Request, id: string): Promise<Response> {
    const stored = this.findSubscription(id);
    this.checkIfMatch(request, stored.rowVersion, stored.entity.subscriptionId);
    const body = await readSubscriptionBody(request);
    const notificationUrl = body.notificationUrl === undefined ? stored.entity.notificationUrl : checkNotificationUrl(body.notificationUrl);
    const resource = body.resource === undefined ? stored.entity.resource : this.checkResource(body.resource);
    await this.handshake(notificationUrl);
    const now = this.now();
    const renewed = {
      entity: {
        ...stored.entity,
        notificationUrl,
        resource,
        clientState: body.clientState ?? stored.entity.clientState,
        lastModifiedDateTime: isoSeconds(now),
        expirationDateTime: isoSeconds(new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS)),
      },
      rowVersion: this.bump(),
    };
    this.subscriptionStore.set(id, renewed);
    return bcJson(200, this.subscriptionBody(renewed));
  }

  private deleteSubscription(request: Request, id: string): Response {
    const stored = this.findSubscription(id);
    this.checkIfMatch(request, stored.rowVersion, stored.entity.subscriptionId);
    this.subscriptionStore.delete(id);
    return new HttpResponse(null, { status: 204 });
  }

  private findSubscription(id: string): StoredSubscription {
    const stored = this.subscriptionStore.get(id);
    if (!stored) throw new BcHttpError(404, 'Internal_RecordNotFound', `The Subscription does not exist. Identification fields and values: Subscription Id='${id}'`);
    return stored;
  }

  private checkIfMatch(request: Request, rowVersion: number, key: string): void {
    const ifMatch = request.headers.get('if-match');
    if (!ifMatch) {
      throw new BcHttpError(400, 'BadRequest_InvalidToken', 'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.');
    }
    if (ifMatch.trim() === '*' || ifMatch.trim() === etag(key, rowVersion)) return;
    throw new BcHttpError(this.options.staleEtagStatus ?? 409, 'Request_EntityChanged', 'Another user has already changed the record.');
  }

  /** Accepts the forms Business Central accepts (absolute, `/api/v2.0/...`, `api/v2.0/...`, `companies(...)/...`) and stores the canonical one. */
  private checkResource(resource: string): string {
    let path = resource.trim();
    if (/^https?:\/\//iu.test(path)) {
      const environmentRoot = this.root.slice(0, -'/api/v2.0'.length);
      if (!path.toLowerCase().startsWith(`${environmentRoot.toLowerCase()}/`)) throw badRequest(`The resource '${resource}' is not valid for this environment.`);
      path = path.slice(environmentRoot.length);
    }
    path = path.replace(/^\/+/u, '');
    if (!path.startsWith('api/v2.0/')) path = `api/v2.0/${path}`;
    const match = /^api\/v2\.0\/companies\(([^)]*)\)\/([A-Za-z]+)$/u.exec(path);
    if (!match) throw badRequest(`The resource '${resource}' is not a valid subscription resource.`);
    if (match[1]!.toLowerCase() !== this.companyId) throw badRequest(`The company in resource '${resource}' does not exist.`);
    if (match[2] !== 'customers') throw badRequest(`Subscriptions to '${match[2]!}' are not supported by this fake.`);
    return `/api/v2.0/companies(${this.companyId})/customers`;
  }

  /** Business Central calls `notificationUrl?validationToken=...` and requires 200 with the token as the body. */
  private async handshake(notificationUrl: string): Promise<void> {
    const validationToken = randomBytes(24).toString('base64url');
    const url = new URL(notificationUrl);
    url.searchParams.set('validationToken', validationToken);
    let ok = false;
    try {
      const response = await this.deliver(url.toString(), { method: 'POST', signal: AbortSignal.timeout(this.handshakeTimeoutMs) });
      ok = response.status === 200 && (await response.text()) === validationToken;
    } catch {
      ok = false;
    }
    this.handshakes.push({ url: notificationUrl, ok });
    if (!ok) throw badRequest('The notification URL could not be validated: the handshake did not return the validation token with status 200.');
  }

  private purgeExpiredSubscriptions(): void {
    const now = this.now().getTime();
    for (const [id, stored] of this.subscriptionStore) {
      if (Date.parse(stored.entity.expirationDateTime) <= now) this.subscriptionStore.delete(id);
    }
  }

  // ---------------------------------------------------------------- helpers

  private bump(): number {
    this.rowVersion += 1;
    return this.rowVersion;
  }

  private allocateNumber(): string {
    while (this.numberIndex.has(String(this.nextNumber))) this.nextNumber += 10;
    const number = String(this.nextNumber);
    this.nextNumber += 10;
    return number;
  }

  private storeCustomer(entity: Omit<FakeBcCustomer, '@odata.etag'>): void {
    if (!GUID.test(entity.id)) throw new Error('FakeBusinessCentral: customer id must be a GUID');
    if (entity.type !== 'Company' && entity.type !== 'Person') throw new Error(`FakeBusinessCentral: type must be Company or Person`);
    if (![' ', 'Ship', 'Invoice', 'All'].includes(entity.blocked)) throw new Error('FakeBusinessCentral: blocked must be " ", Ship, Invoice or All');
    if (entity.number.length === 0 || entity.number.length > 20) throw new Error('FakeBusinessCentral: number must have 1 to 20 characters');
    const key = entity.number.toUpperCase();
    const owner = this.numberIndex.get(key);
    if (owner !== undefined && owner !== entity.id) throw new Error(`FakeBusinessCentral: customer number ${entity.number} already exists`);
    const previous = this.customerStore.get(entity.id);
    if (previous) this.numberIndex.delete(previous.entity.number.toUpperCase());
    this.numberIndex.set(key, entity.id);
    this.customerStore.set(entity.id, { entity, rowVersion: this.bump() });
  }

  private sortedCustomers(): StoredCustomer[] {
    return [...this.customerStore.values()].sort((a, b) => compareKeys(keyOf(a.entity), keyOf(b.entity)));
  }

  private customerEntity(stored: StoredCustomer): FakeBcCustomer {
    return { '@odata.etag': etag(stored.entity.id, stored.rowVersion), ...stored.entity };
  }

  private subscriptionEntity(stored: StoredSubscription): FakeBcSubscription {
    return { '@odata.etag': etag(stored.entity.subscriptionId, stored.rowVersion), ...stored.entity };
  }

  private subscriptionBody(stored: StoredSubscription): Record<string, unknown> {
    return { '@odata.context': `${this.root}/$metadata#subscriptions/$entity`, ...this.subscriptionEntity(stored) };
  }
}

// ------------------------------------------------------------------ OData pieces (independent of the client's own code on purpose)

interface Comparison {
  test(entity: Omit<FakeBcCustomer, '@odata.etag'>): boolean;
}

const OPERATORS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

/** Code fields: Business Central rejects a filter value longer than the field (Application_FilterErrorException). */
const CODE_FIELD_LENGTH: Partial<Record<CustomerField, number>> = { number: 20, country: 10, currencyCode: 10, postalCode: 20, salespersonCode: 20 };

type Token = { type: 'string'; value: string; position: number } | { type: 'word'; value: string; position: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (/\s/u.test(char)) {
      index += 1;
    } else if (char === "'") {
      const start = index;
      let value = '';
      index += 1;
      for (;;) {
        if (index >= text.length) throw badRequest(`Syntax error: unterminated string literal at position ${start} in '${text}'.`);
        if (text[index] === "'") {
          if (text[index + 1] === "'") {
            value += "'";
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        value += text[index];
        index += 1;
      }
      tokens.push({ type: 'string', value, position: start });
    } else if (char === '(' || char === ')' || char === ',') {
      throw badRequest(`Syntax error at position ${index} in '${text}': '${char}' is not supported here.`);
    } else {
      const start = index;
      while (index < text.length && !/[\s'(),]/u.test(text[index]!)) index += 1;
      tokens.push({ type: 'word', value: text.slice(start, index), position: start });
    }
  }
  return tokens;
}

/** `<property> <op> <literal> [and ...]` with OData v4 literal types checked against the property's type. */
function parseFilter(text: string): Comparison[] {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw badRequest('The $filter expression must not be empty.');
  const comparisons: Comparison[] = [];
  let index = 0;
  for (;;) {
    const [property, operator, literal] = [tokens[index], tokens[index + 1], tokens[index + 2]];
    if (!property || property.type !== 'word' || !operator || operator.type !== 'word' || !literal) {
      throw badRequest(`Syntax error at position ${(property ?? tokens.at(-1))?.position ?? 0} in '${text}'.`);
    }
    const kind = (CUSTOMER_FIELDS as Record<string, FieldKind | undefined>)[property.value];
    if (kind === undefined) throw badRequest(`Could not find a property named '${property.value}' on type 'Microsoft.NAV.customer'.`);
    if (!OPERATORS.has(operator.value)) throw badRequest(`Syntax error at position ${operator.position} in '${text}'.`);
    comparisons.push(comparison(property.value as CustomerField, kind, operator.value, literal));
    index += 3;
    if (index === tokens.length) return comparisons;
    const joiner = tokens[index]!;
    if (joiner.type !== 'word' || joiner.value !== 'and') {
      throw badRequest(`Syntax error at position ${joiner.position} in '${text}': only 'and' is supported between comparisons.`);
    }
    index += 1;
  }
}

function comparison(field: CustomerField, kind: FieldKind, operator: string, literal: Token): Comparison {
  const incompatible = () =>
    badRequest(`A binary operator with incompatible types was detected. Found operand types 'Edm.${edmType(kind)}' and '${literal.type === 'string' ? 'Edm.String' : literal.value}' for operator kind '${operator}'.`);
  let compare: (value: unknown) => number;
  if (kind === 'string') {
    if (literal.type !== 'string') throw incompatible();
    const maxLength = CODE_FIELD_LENGTH[field];
    if (maxLength !== undefined && literal.value.length > maxLength) {
      throw new BcHttpError(
        400,
        'Application_FilterErrorException',
        `The filter "='${literal.value}'" is not valid for the ${field} field on the Customer table. The length of the string is ${literal.value.length}, but it must be less than or equal to ${maxLength} characters.`,
      );
    }
    // Business Central's SQL collation compares text case-insensitively.
    const expected = literal.value.toUpperCase();
    compare = (value) => {
      const actual = String(value).toUpperCase();
      return actual === expected ? 0 : actual < expected ? -1 : 1;
    };
  } else if (kind === 'datetime') {
    if (literal.type !== 'word' || !DATETIME.test(literal.value)) throw incompatible();
    const expected = Date.parse(literal.value);
    compare = (value) => Math.sign(Date.parse(String(value)) - expected);
  } else if (kind === 'guid') {
    if (literal.type !== 'word' || !GUID.test(literal.value)) throw incompatible();
    const expected = literal.value.toLowerCase();
    compare = (value) => {
      const actual = String(value).toLowerCase();
      return actual === expected ? 0 : actual < expected ? -1 : 1;
    };
  } else if (kind === 'number') {
    if (literal.type !== 'word' || !/^-?\d+(\.\d+)?$/u.test(literal.value)) throw incompatible();
    const expected = Number(literal.value);
    compare = (value) => Math.sign(Number(value) - expected);
  } else {
    if (literal.type !== 'word' || (literal.value !== 'true' && literal.value !== 'false')) throw incompatible();
    const expected = literal.value === 'true';
    compare = (value) => (value === expected ? 0 : Number(value) - Number(expected));
  }
  const accept: Record<string, (order: number) => boolean> = {
    eq: (order) => order === 0,
    ne: (order) => order !== 0,
    gt: (order) => order > 0,
    ge: (order) => order >= 0,
    lt: (order) => order < 0,
    le: (order) => order <= 0,
  };
  const test = accept[operator]!;
  return { test: (entity) => test(compare(entity[field])) };
}

interface SystemQueryOptions {
  filter?: string;
  select?: string[];
  top?: number;
  skip?: number;
  skipToken?: string;
}

function parseSystemQueryOptions(query: URLSearchParams, allowed: string[]): SystemQueryOptions {
  const options: SystemQueryOptions = {};
  const seen = new Set<string>();
  for (const [key, value] of query) {
    // Non-$ parameters (company, tenant, aid) are custom query options the service tolerates.
    if (!key.startsWith('$')) continue;
    if (!allowed.includes(key)) throw badRequest(`The query parameter '${key}' is not supported.`);
    if (seen.has(key)) throw badRequest(`Query option '${key}' was specified more than once, but it must be specified at most once.`);
    seen.add(key);
    if (key === '$filter') options.filter = value;
    if (key === '$skiptoken') options.skipToken = value;
    if (key === '$top' || key === '$skip') {
      if (!/^\d+$/u.test(value)) throw badRequest(`Invalid value '${value}' for ${key} query option found. The ${key} query option requires a non-negative integer value.`);
      if (key === '$top') options.top = Number(value);
      else options.skip = Number(value);
    }
    if (key === '$select') {
      const fields = value.split(',').map((field) => field.trim());
      for (const field of fields) {
        if (!(field in CUSTOMER_FIELDS)) throw badRequest(`Could not find a property named '${field}' on type 'Microsoft.NAV.customer'.`);
      }
      options.select = fields;
    }
  }
  return options;
}

function select(entity: FakeBcCustomer, fields: string[] | undefined): Record<string, unknown> {
  if (!fields) return { ...entity };
  const record = entity as unknown as Record<string, unknown>;
  return Object.fromEntries([['@odata.etag', entity['@odata.etag']], ...fields.map((field) => [field, record[field]])]);
}

/** `Prefer: odata.maxpagesize=N` among other preferences; undefined when absent or not a positive integer. */
function preferredPageSize(prefer: string | null): number | undefined {
  const match = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d+)"?/iu.exec(prefer ?? '');
  const size = match ? Number(match[1]) : undefined;
  return size !== undefined && size > 0 ? size : undefined;
}

type CustomerKey = [number: string, id: string];

function keyOf(entity: { number: string; id: string }): CustomerKey {
  return [entity.number.toUpperCase(), entity.id];
}

function compareKeys(a: CustomerKey, b: CustomerKey): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

function encodeSkipToken(key: CustomerKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeSkipToken(token: string): CustomerKey {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === 2 && key.every((part) => typeof part === 'string')) return key as CustomerKey;
  } catch {
    // fall through to the error below
  }
  throw badRequest('The skip token is not valid.');
}

function parseSegment(segment: string): { name: string; key?: string } {
  const match = /^([A-Za-z$]+)(?:\((.*)\))?$/su.exec(segment);
  if (!match) throw notFound(segment);
  return match[2] === undefined ? { name: match[1]! } : { name: match[1]!, key: match[2] };
}

/** Entity keys of type Edm.Guid are unquoted in OData v4. */
function parseGuidKey(key: string): string {
  if (!GUID.test(key)) throw badRequest('Bad Request - Error in query syntax.');
  return key.toLowerCase();
}

function parseStringKey(key: string): string {
  const match = /^'((?:[^']|'')*)'$/su.exec(key);
  if (!match) throw badRequest('Bad Request - Error in query syntax.');
  return match[1]!.replace(/''/gu, "'");
}

async function readSubscriptionBody(request: Request): Promise<z.infer<typeof subscriptionBodySchema>> {
  let json: unknown;
  try {
    json = JSON.parse(await request.text());
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  const parsed = subscriptionBodySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`Invalid subscription: ${issue ? `${issue.path.join('.') || 'body'} ${issue.message}` : 'invalid body'}.`);
  }
  return parsed.data;
}

function checkNotificationUrl(value: string): string {
  if (!URL.canParse(value)) throw badRequest(`The notification URL is not a valid absolute URL.`);
  const url = new URL(value);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw badRequest('The notification URL must use https.');
  return value;
}

function etag(key: string, rowVersion: number): string {
  const inner = `'${key.length};${Buffer.from(key).toString('base64')};${rowVersion};'`;
  return `W/"${Buffer.from(inner).toString('base64')}"`;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/u, 'Z');
}

/** The given properties without undefined ones; unknown or read-only properties are a mistake in the caller. */
function customerFields(input: FakeBcCustomerInput): FakeBcCustomerInput {
  for (const key of Object.keys(input)) {
    if (!(key in CUSTOMER_FIELDS) || key === 'lastModifiedDateTime') throw new Error(`FakeBusinessCentral: '${key}' is not a writable customer property`);
  }
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as FakeBcCustomerInput;
}

function edmType(kind: FieldKind): string {
  return { string: 'String', datetime: 'DateTimeOffset', guid: 'Guid', number: 'Decimal', boolean: 'Boolean' }[kind];
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  // Business Central appends the correlation id to every error message.
  return { error: { code, message: `${message}  CorrelationId:  ${randomUUID()}.` } };
}

function faultCode(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Authentication_InvalidCredentials',
    404: 'BadRequest_ResourceNotFound',
    408: 'RequestTimeout',
    409: 'Request_EntityChanged',
    412: 'Request_EntityChanged',
    429: 'Application_TooManyRequests',
    500: 'Internal_ServerError',
    502: 'BadGateway',
    503: 'Application_ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? 'Internal_ServerError';
}

function bcJson(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return HttpResponse.json(body as Record<string, unknown>, {
    status,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal; odata.streaming=true', 'OData-Version': '4.0', ...headers },
  });
}

function bcError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return bcJson(status, errorBody(code, message), headers);
}

function badRequest(message: string): BcHttpError {
  return new BcHttpError(400, 'BadRequest', message);
}

function notFound(segment: string): BcHttpError {
  return new BcHttpError(404, 'BadRequest_ResourceNotFound', `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(method: string): BcHttpError {
  return new BcHttpError(405, 'BadRequest_MethodNotAllowed', `'${method}' requests for this resource are not supported.`);
}
