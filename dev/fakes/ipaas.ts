import { http, HttpResponse, matchRequestUrl, type RequestHandler } from 'msw';
import { z } from 'zod';
import type { IpaasAddress, IpaasAddressInput, IpaasCustomer } from '../../shared/ipaas/types';
import { FaultInjector } from './faults';

/**
 * An in-memory iPaaS.com customer API (docs/external-apis.md) as msw handlers, for tests and the sandbox.
 * It enforces what the real service enforces: the bearer token, snake_case bodies with required fields and no
 * unknown ones (422 VALD), unique customer_number (409 BIZL), 404 NFND for unknown ids, `action=equals` search,
 * paging through `pageNumber` and `X-Pagination`, integer system ids that exist among the tenant's subscriptions
 * (VALD otherwise). It does not enforce unique emails, as iPaaS.com's API does not.
 * An unknown route answers a bare 404 (no body), a known route asked with another method 405.
 * Errors use the body `{ "errors": [ { "code": "CATEGORY-NNNN", "message": "..." } ] }`.
 *
 * The route table below is this fake's own, written from the API notes: it deliberately does not import the
 * client's path table (shared/ipaas/paths.ts), so a wrong client path fails a test instead of moving both.
 */

/** The fake's routes, from the API notes (the client's paths are configurable and must agree with these). */
export const FAKE_IPAAS_ROUTES = {
  customers: '/customers/v2/Customers',
  customer: '/customers/v2/Customer/:id',
  createCustomer: '/customers/v2/Customer',
  addresses: '/customers/v2/Customer/:id/Addresses',
  address: '/customers/v2/Customer/:id/Address',
  updateExternalId: '/customers/v2/External/UpdateExternalId',
  lookupExternal: '/customers/v2/External/LookupExternal/:internalId/:systemId/:tableName',
  lookupSpaceport: '/customers/v2/External/LookupSpaceport/:systemId/:tableName/:externalId',
  subscriptions: '/subscriptions/v2/Subscriptions',
} as const;

const QUERY = { action: 'action', equals: 'equals', emailAddress: 'EmailAddress', customerNumber: 'CustomerNumber', pageNumber: 'pageNumber' } as const;
const PAGINATION_HEADER = 'X-Pagination';
/** External id tables of the customers area, lower case as the service names them. */
const EXTERNAL_ID_TABLES = ['customer', 'address'] as const;

/** A subscription (a connected system) of the tenant; its id is what UpdateExternalId calls system_id. */
export interface FakeIpaasSubscription {
  id: number;
  type: string;
  name: string;
}

/** The subscriptions a fresh fake has: the tenant's Business Central connection and one other system. */
export const FAKE_IPAAS_SUBSCRIPTIONS: readonly FakeIpaasSubscription[] = [
  { id: 1207, type: 'Microsoft Dynamics 365 Business Central', name: 'Business Central' },
  { id: 1311, type: 'Shopify', name: 'Web shop' },
];

export type IpaasOperation =
  | 'searchByEmail'
  | 'searchByNumber'
  | 'list'
  | 'get'
  | 'create'
  | 'update'
  | 'listAddresses'
  | 'addAddress'
  | 'linkExternalId'
  | 'lookupExternal'
  | 'listSubscriptions'
  | 'other';

const OPERATIONS: readonly IpaasOperation[] = [
  'searchByEmail',
  'searchByNumber',
  'list',
  'get',
  'create',
  'update',
  'listAddresses',
  'addAddress',
  'linkExternalId',
  'lookupExternal',
  'listSubscriptions',
  'other',
];

export type FakeIpaasRequestCounts = Record<'total' | IpaasOperation, number>;

export interface FakeIpaasCustomer extends IpaasCustomer {
  comment: string;
  createdDatetime: string;
  updatedDatetime: string;
}

export type FakeIpaasCustomerSeed = Partial<Omit<FakeIpaasCustomer, 'id' | 'createdDatetime' | 'updatedDatetime'>>;

