import { http, HttpResponse, matchRequestUrl, type RequestHandler } from 'msw';
import type { IpaasAddress, IpaasAddressInput } from '../../shared/ipaas/types';
import { errorCodeFor, faultMessage, ipaasError, ipaasErrorBody } from './ipaas/errors';
import { descriptionPath, fakeIpaasDescription, type FakeIpaasDescriptionFormat } from './ipaas/description';
import { ipaasRoutes, OPERATIONS, type FakeIpaasAddressApi, type FakeIpaasRoute, type IpaasOperation, type Responder } from './ipaas/routes';
import {
  FAKE_IPAAS_SUBSCRIPTIONS,
  IpaasStore,
  type FakeIpaasCustomer,
  type FakeIpaasCustomerSeed,
  type FakeIpaasExternalId,
  type FakeIpaasSubscription,
} from './ipaas/store';
import { FaultInjector } from './faults';

/**
 * An in-memory iPaaS.com customer API (docs/external-apis.md) as msw handlers, for tests and the sandbox.
 * This file is the HTTP front: the bearer token, injected faults, request counts, and the answers of the host
 * itself (an unknown route answers a bare 404 with no body, a known route asked with another method 405).
 * Behind it, split by concern:
 * - `ipaas/routes.ts`: the fake's own route table (`FAKE_IPAAS_ROUTES`, from the API notes, never the client's),
 *   queries (`action=equals` search, `pageNumber` paging with `X-Pagination`) and request bodies;
 * - `ipaas/store.ts`: customers, addresses, external ids and subscriptions, and the checks the service makes on
 *   them (strict snake_case bodies, 422 VALD; unique customer_number, 409 BIZL; system ids among the tenant's
 *   subscriptions; no unique emails, as iPaaS.com's API has none);
 * - `ipaas/errors.ts`: the error body `{ "errors": [ { "code": "CATEGORY-NNNN", "message": "..." } ] }` and codes;
 * - `ipaas/description.ts`: the OpenAPI document each service serves at `/{service}/swagger/v2/swagger.json`, written
 *   from the route table above (without the bearer token, as Swashbuckle serves it by default).
 */

export { FAKE_IPAAS_ADDRESS_APIS, FAKE_IPAAS_ROUTES, type FakeIpaasAddressApi, type IpaasOperation } from './ipaas/routes';
export { descriptionPath, FAKE_IPAAS_DESCRIPTION_FORMATS, type FakeIpaasDescriptionFormat } from './ipaas/description';
export { FAKE_IPAAS_SUBSCRIPTIONS, type FakeIpaasCustomer, type FakeIpaasCustomerSeed, type FakeIpaasExternalId, type FakeIpaasSubscription } from './ipaas/store';
export { ipaasErrorBody } from './ipaas/errors';

export type FakeIpaasRequestCounts = Record<'total' | IpaasOperation, number>;

export interface FakeIpaasOptions {
  apiBaseUrl: string;
  apiToken: string;
  /** More API keys of the same tenant that are accepted (a company of Business Central may have its own). */
  otherApiTokens?: readonly string[];
  /** Rows per list page; iPaaS.com-like default 50. */
  pageSize?: number;
  clock?: () => Date;
  /** The tenant's subscriptions; default FAKE_IPAAS_SUBSCRIPTIONS. */
  subscriptions?: readonly FakeIpaasSubscription[];
  /** How this tenant's API handles addresses (routes, bodies and description alike); default `separate`. */
  addressApi?: FakeIpaasAddressApi;
  /** The API descriptions served: OpenAPI 3 (default), Swagger 2.0, or none (a bare 404, as an unknown route). */
  description?: FakeIpaasDescriptionFormat;
  /** When set, every API request must carry it as X-Client-Id (else 401 AUTH), as a tenant that requires it would. */
  clientId?: string;
}

export class FakeIpaas {
  readonly handlers: RequestHandler[];
  readonly faults = new FaultInjector();
  /** Requests received (including faulted and unauthorized ones), in total and per operation. */
  readonly requests: FakeIpaasRequestCounts = Object.fromEntries([['total', 0], ...OPERATIONS.map((op) => [op, 0])]) as FakeIpaasRequestCounts;

  private readonly apiBaseUrl: string;
  private readonly apiTokens: ReadonlySet<string>;
  private readonly clientId: string | undefined;
  private readonly store: IpaasStore;
  private readonly routes: ReadonlyArray<{
    operation: IpaasOperation | ((request: Request) => IpaasOperation);
    method: string;
    pattern: string;
    respond: Responder;
  }>;

