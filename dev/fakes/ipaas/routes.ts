import { HttpResponse } from 'msw';
import { ipaasError, IpaasRefusal, refusalResponse } from './errors';
import type { IpaasStore } from './store';

/**
 * The iPaaS.com fake's routes: its own table, written from the API notes (docs/external-apis.md). It deliberately
 * does not import the client's path table (shared/ipaas/paths.ts) nor its wire schemas, so a wrong client path or
 * body fails a test instead of moving both. Each route reads the request (query, `action=equals` search, paging
 * through `pageNumber` and `X-Pagination`, JSON bodies) and answers from the store.
 */

/** The fake's routes, from the API notes (the client's paths are configurable and must agree with these). */
export const FAKE_IPAAS_ROUTES = {
  customers: '/customers/v2/Customers',
  customer: '/customers/v2/Customer/:customerId',
  createCustomer: '/customers/v2/Customer',
  addresses: '/customers/v2/Customer/:customerId/Addresses',
  address: '/customers/v2/Customer/:customerId/Address',
  updateExternalId: '/customers/v2/External/UpdateExternalId',
  lookupExternal: '/customers/v2/External/LookupExternal/:internalId/:systemId/:tableName',
  lookupSpaceport: '/customers/v2/External/LookupSpaceport/:systemId/:tableName/:externalId',
  subscriptions: '/subscriptions/v2/Subscriptions',
} as const;

/**
 * How the tenant's API handles a customer's addresses (each way is one a real tenant may have, as far as the API
 * notes tell): `separate` (the documented default: GET .../Addresses lists, POST .../Address adds one),
 * `elsewhere` (the list as before, but the POST lives on the list's path .../Addresses), `nested` (no address
 * endpoint: the customer's own bodies carry the collection `addresses`), `none` (no address endpoint at all).
 */
export const FAKE_IPAAS_ADDRESS_APIS = ['separate', 'elsewhere', 'nested', 'none'] as const;
export type FakeIpaasAddressApi = (typeof FAKE_IPAAS_ADDRESS_APIS)[number];

/** The models of the fake's API descriptions (ipaas/description.ts writes them out). */
export type FakeIpaasModel =
  | 'CustomerRequest'
  | 'CustomerResponse'
  | 'AddressRequest'
  | 'AddressResponse'
  | 'ExternalIdRequest'
  | 'ExternalIdResponse'
  | 'SubscriptionGetAllResponse';

/** What a route's entry in the API description says: its body and its reply (a model, a list of one, or a bare string). */
export interface FakeIpaasRouteDoc {
  summary: string;
  request?: FakeIpaasModel;
  response?: FakeIpaasModel | { list: FakeIpaasModel } | 'string';
  /** Query parameters the route binds. */
  query?: readonly string[];
}

const QUERY = { action: 'action', equals: 'equals', emailAddress: 'EmailAddress', customerNumber: 'CustomerNumber', pageNumber: 'pageNumber' } as const;
const PAGINATION_HEADER = 'X-Pagination';

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
  | 'description'
  | 'other';

export const OPERATIONS: readonly IpaasOperation[] = [
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
  'description',
  'other',
];

export type Responder = (request: Request, params: Record<string, string>) => Response | Promise<Response>;

export interface FakeIpaasRoute {
  /** The operation counted for a request on this route (a search's depends on its query). */
  operation: IpaasOperation | ((request: Request) => IpaasOperation);
  method: 'GET' | 'POST' | 'PUT';
  /** Path below the API base URL, from FAKE_IPAAS_ROUTES. */
  path: string;
  respond: Responder;
  /** Its entry in the service's API description. */
  doc: FakeIpaasRouteDoc;
}

/**
 * The route table over a store; `pageSize` rows per list page; `addressApi` which address routes exist. Refusals of
 * the store become iPaaS.com error answers.
 */