export interface FakeIpaasExternalId {
  tableName: string;
  systemId: number;
  externalId: string;
  /** The iPaaS.com record id the external id belongs to. */
  internalId: string;
}

export interface FakeIpaasOptions {
  apiBaseUrl: string;
  apiToken: string;
  /** Rows per list page; iPaaS.com-like default 50. */
  pageSize?: number;
  clock?: () => Date;
  /** The tenant's subscriptions; default FAKE_IPAAS_SUBSCRIPTIONS. */
  subscriptions?: readonly FakeIpaasSubscription[];
}

interface StoredCustomer {
  id: number;
  customer_number: string;
  first_name: string;
  last_name: string;
  email_address: string;
  company: string;
  comment: string;
  custom_fields: unknown[];
  created_datetime: string;
  updated_datetime: string;
}

interface StoredAddress {
  id: number;
  customer_id: number;
  address_1: string;
  address_2: string;
  city: string;
  region: string;
  country: string;
  postal_code: string;
  phone_number: string;
  is_primary_billing: boolean;
  is_primary_shipping: boolean;
}

interface StoredExternalId {
  table_name: string;
  system_id: number;
  external_id: string;
  internal_id: number;
}

// ---- Request body schemas (strict: the real API's model binding rejects what it does not know) ------------

const optionalText = z.string().nullish();
const required = (field: string) => z.string({ error: `${field} is required` }).trim().min(1, `${field} is required`);
const customerFields = {
  customer_number: required('customer_number'),
  email_address: required('email_address'),
  first_name: optionalText,
  last_name: optionalText,
  company: optionalText,
  comment: optionalText,
  // Accepted for round-trips; external ids themselves change only through UpdateExternalId.
  external_ids: z.array(z.unknown()).nullish(),
  custom_fields: z.array(z.unknown()).nullish(),
};
const createCustomerSchema = z.strictObject(customerFields);
const updateCustomerSchema = z.strictObject({
  ...customerFields,
  // Read-only fields a client may send back unchanged; ignored.
  id: z.union([z.number(), z.string()]).nullish(),
  created_datetime: z.string().nullish(),
  updated_datetime: z.string().nullish(),
});
const addressSchema = z.strictObject({
  customer_id: z.union([z.number().int(), z.string().regex(/^\d+$/u)]).nullish(),
  address_1: optionalText,
  address_2: optionalText,
  city: optionalText,
  region: optionalText,
  country: optionalText,
  postal_code: optionalText,
  phone_number: optionalText,
  is_primary_billing: z.boolean().nullish(),
  is_primary_shipping: z.boolean().nullish(),
});
// Ids travel as strings (iPaaS.com's own models); system_id is an int64. Anything else is a model-binding error.
const digits = (field: string) => z.string({ error: `${field} must be a string` }).regex(/^\d+$/u, `${field} must be a record id`);
const externalIdSchema = z.strictObject({
  table_name: required('table_name'),
  system_id: z.unknown(),
  external_id: required('external_id'),
  internal_id: digits('internal_id').transform(Number),
});

// A loose check like the service's: something@something.tld, no spaces.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

function errorCodeFor(status: number): string {
  if (status === 401) return 'AUTH-1001';
  if (status === 403) return 'AUTZ-1001';
  if (status === 404) return 'NFND-1001';
  if (status === 409) return 'BIZL-1000';
  if (status === 429) return 'INTL-1029';
  if (status >= 500) return 'INTL-1000';
  return 'VALD-1000';
}

/** The iPaaS.com error body this fake sends. */
export function ipaasErrorBody(code: string, message: string): { errors: Array<{ code: string; message: string }> } {
  return { errors: [{ code, message }] };
}

function ipaasError(status: number, code: string, message: string): Response {
  return HttpResponse.json(ipaasErrorBody(code, message), { status });
}

function issuesOf(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : path && !issue.message.includes(path) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

function queryParam(url: URL, name: string): string | null {
  // ASP.NET binds query names case-insensitively.
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === name.toLowerCase()) return value;
  return null;
}