  constructor(options: FakeIpaasOptions) {
    this.apiBaseUrl = options.apiBaseUrl.replace(/\/+$/u, '');
    this.apiTokens = new Set([options.apiToken, ...(options.otherApiTokens ?? [])]);
    this.clientId = options.clientId;
    const addressApi = options.addressApi ?? 'separate';
    this.store = new IpaasStore(options.clock ?? (() => new Date()), options.subscriptions ?? FAKE_IPAAS_SUBSCRIPTIONS, addressApi === 'nested');
    const table = ipaasRoutes(this.store, options.pageSize ?? 50, addressApi);
    this.routes = table.map((route) => ({ ...route, pattern: `${this.apiBaseUrl}${route.path}` }));
    const knownPatterns = [...new Set(this.routes.map((route) => route.pattern))];
    const format = options.description ?? 'openapi3';
    this.handlers = [
      // Each service's API description, from the route table; none at all answers like any unknown route.
      ...(format === 'none'
        ? []
        : describedServices(table).map((service) =>
            http.get(
              `${this.apiBaseUrl}${descriptionPath(service)}`,
              this.handle('description', () => HttpResponse.json(fakeIpaasDescription(service, table, format, addressApi === 'nested')), { authenticate: false }),
            ),
          )),
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

  // ---- State API (the store's, unchanged for callers) -------------------------------------------------------

  customers(): FakeIpaasCustomer[] {
    return this.store.customers();
  }

  customer(id: string): FakeIpaasCustomer | undefined {
    return this.store.customer(id);
  }

  addresses(customerId: string): IpaasAddress[] {
    return this.store.addresses(customerId);
  }

  /** Adds a customer directly (no API call, not counted). Two customers may share an email; numbers stay unique as in the service. */
  seedCustomer(seed: FakeIpaasCustomerSeed = {}): FakeIpaasCustomer {
    return this.store.seedCustomer(seed);
  }

  seedAddress(customerId: string, seed: Partial<IpaasAddressInput> = {}): IpaasAddress {
    return this.store.seedAddress(customerId, seed);
  }

  /** Changes a customer directly (no API call, not counted), as if someone edited it in iPaaS.com's own screens. */
  editCustomer(id: string, patch: Partial<Pick<FakeIpaasCustomer, 'firstName' | 'lastName' | 'emailAddress' | 'company' | 'comment'>>): FakeIpaasCustomer {
    return this.store.editCustomer(id, patch);
  }

  /** Removes a customer with its addresses and external ids, as if deleted in iPaaS.com. */
  deleteCustomer(id: string): boolean {
    return this.store.deleteCustomer(id);
  }

  /** The tenant's subscriptions (GET /subscriptions/v2/Subscriptions). */
  subscriptions(): FakeIpaasSubscription[] {
    return this.store.subscriptions();
  }

  /** Replaces the tenant's subscriptions (e.g. none, to see a system id refused). */
  setSubscriptions(rows: readonly FakeIpaasSubscription[]): void {
    this.store.setSubscriptions(rows);
  }

  externalIds(): FakeIpaasExternalId[] {
    return this.store.externalIds();
  }

  /** Empties every store, zeroes the counters, clears the faults; ids start over. */
  reset(): void {
    this.store.reset();
    for (const key of Object.keys(this.requests) as Array<keyof FakeIpaasRequestCounts>) this.requests[key] = 0;
    this.faults.clear();
    this.faults.injected = 0;
  }

  // ---- Request pipeline -------------------------------------------------------------------------------------

  private handle(operation: IpaasOperation | ((request: Request) => IpaasOperation), respond: Responder, { authenticate = true }: { authenticate?: boolean } = {}) {
    return async ({ request, params }: { request: Request; params: Record<string, string | readonly string[] | undefined> }): Promise<Response> => {
      const op = typeof operation === 'function' ? operation(request) : operation;
      this.requests.total += 1;
      this.requests[op] += 1;
      const fault = await this.faults.apply(request, (status) => ipaasErrorBody(errorCodeFor(status), faultMessage(status)));
      if (fault) return fault;
      const header = request.headers.get('authorization') ?? '';
      if (authenticate && !(header.startsWith('Bearer ') && this.apiTokens.has(header.slice('Bearer '.length)))) {
        return ipaasError(401, 'AUTH-1001', 'The API key is missing, invalid or expired');
      }
      if (authenticate && this.clientId !== undefined && request.headers.get('x-client-id') !== this.clientId) {
        return ipaasError(401, 'AUTH-1003', 'X-Client-Id is missing or not the company of this API key');
      }
      const values: Record<string, string> = {};
      for (const [name, value] of Object.entries(params)) if (typeof value === 'string') values[name] = decodeURIComponent(value);
      return respond(request, values);
    };
  }
}

/** The services a route table serves (the first path segment: `customers`, `subscriptions`). */
function describedServices(routes: readonly FakeIpaasRoute[]): string[] {
  return [...new Set(routes.map((route) => route.path.split('/')[1] ?? '').filter(Boolean))];
}