export function ipaasRoutes(store: IpaasStore, pageSize: number, addressApi: FakeIpaasAddressApi = 'separate'): FakeIpaasRoute[] {
  const R = FAKE_IPAAS_ROUTES;
  const page = (url: URL, items: unknown[]): Response => {
    const raw = queryParam(url, QUERY.pageNumber);
    const pageNumber = raw === null ? 1 : /^\d+$/u.test(raw) ? Number(raw) : 0;
    if (pageNumber < 1) return ipaasError(422, 'VALD-1005', 'pageNumber must be a positive whole number');
    const totalPages = Math.ceil(items.length / pageSize);
    const slice = items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
    const pagination = { current_Page: pageNumber, total_Pages: totalPages, page_Size: pageSize, total_Count: items.length };
    return HttpResponse.json(slice, { status: 200, headers: { [PAGINATION_HEADER]: JSON.stringify(pagination) } });
  };

  const search: Responder = (request) => {
    const url = new URL(request.url);
    const email = queryParam(url, QUERY.emailAddress);
    const number = queryParam(url, QUERY.customerNumber);
    const action = queryParam(url, QUERY.action);
    if ((email !== null || number !== null) && action?.toLowerCase() !== QUERY.equals) {
      return ipaasError(422, 'VALD-1003', `Unsupported search action; this endpoint supports action=${QUERY.equals}`);
    }
    return page(url, store.searchCustomers(email, number));
  };

  const customerId = (params: Record<string, string>): string => params.customerId ?? '';
  const listAddresses: FakeIpaasRoute = {
    operation: 'listAddresses',
    method: 'GET',
    path: R.addresses,
    respond: (request, params) => page(new URL(request.url), store.addressRowsOf(store.requireCustomer(customerId(params)).id)),
    doc: { summary: "A customer's addresses", response: { list: 'AddressResponse' }, query: [QUERY.pageNumber] },
  };
  const addAddress = (path: string): FakeIpaasRoute => ({
    operation: 'addAddress',
    method: 'POST',
    path,
    respond: async (request, params) => {
      const customer = store.requireCustomer(customerId(params));
      return HttpResponse.json(store.addAddress(customer, await readJson(request)), { status: 201 });
    },
    doc: { summary: 'Adds an address to a customer', request: 'AddressRequest', response: 'AddressResponse' },
  });
  const addressRoutes: Record<FakeIpaasAddressApi, FakeIpaasRoute[]> = {
    separate: [listAddresses, addAddress(R.address)],
    elsewhere: [listAddresses, addAddress(R.addresses)],
    nested: [],
    none: [],
  };

  const routes: FakeIpaasRoute[] = [
    {
      operation: searchOperation,
      method: 'GET',
      path: R.customers,
      respond: search,
      doc: { summary: 'Customers, all or those equal to a filter', response: { list: 'CustomerResponse' }, query: [QUERY.action, QUERY.emailAddress, QUERY.customerNumber, QUERY.pageNumber] },
    },
    {
      operation: 'get',
      method: 'GET',
      path: R.customer,
      respond: (_request, params) => HttpResponse.json(store.customerWire(store.requireCustomer(customerId(params))), { status: 200 }),
      doc: { summary: 'One customer', response: 'CustomerResponse' },
    },
    {
      operation: 'create',
      method: 'POST',
      path: R.createCustomer,
      respond: async (request) => HttpResponse.json(store.createCustomer(await readJson(request)), { status: 201 }),
      doc: { summary: 'Creates a customer', request: 'CustomerRequest', response: 'CustomerResponse' },
    },
    {
      operation: 'update',
      method: 'PUT',
      path: R.customer,
      respond: async (request, params) => {
        const row = store.requireCustomer(customerId(params));
        return HttpResponse.json(store.updateCustomer(row, await readJson(request)), { status: 200 });
      },
      doc: { summary: 'Replaces a customer', request: 'CustomerRequest', response: 'CustomerResponse' },
    },
    ...addressRoutes[addressApi],
    {
      operation: 'linkExternalId',
      method: 'POST',
      path: R.updateExternalId,
      respond: async (request) => HttpResponse.json(store.linkExternalId(await readJson(request)), { status: 200 }),
      doc: { summary: 'Links an external id to a record', request: 'ExternalIdRequest', response: 'ExternalIdResponse' },
    },
    {
      // GET LookupExternal/{internalId}/{systemId}/{tableName}: the external id as a bare string, 404 when not linked.
      operation: 'lookupExternal',
      method: 'GET',
      path: R.lookupExternal,
      respond: (_request, params) => {
        const externalId = store.externalIdOf(params.internalId, params.systemId, params.tableName);
        return externalId === undefined ? ipaasError(404, 'NFND-1005', 'No external id is linked') : HttpResponse.json(externalId);
      },
      doc: { summary: 'The external id of a record', response: 'string' },
    },
    {
      // GET LookupSpaceport/{systemId}/{tableName}/{externalId}: the iPaaS.com id as a bare string, 404 when not linked.
      operation: 'lookupExternal',
      method: 'GET',
      path: R.lookupSpaceport,
      respond: (_request, params) => {
        const internalId = store.internalIdOf(params.systemId, params.tableName, params.externalId);
        return internalId === undefined ? ipaasError(404, 'NFND-1005', 'No record is linked') : HttpResponse.json(internalId);
      },
      doc: { summary: 'The iPaaS.com id of an external id', response: 'string' },
    },
    {
      operation: 'listSubscriptions',
      method: 'GET',
      path: R.subscriptions,
      respond: (request) => page(new URL(request.url), store.subscriptions()),
      doc: { summary: "The tenant's subscriptions", response: { list: 'SubscriptionGetAllResponse' }, query: [QUERY.pageNumber] },
    },
  ];
  return routes.map((route) => ({ ...route, respond: answeringRefusals(route.respond) }));
}

/** Which search a GET on the customers list is, by its query. */
function searchOperation(request: Request): IpaasOperation {
  const url = new URL(request.url);
  if (queryParam(url, QUERY.emailAddress) !== null) return 'searchByEmail';
  if (queryParam(url, QUERY.customerNumber) !== null) return 'searchByNumber';
  return 'list';
}

function answeringRefusals(respond: Responder): Responder {
  return async (request, params) => {
    try {
      return await respond(request, params);
    } catch (error) {
      if (error instanceof IpaasRefusal) return refusalResponse(error);
      throw error;
    }
  };
}

function queryParam(url: URL, name: string): string | null {
  // ASP.NET binds query names case-insensitively.
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === name.toLowerCase()) return value;
  return null;
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IpaasRefusal(400, 'VALD-1001', 'The request body is not valid JSON');
  }
}