/** SQL Server's default collation compares case-insensitively; the service's lookups behave the same. */
function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/u, 'Z');
}

export class FakeIpaas {
  readonly handlers: RequestHandler[];
  readonly faults = new FaultInjector();
  /** Requests received (including faulted and unauthorized ones), in total and per operation. */
  readonly requests: FakeIpaasRequestCounts = Object.fromEntries([['total', 0], ...OPERATIONS.map((op) => [op, 0])]) as FakeIpaasRequestCounts;

  private readonly apiBaseUrl: string;
  private readonly apiToken: string;
  private readonly pageSize: number;
  private readonly clock: () => Date;
  private readonly routes: ReadonlyArray<{
    operation: IpaasOperation | ((request: Request) => IpaasOperation);
    method: string;
    pattern: string;
    respond: (request: Request, params: Record<string, string>) => Response | Promise<Response>;
  }>;
  private customerRows = new Map<number, StoredCustomer>();
  /** customer_number (lower case) → row id, so creates stay fast with 100,000 customers (the service keeps numbers unique). */
  private numberIndex = new Map<string, number>();
  /** The rows in id order, for listing; rebuilt after a customer is added or removed. */
  private sortedCache: StoredCustomer[] | undefined;
  private addressRows = new Map<number, StoredAddress>();
  private externalIdRows: StoredExternalId[] = [];
  private subscriptionRows: FakeIpaasSubscription[];
  private readonly initialSubscriptions: readonly FakeIpaasSubscription[];
  private nextCustomerId = 4501;
  private nextAddressId = 981;

  constructor(options: FakeIpaasOptions) {
    this.apiBaseUrl = options.apiBaseUrl.replace(/\/+$/u, '');
    this.apiToken = options.apiToken;
    this.pageSize = options.pageSize ?? 50;
    this.clock = options.clock ?? (() => new Date());
    this.initialSubscriptions = options.subscriptions ?? FAKE_IPAAS_SUBSCRIPTIONS;
    this.subscriptionRows = this.initialSubscriptions.map((row) => ({ ...row }));
    const R = FAKE_IPAAS_ROUTES;
    const routes: Array<{
      operation: IpaasOperation | ((request: Request) => IpaasOperation);
      method: 'GET' | 'POST' | 'PUT';
      path: string;
      respond: (request: Request, params: Record<string, string>) => Response | Promise<Response>;
    }> = [
      { operation: (request) => this.searchOperation(request), method: 'GET', path: R.customers, respond: (request) => this.search(request) },
      { operation: 'get', method: 'GET', path: R.customer, respond: (_request, params) => this.get(params.id ?? '') },
      { operation: 'create', method: 'POST', path: R.createCustomer, respond: (request) => this.create(request) },
      { operation: 'update', method: 'PUT', path: R.customer, respond: (request, params) => this.update(request, params.id ?? '') },
      { operation: 'listAddresses', method: 'GET', path: R.addresses, respond: (request, params) => this.listAddresses(request, params.id ?? '') },
      { operation: 'addAddress', method: 'POST', path: R.address, respond: (request, params) => this.addAddress(request, params.id ?? '') },
      { operation: 'linkExternalId', method: 'POST', path: R.updateExternalId, respond: (request) => this.updateExternalId(request) },
      { operation: 'lookupExternal', method: 'GET', path: R.lookupExternal, respond: (_request, params) => this.lookupExternal(params) },
      { operation: 'lookupExternal', method: 'GET', path: R.lookupSpaceport, respond: (_request, params) => this.lookupSpaceport(params) },
      { operation: 'listSubscriptions', method: 'GET', path: R.subscriptions, respond: (request) => this.page(new URL(request.url), this.subscriptionRows) },
    ];
    this.routes = routes.map((route) => ({ ...route, pattern: `${this.apiBaseUrl}${route.path}` }));
    const knownPatterns = [...new Set(this.routes.map((route) => route.pattern))];
    this.handlers = [
      ...this.routes.map((route) => {
        const method = route.method === 'GET' ? http.get : route.method === 'POST' ? http.post : http.put;
        return method(route.pattern, this.handle(route.operation, route.respond));
      }),
      // A known route asked with a method it does not serve: 405 with Allow, as ASP.NET routing answers.
      ...knownPatterns.map((pattern) =>
        http.all(
          pattern,
          this.handle(
            'other',
            () => {
              const allow = this.routes.filter((route) => route.pattern === pattern).map((route) => route.method);
              return new Response(null, { status: 405, headers: { Allow: allow.join(', ') } });
            },
            { authenticate: false },
          ),
        ),
      ),
      // Anything else under the base URL: an unknown route answers a bare 404, as the real host does.
      http.all(`${this.apiBaseUrl}/*`, this.handle('other', () => new Response(null, { status: 404 }), { authenticate: false })),
    ];
  }

  /** Which operation a request to this fake is; useful in fault rules (`match: (r) => fake.operationOf(r) === 'create'`). */
  operationOf(request: Request): IpaasOperation {
    const url = new URL(request.url);
    const route = this.routes.find((candidate) => candidate.method === request.method && matchRequestUrl(url, candidate.pattern).matches);
    if (!route) return 'other';
    return typeof route.operation === 'function' ? route.operation(request) : route.operation;
  }

  /** Matcher for fault rules: `fake.faults.add({ match: fake.matches('create'), status: 500 })`. */
  matches(...operations: IpaasOperation[]): (request: Request) => boolean {
    return (request) => operations.includes(this.operationOf(request));
  }

  // ---- State API ------------------------------------------------------------------------------------------

  customers(): FakeIpaasCustomer[] {
    return [...this.customerRows.values()].sort((a, b) => a.id - b.id).map(toFakeCustomer);
  }

  customer(id: string): FakeIpaasCustomer | undefined {
    const row = this.customerRows.get(Number(id));
    return row && toFakeCustomer(row);
  }

  addresses(customerId: string): IpaasAddress[] {
    return this.addressRowsOf(Number(customerId)).map(toAddress);
  }

  /** Adds a customer directly (no API call, not counted). Two customers may share an email; numbers stay unique as in the service. */
  seedCustomer(seed: FakeIpaasCustomerSeed = {}): FakeIpaasCustomer {
    const customerNumber = seed.customerNumber ?? '';
    if (customerNumber !== '' && this.findByNumber(customerNumber)) {
      throw new Error(`FakeIpaas.seedCustomer: customer_number ${customerNumber} exists already (iPaaS.com keeps it unique)`);
    }
    const now = timestamp(this.clock());
    const row: StoredCustomer = {
      id: this.nextCustomerId++,
      customer_number: customerNumber,
      first_name: seed.firstName ?? '',
      last_name: seed.lastName ?? '',
      email_address: seed.emailAddress ?? '',
      company: seed.company ?? '',
      comment: seed.comment ?? '',
      custom_fields: [],
      created_datetime: now,
      updated_datetime: now,
    };
    this.insertRow(row);
    return toFakeCustomer(row);
  }

  seedAddress(customerId: string, seed: Partial<IpaasAddressInput> = {}): IpaasAddress {
    const customer = this.customerRows.get(Number(customerId));
    if (!customer) throw new Error(`FakeIpaas.seedAddress: no customer ${customerId}`);
    const row: StoredAddress = {
      id: this.nextAddressId++,
      customer_id: customer.id,
      address_1: seed.address1 ?? '',
      address_2: seed.address2 ?? '',
      city: seed.city ?? '',
      region: seed.region ?? '',
      country: seed.country ?? '',
      postal_code: seed.postalCode ?? '',
      phone_number: seed.phoneNumber ?? '',
      is_primary_billing: seed.isPrimaryBilling ?? false,
      is_primary_shipping: seed.isPrimaryShipping ?? false,
    };
    this.addressRows.set(row.id, row);
    return toAddress(row);
  }

  /** Changes a customer directly (no API call, not counted), as if someone edited it in iPaaS.com's own screens. */
  editCustomer(id: string, patch: Partial<Pick<FakeIpaasCustomer, 'firstName' | 'lastName' | 'emailAddress' | 'company' | 'comment'>>): FakeIpaasCustomer {
    const row = this.customerRows.get(Number(id));
    if (!row) throw new Error(`FakeIpaas.editCustomer: no customer ${id}`);
    if (patch.firstName !== undefined) row.first_name = patch.firstName;
    if (patch.lastName !== undefined) row.last_name = patch.lastName;
    if (patch.emailAddress !== undefined) row.email_address = patch.emailAddress;
    if (patch.company !== undefined) row.company = patch.company;
    if (patch.comment !== undefined) row.comment = patch.comment;
    row.updated_datetime = timestamp(this.clock());
    return toFakeCustomer(row);
  }

  /** Removes a customer with its addresses and external ids, as if deleted in iPaaS.com. */
  deleteCustomer(id: string): boolean {
    const numeric = Number(id);
    const existing = this.customerRows.get(numeric);
    if (!existing) return false;
    this.removeRow(existing);
    for (const address of this.addressRowsOf(numeric)) this.addressRows.delete(address.id);
    this.externalIdRows = this.externalIdRows.filter((row) => row.internal_id !== numeric);
    return true;
  }

  /** The tenant's subscriptions (GET /subscriptions/v2/Subscriptions). */
  subscriptions(): FakeIpaasSubscription[] {
    return this.subscriptionRows.map((row) => ({ ...row }));
  }

  /** Replaces the tenant's subscriptions (e.g. none, to see a system id refused). */
  setSubscriptions(rows: readonly FakeIpaasSubscription[]): void {
    this.subscriptionRows = rows.map((row) => ({ ...row }));
  }

  externalIds(): FakeIpaasExternalId[] {
    return this.externalIdRows.map((row) => ({
      tableName: row.table_name,
      systemId: row.system_id,
      externalId: row.external_id,
      internalId: String(row.internal_id),
    }));
  }

  /** Empties every store, zeroes the counters, clears the faults; ids start over. */
  reset(): void {
    this.customerRows.clear();
    this.numberIndex.clear();
    this.sortedCache = undefined;
    this.addressRows.clear();
    this.externalIdRows = [];
    this.subscriptionRows = this.initialSubscriptions.map((row) => ({ ...row }));
    this.nextCustomerId = 4501;
    this.nextAddressId = 981;
    for (const key of Object.keys(this.requests) as Array<keyof FakeIpaasRequestCounts>) this.requests[key] = 0;
    this.faults.clear();
    this.faults.injected = 0;
  }

  // ---- Request pipeline -------------------------------------------------------------------------------------

  private handle(
    operation: IpaasOperation | ((request: Request) => IpaasOperation),
    respond: (request: Request, params: Record<string, string>) => Response | Promise<Response>,
    { authenticate = true }: { authenticate?: boolean } = {},
  ) {
    return async ({ request, params }: { request: Request; params: Record<string, string | readonly string[] | undefined> }): Promise<Response> => {
      const op = typeof operation === 'function' ? operation(request) : operation;
      this.requests.total += 1;
      this.requests[op] += 1;
      const fault = await this.faults.apply(request, (status) => ipaasErrorBody(errorCodeFor(status), faultMessage(status)));
      if (fault) return fault;
      if (authenticate && request.headers.get('authorization') !== `Bearer ${this.apiToken}`) {
        return ipaasError(401, 'AUTH-1001', 'The API key is missing, invalid or expired');
      }
      const values: Record<string, string> = {};
      for (const [name, value] of Object.entries(params)) if (typeof value === 'string') values[name] = decodeURIComponent(value);
      return respond(request, values);
    };
  }

  private searchOperation(request: Request): IpaasOperation {
    const url = new URL(request.url);
    if (queryParam(url, QUERY.emailAddress) !== null) return 'searchByEmail';
    if (queryParam(url, QUERY.customerNumber) !== null) return 'searchByNumber';
    return 'list';
  }

  private search(request: Request): Response {
    const url = new URL(request.url);
    const email = queryParam(url, QUERY.emailAddress);
    const number = queryParam(url, QUERY.customerNumber);
    const action = queryParam(url, QUERY.action);
    if ((email !== null || number !== null) && action?.toLowerCase() !== QUERY.equals) {
      return ipaasError(422, 'VALD-1003', `Unsupported search action; this endpoint supports action=${QUERY.equals}`);
    }
    const rows =
      email === null && number === null
        ? this.sortedRows()
        : this.sortedRows().filter((row) => (email === null || sameText(row.email_address, email)) && (number === null || sameText(row.customer_number, number)));
    return this.page(url, rows.map((row) => this.customerWire(row)));
  }

  private page(url: URL, items: unknown[]): Response {
    const raw = queryParam(url, QUERY.pageNumber);
    const pageNumber = raw === null ? 1 : /^\d+$/u.test(raw) ? Number(raw) : 0;
    if (pageNumber < 1) return ipaasError(422, 'VALD-1005', 'pageNumber must be a positive whole number');
    const totalPages = Math.ceil(items.length / this.pageSize);
    const slice = items.slice((pageNumber - 1) * this.pageSize, pageNumber * this.pageSize);
    const pagination = { current_Page: pageNumber, total_Pages: totalPages, page_Size: this.pageSize, total_Count: items.length };
    return HttpResponse.json(slice, { status: 200, headers: { [PAGINATION_HEADER]: JSON.stringify(pagination) } });
  }

  private get(id: string): Response {
    const row = this.customerById(id);
    if (!row) return notFound('Customer', id);
    return HttpResponse.json(this.customerWire(row), { status: 200 });
  }

  private async create(request: Request): Promise<Response> {
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = createCustomerSchema.safeParse(body);
    if (!parsed.success) return ipaasError(422, 'VALD-1002', `The customer is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (!EMAIL_SHAPE.test(input.email_address)) return ipaasError(422, 'VALD-1004', 'email_address is not a valid email address');
    if (this.findByNumber(input.customer_number)) return duplicateNumber(input.customer_number);
    const now = timestamp(this.clock());
    const row: StoredCustomer = {
      id: this.nextCustomerId++,
      customer_number: input.customer_number,
      first_name: input.first_name ?? '',
      last_name: input.last_name ?? '',
      email_address: input.email_address,
      company: input.company ?? '',
      comment: input.comment ?? '',
      custom_fields: input.custom_fields ?? [],
      created_datetime: now,
      updated_datetime: now,
    };
    this.insertRow(row);
    return HttpResponse.json(this.customerWire(row), { status: 201 });
  }

  /** PUT replaces the writable fields (absent optional ones become empty), as a .NET PUT binding does. */
  private async update(request: Request, id: string): Promise<Response> {
    const row = this.customerById(id);
    if (!row) return notFound('Customer', id);
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = updateCustomerSchema.safeParse(body);
    if (!parsed.success) return ipaasError(422, 'VALD-1002', `The customer is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (input.id !== undefined && input.id !== null && String(input.id) !== String(row.id)) {
      return ipaasError(422, 'VALD-1006', 'id in the body does not match the id in the path');
    }
    if (!EMAIL_SHAPE.test(input.email_address)) return ipaasError(422, 'VALD-1004', 'email_address is not a valid email address');
    const owner = this.findByNumber(input.customer_number);
    if (owner && owner.id !== row.id) return duplicateNumber(input.customer_number);
    this.numberIndex.delete(row.customer_number.toLowerCase());
    this.numberIndex.set(input.customer_number.toLowerCase(), row.id);
    Object.assign(row, {
      customer_number: input.customer_number,
      first_name: input.first_name ?? '',
      last_name: input.last_name ?? '',
      email_address: input.email_address,
      company: input.company ?? '',
      comment: input.comment ?? '',
      custom_fields: input.custom_fields ?? [],
      updated_datetime: timestamp(this.clock()),
    });
    return HttpResponse.json(this.customerWire(row), { status: 200 });
  }

  private listAddresses(request: Request, id: string): Response {
    const customer = this.customerById(id);
    if (!customer) return notFound('Customer', id);
    return this.page(new URL(request.url), this.addressRowsOf(customer.id));
  }

  private async addAddress(request: Request, id: string): Promise<Response> {
    const customer = this.customerById(id);
    if (!customer) return notFound('Customer', id);
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = addressSchema.safeParse(body);
    if (!parsed.success) return ipaasError(422, 'VALD-1002', `The address is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (input.customer_id !== undefined && input.customer_id !== null && Number(input.customer_id) !== customer.id) {
      return ipaasError(422, 'VALD-1006', 'customer_id in the body does not match the customer in the path');
    }
    const row: StoredAddress = {
      id: this.nextAddressId++,
      customer_id: customer.id,
      address_1: input.address_1 ?? '',
      address_2: input.address_2 ?? '',
      city: input.city ?? '',
      region: input.region ?? '',
      country: input.country ?? '',
      postal_code: input.postal_code ?? '',
      phone_number: input.phone_number ?? '',
      is_primary_billing: input.is_primary_billing ?? false,
      is_primary_shipping: input.is_primary_shipping ?? false,
    };
    if (![row.address_1, row.address_2, row.city, row.postal_code, row.country].some((value) => value.trim() !== '')) {
      return ipaasError(422, 'VALD-1007', 'An address needs at least one of address_1, address_2, city, postal_code, country');
    }
    this.addressRows.set(row.id, row);
    return HttpResponse.json(row, { status: 201 });
  }

  private async updateExternalId(request: Request): Promise<Response> {
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = externalIdSchema.safeParse(body);
    if (!parsed.success) return ipaasError(422, 'VALD-1002', `The external id is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    const systemId = input.system_id;
    if (typeof systemId !== 'number' || !Number.isSafeInteger(systemId) || systemId <= 0) {
      return ipaasError(422, 'VALD-1023', 'Invalid System Id: system_id must be the numeric id of one of your subscriptions');
    }
    if (!this.subscriptionRows.some((row) => row.id === systemId)) {
      return ipaasError(422, 'VALD-1017', `Invalid System Id: ${systemId} is not one of your subscriptions`);
    }
    const tableName = EXTERNAL_ID_TABLES.find((table) => table === input.table_name.toLowerCase());
    if (!tableName) return ipaasError(422, 'VALD-1008', `Unknown table_name ${input.table_name}`);
    if (tableName === 'customer' && !this.customerRows.has(input.internal_id)) {
      return ipaasError(404, 'NFND-1005', `Customer ${input.internal_id} was not found`);
    }
    const taken = this.externalIdRows.find(
      (row) => row.table_name === tableName && row.system_id === systemId && row.external_id === input.external_id && row.internal_id !== input.internal_id,
    );
    if (taken) return ipaasError(409, 'BIZL-1003', 'This external id is already linked to another record');
    const existing = this.externalIdRows.find((row) => row.table_name === tableName && row.system_id === systemId && row.internal_id === input.internal_id);
    if (existing) existing.external_id = input.external_id;
    else this.externalIdRows.push({ table_name: tableName, system_id: systemId, external_id: input.external_id, internal_id: input.internal_id });
    return HttpResponse.json(
      { table_name: tableName, system_id: systemId, external_id: input.external_id, internal_id: String(input.internal_id) },
      { status: 200 },
    );
  }

  /** GET LookupExternal/{internalId}/{systemId}/{tableName}: the external id as a bare string, 404 when not linked. */
  private lookupExternal(params: Record<string, string>): Response {
    const row = this.externalIdRows.find(
      (link) =>
        String(link.internal_id) === params.internalId && String(link.system_id) === params.systemId && link.table_name === params.tableName?.toLowerCase(),
    );
    return row ? HttpResponse.json(row.external_id) : ipaasError(404, 'NFND-1005', 'No external id is linked');
  }

  /** GET LookupSpaceport/{systemId}/{tableName}/{externalId}: the iPaaS.com id as a bare string, 404 when not linked. */
  private lookupSpaceport(params: Record<string, string>): Response {
    const row = this.externalIdRows.find(
      (link) =>
        link.external_id === params.externalId && String(link.system_id) === params.systemId && link.table_name === params.tableName?.toLowerCase(),
    );
    return row ? HttpResponse.json(String(row.internal_id)) : ipaasError(404, 'NFND-1005', 'No record is linked');
  }

  // ---- Helpers ------------------------------------------------------------------------------------------------

  private customerById(id: string): StoredCustomer | undefined {
    return /^\d+$/u.test(id) ? this.customerRows.get(Number(id)) : undefined;
  }

  private findByNumber(customerNumber: string): StoredCustomer | undefined {
    const id = this.numberIndex.get(customerNumber.toLowerCase());
    const row = id === undefined ? undefined : this.customerRows.get(id);
    return row && sameText(row.customer_number, customerNumber) ? row : undefined;
  }

  private insertRow(row: StoredCustomer): void {
    this.customerRows.set(row.id, row);
    if (row.customer_number !== '') this.numberIndex.set(row.customer_number.toLowerCase(), row.id);
    this.sortedCache = undefined;
  }

  private removeRow(row: StoredCustomer): void {
    this.customerRows.delete(row.id);
    if (this.numberIndex.get(row.customer_number.toLowerCase()) === row.id) this.numberIndex.delete(row.customer_number.toLowerCase());
    this.sortedCache = undefined;
  }

  private sortedRows(): StoredCustomer[] {
    this.sortedCache ??= [...this.customerRows.values()].sort((a, b) => a.id - b.id);
    return this.sortedCache;
  }

  private addressRowsOf(customerId: number): StoredAddress[] {
    return [...this.addressRows.values()].filter((row) => row.customer_id === customerId).sort((a, b) => a.id - b.id);
  }

  private customerWire(row: StoredCustomer): Record<string, unknown> {
    const externalIds = this.externalIdRows
      .filter((link) => link.internal_id === row.id && link.table_name === 'customer')
      .map((link) => ({ system_id: link.system_id, external_id: link.external_id }));
    return {
      id: row.id,
      customer_number: row.customer_number,
      first_name: row.first_name,
      last_name: row.last_name,
      email_address: row.email_address,
      company: row.company,
      comment: row.comment,
      external_ids: externalIds,
      custom_fields: row.custom_fields,
      created_datetime: row.created_datetime,
      updated_datetime: row.updated_datetime,
    };
  }
}

function toFakeCustomer(row: StoredCustomer): FakeIpaasCustomer {
  return {
    id: String(row.id),
    customerNumber: row.customer_number,
    firstName: row.first_name,
    lastName: row.last_name,
    emailAddress: row.email_address,
    company: row.company,
    comment: row.comment,
    createdDatetime: row.created_datetime,
    updatedDatetime: row.updated_datetime,
  };
}

function toAddress(row: StoredAddress): IpaasAddress {
  return {
    id: String(row.id),
    customerId: String(row.customer_id),
    address1: row.address_1,
    address2: row.address_2,
    city: row.city,
    region: row.region,
    country: row.country,
    postalCode: row.postal_code,
    phoneNumber: row.phone_number,
    isPrimaryBilling: row.is_primary_billing,
    isPrimaryShipping: row.is_primary_shipping,
  };
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return ipaasError(400, 'VALD-1001', 'The request body is not valid JSON');
  }
}

function notFound(entity: string, id: string): Response {
  return ipaasError(404, 'NFND-1005', `${entity} ${id} was not found`);
}

function duplicateNumber(customerNumber: string): Response {
  return ipaasError(409, 'BIZL-1001', `A customer with customer_number ${customerNumber} already exists`);
}

function faultMessage(status: number): string {
  if (status === 429) return 'Too many requests; retry later';
  if (status >= 500) return 'An internal error occurred; retry later';
  return `Request failed with status ${status}`;
}
