import { AsyncLocalStorage } from 'node:async_hooks';
import type { z } from 'zod';
import type { Config } from '../config';
import { SyncError } from '../errors';
import { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse } from '../http/httpClient';
import { redact } from '../log';
import {
  DEFAULT_IPAAS_ADDRESS_COLLECTION,
  DEFAULT_IPAAS_PATHS,
  IPAAS_CLIENT_ID_HEADER,
  IPAAS_EXTERNAL_ID_TABLE,
  IPAAS_PAGINATION_HEADER,
  IPAAS_QUERY,
  ipaasUrl,
  type IpaasPathName,
} from './paths';
import type {
  ExternalIdLink,
  IpaasAddress,
  IpaasAddressInput,
  IpaasApi,
  IpaasCustomer,
  IpaasCustomerInput,
  IpaasCustomerPage,
  IpaasCustomerRecord,
  IpaasSubscription,
} from './types';
import {
  addressFromWire,
  addressInputToWire,
  addressListWireSchema,
  addressWireSchema,
  customerFromWire,
  customerInputToWire,
  customerListWireSchema,
  nestedAddressesOf,
  customerUpdateToWire,
  customerWireSchema,
  describeIssues,
  externalIdToWire,
  subscriptionListWireSchema,
  parseIpaasErrors,
  parsePaginationHeader,
  type IpaasWireError,
} from './wire';

export interface IpaasClientOptions {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onExchange?: HttpClientOptions['onExchange'];
  /** Most pages followed for one list before giving up (a guard against a runaway or ignored pageNumber). Default 100. */
  maxPages?: number;
}

export const DEFAULT_MAX_PAGES = 100;
const SERVICE = 'iPaaS.com';
const MAX_DETAIL_LENGTH = 300;

type Operation =
  | 'listCustomers'
  | 'searchByEmail'
  | 'searchByNumber'
  | 'get'
  | 'create'
  | 'update'
  | 'listAddresses'
  | 'addAddress'
  | 'linkExternalId'
  | 'listSubscriptions';

/**
 * The iPaaS.com customer API (docs/external-apis.md) over HttpClient: bearer auth, concurrency cap, retries of 429/5xx
 * honouring Retry-After, paging through `pageNumber` / `X-Pagination`, and every reply validated with zod.
 * Errors are SyncError: IpaasRejected (final) for VALD/BIZL/NFND replies, with the service's codes in
 * `remoteCodes` (the caller decides what a BIZL means, by reading: never from the message text),
 * IpaasUnavailable (transient) for INTL, 429, 5xx, timeouts, network failures and replies of an unexpected
 * shape, and for 401/403 and AUTH/AUTZ (the key refused) with `outage.kind = 'auth'`: a failure of the whole
 * service, which holds work instead of failing customers. Messages never hold the token or an email.
 * Paths come from `config.paths` (defaults plus IPAAS_PATHS); `config.clientId` (IPAAS_CLIENT_ID) goes out as
 * X-Client-Id on every request; `config.addressMode` (IPAAS_ADDRESS_MODE) decides how addresses travel.
 *
 * Nested addresses (ASSUMED, to be confirmed by the tenant's description): the customer's `addressCollection`
 * field holds its addresses; GET returns them, and a create or update carries the whole collection the customer
 * should have. An update therefore sends every address it read (each as read, with its id) plus the new ones, so
 * a PUT that replaces the collection keeps the existing addresses and a merging one adds only the new ones.
 * PreventDuplicate is decided before, against the addresses read, so no address the customer has is sent as new.
 */
export function createIpaasClient(
  config: Pick<Config['ipaas'], 'apiBaseUrl' | 'apiToken'> & Partial<Pick<Config['ipaas'], 'paths' | 'clientId' | 'addressMode' | 'addressCollection'>>,
  http: Config['http'],
  options: IpaasClientOptions = {},
): IpaasApi {
  const baseUrl = config.apiBaseUrl.replace(/\/+$/u, '');
  const paths = config.paths ?? DEFAULT_IPAAS_PATHS;
  const addressMode = config.addressMode ?? 'separate';
  const collection = config.addressCollection ?? DEFAULT_IPAAS_ADDRESS_COLLECTION;
  const clientIdHeader: Record<string, string> = config.clientId ? { [IPAAS_CLIENT_ID_HEADER]: config.clientId } : {};
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  // A literal token in a reply (an echo of our header) is removed before the generic redaction; tiny values would shred the text.
  const scrub = (text: string): string =>
    redact(config.apiToken.length >= 8 ? text.split(config.apiToken).join('[redacted]') : text);
  // The error body of the request in flight, per call: HttpClient hands us the body only through describeErrorBody.
  const failedBody = new AsyncLocalStorage<{ body?: unknown }>();

  const client = new HttpClient({
    serviceName: SERVICE,
    service: 'ipaas',
    transientCode: 'IpaasUnavailable',
    finalCode: 'IpaasRejected',
    getAuthorization: () => Promise.resolve(`Bearer ${config.apiToken}`),
    maxConcurrent: http.ipaasMaxConcurrent,
    timeoutMs: http.timeoutMs,
    retry: { maxAttempts: http.maxAttempts, baseDelayMs: http.retryBaseMs, maxDelayMs: http.retryMaxDelayMs },
    describeErrorBody: (body) => {
      const slot = failedBody.getStore();
      if (slot) slot.body = body;
      return describeErrors(parseIpaasErrors(body), scrub);
    },
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });

  const url = (name: IpaasPathName, params: Record<string, string> = {}, query?: Array<[string, string]>) =>
    ipaasUrl(baseUrl, paths[name], params, query);

  async function send(operation: Operation, request: HttpRequest): Promise<HttpResponse> {
    const slot: { body?: unknown } = {};
    const sent: HttpRequest = { ...request, headers: { ...request.headers, ...clientIdHeader } };
    try {
      return await failedBody.run(slot, () => client.send(sent));
    } catch (error) {
      throw reclassify(operation, error, slot.body);
    }
  }

  function parse<T>(schema: z.ZodType<T>, response: HttpResponse, request: HttpRequest): T {
    const parsed = schema.safeParse(response.body);
    if (parsed.success) return parsed.data;
    // A changed or broken API answers every customer this way: a failure of the service, held and retried, not a final one.
    throw new SyncError(
      'IpaasUnavailable',
      scrub(`${SERVICE} ${request.method} ${pathOf(request.url)} returned a reply of an unexpected shape (${describeIssues(parsed.error)})`),
      { status: response.status, transient: true, outage: { service: 'ipaas', kind: 'unavailable' } },
    );
  }

  /** The list's `X-Pagination` header (absent: undefined); a header that cannot be read is the service refusing the list. */
  function paginationOf(response: HttpResponse, request: HttpRequest): ReturnType<typeof parsePaginationHeader> {
    try {
      return parsePaginationHeader(response.headers.get(IPAAS_PAGINATION_HEADER));
    } catch (error) {
      throw new SyncError('IpaasRejected', `${SERVICE} GET ${pathOf(request.url)}: ${(error as Error).message}`, { status: response.status });
    }
  }

  function notFound(request: HttpRequest, what: string): SyncError {
    return new SyncError('IpaasRejected', `${SERVICE} ${request.method} ${pathOf(request.url)} answered 404: ${what}`, { status: 404 });
  }

  /** Follows `pageNumber` until `X-Pagination` says the last page was read. A 404 on the first page is the caller's to judge. */
  async function listAll<T>(
    operation: Operation,
    template: IpaasPathName,
    params: Record<string, string>,
    query: Array<[string, string]>,
    schema: z.ZodType<T[]>,
  ): Promise<{ found: true; items: T[] } | { found: false; body: unknown }> {
    const items: T[] = [];
    for (let page = 1; ; page += 1) {
      // The first request carries no pageNumber, exactly the documented search URL; later pages add it.
      const request: HttpRequest = {
        method: 'GET',
        url: url(template, params, page === 1 ? query : [...query, [IPAAS_QUERY.pageNumber, String(page)]]),
      };
      const response = await send(operation, request);
      if (response.status === 404) {
        if (page === 1) return { found: false, body: response.body };
        throw notFound(request, `page ${page} disappeared while paging`);
      }
      const pageItems = parse(schema, response, request);
      items.push(...pageItems);
      const pagination = paginationOf(response, request);
      if (!pagination || page >= pagination.totalPages || pageItems.length === 0) return { found: true, items };
      if (pagination.currentPage !== undefined && pagination.currentPage !== page) {
        // The service ignored pageNumber: following further would only repeat the same page.
        throw new SyncError(
          'IpaasRejected',
          `${SERVICE} GET ${pathOf(request.url)} answered page ${pagination.currentPage} when page ${page} was asked for`,
          { status: response.status },
        );
      }
      if (page >= maxPages) {
        throw new SyncError(
          'IpaasRejected',
          `${SERVICE} GET ${pathOf(request.url)} has ${pagination.totalPages} pages, more than the ${maxPages} this client follows`,
          { status: response.status },
        );
      }
    }
  }

  async function search(operation: 'searchByEmail' | 'searchByNumber', field: string, value: string): Promise<IpaasCustomer[]> {
    // A blank filter could be ignored by the service and list every customer; no customer is matched by "nothing".
    if (value.trim() === '') return [];
    const query: Array<[string, string]> = [
      [IPAAS_QUERY.action, IPAAS_QUERY.equals],
      [field, value],
    ];
    const result = await listAll(operation, 'searchCustomers', {}, query, customerListWireSchema);
    if (!result.found) {
      // Some APIs answer an empty search with 404 NFND; a bare 404 means the route itself is wrong.
      if (parseIpaasErrors(result.body).some((error) => error.category === 'NFND')) return [];
      throw notFound({ method: 'GET', url: url('searchCustomers') }, 'the search endpoint was not found (check IPAAS_PATHS searchCustomers)');
    }
    return result.items.map(customerFromWire);
  }

  async function readCustomer(ipaasCustomerId: string): Promise<IpaasCustomerRecord | null> {
    const request: HttpRequest = { method: 'GET', url: url('getCustomer', { id: ipaasCustomerId }) };
    const response = await send('get', request);
    if (response.status === 404) {
      // A missing record answers NFND; a bare 404 means the route itself is wrong (reading it as "gone" would create a twin).
      if (parseIpaasErrors(response.body).some((error) => error.category === 'NFND')) return null;
      throw notFound(request, 'the endpoint was not found (check IPAAS_PATHS getCustomer)');
    }
    const customer = customerFromWire(parse(customerWireSchema, response, request));
    // The body as received (validated above), not the parsed copy: it keeps every field, in the service's own form.
    return { customer, wire: response.body as Record<string, unknown> };
  }

  async function listCustomersPage(pageNumber: number): Promise<IpaasCustomerPage> {
    if (!Number.isInteger(pageNumber) || pageNumber < 1) throw new SyncError('IpaasRejected', 'pageNumber must be a whole number from 1', { transient: false });
    const request: HttpRequest = { method: 'GET', url: url('listCustomers', {}, [[IPAAS_QUERY.pageNumber, String(pageNumber)]]) };
    const response = await send('listCustomers', request);
    if (response.status === 404) {
      // An empty list may answer 404 NFND; a bare 404 means the route itself is wrong.
      if (parseIpaasErrors(response.body).some((error) => error.category === 'NFND')) return { customers: [], pageNumber, totalPages: 0 };
      throw notFound(request, 'the customer list endpoint was not found (check IPAAS_PATHS listCustomers)');
    }
    const customers = parse(customerListWireSchema, response, request).map(customerFromWire);
    const pagination = paginationOf(response, request);
    if (!pagination) {
      // Without the header only a single page can be trusted: later pages would repeat it if pageNumber were ignored.
      if (pageNumber === 1) return { customers, pageNumber, totalPages: customers.length > 0 ? 1 : 0 };
      throw new SyncError('IpaasRejected', `${SERVICE} GET ${pathOf(request.url)} answered page ${pageNumber} without ${IPAAS_PAGINATION_HEADER}`, {
        status: response.status,
      });
    }
    if (pagination.currentPage !== undefined && pagination.currentPage !== pageNumber && customers.length > 0) {
      throw new SyncError('IpaasRejected', `${SERVICE} GET ${pathOf(request.url)} answered page ${pagination.currentPage} when page ${pageNumber} was asked for`, {
        status: response.status,
      });
    }
    return { customers, pageNumber, totalPages: pagination.totalPages };
  }

  async function updateCustomer(
    ipaasCustomerId: string,
    input: IpaasCustomerInput,
    known?: IpaasCustomerRecord,
    addresses: readonly IpaasAddressInput[] = [],
  ): Promise<IpaasCustomer | null> {
    if (addressMode !== 'nested' && addresses.length > 0) throw new Error('updateCustomer: addresses travel with the customer only with IPAAS_ADDRESS_MODE=nested');
    // The whole record goes back, so fields this sync does not own survive a replacing PUT: the one the caller
    // just read when it is this customer's, else read now.
    const current = known && known.customer.id === ipaasCustomerId ? known : await readCustomer(ipaasCustomerId);
    if (!current) return null;
    const body = customerUpdateToWire(current.wire, input);
    if (addressMode === 'nested') {
      // The whole collection the customer should have: every address it has, as read (ids kept), then the new ones.
      const existing = current.wire[collection];
      body[collection] = [...(Array.isArray(existing) ? (existing as unknown[]) : []), ...addresses.map(addressInputToWire)];
    }
    const request: HttpRequest = { method: 'PUT', url: url('updateCustomer', { id: ipaasCustomerId }), body };
    const response = await send('update', request);
    if (response.status === 404) {
      // A GET just found it: NFND means it was deleted meanwhile; a bare 404 means the PUT route is wrong.
      if (parseIpaasErrors(response.body).some((error) => error.category === 'NFND')) return null;
      throw notFound(request, 'the update endpoint was not found (check IPAAS_PATHS updateCustomer)');
    }
    return customerFromWire(parse(customerWireSchema, response, request));
  }

  /** The address collection of a customer record (nested mode); null or missing is none. */
  function nestedAddresses(record: IpaasCustomerRecord, ipaasCustomerId: string): IpaasAddress[] {
    const request: HttpRequest = { method: 'GET', url: url('getCustomer', { id: ipaasCustomerId }) };
    const addresses = parse(nestedAddressesOf(collection), { status: 200, headers: new Headers(), body: record.wire }, request);
    return addresses.map((address) => addressFromWire(address, ipaasCustomerId));
  }

  return {
    listCustomersPage,

    findCustomersByEmail: (emailAddress) => search('searchByEmail', IPAAS_QUERY.emailAddress, emailAddress),

    findCustomersByNumber: (customerNumber) => search('searchByNumber', IPAAS_QUERY.customerNumber, customerNumber),

    async getCustomer(ipaasCustomerId) {
      return (await readCustomer(ipaasCustomerId))?.customer ?? null;
    },

    readCustomer,

    addressMode,

    async createCustomer(input: IpaasCustomerInput, addresses: readonly IpaasAddressInput[] = []) {
      const body = customerInputToWire(input);
      if (addressMode === 'nested') body[collection] = addresses.map(addressInputToWire);
      else if (addresses.length > 0) throw new Error('createCustomer: addresses travel with the customer only with IPAAS_ADDRESS_MODE=nested');
      const request: HttpRequest = { method: 'POST', url: url('createCustomer'), body };
      const response = await send('create', request);
      if (response.status === 404) throw notFound(request, 'the create endpoint was not found (check IPAAS_PATHS createCustomer)');
      return customerFromWire(parse(customerWireSchema, response, request));
    },

    updateCustomer,

    async listAddresses(ipaasCustomerId: string): Promise<IpaasAddress[]> {
      if (addressMode === 'nested') {
        const record = await readCustomer(ipaasCustomerId);
        if (!record) throw notFound({ method: 'GET', url: url('getCustomer', { id: ipaasCustomerId }) }, 'the customer does not exist');
        return nestedAddresses(record, ipaasCustomerId);
      }
      const result = await listAll('listAddresses', 'listAddresses', { id: ipaasCustomerId }, [], addressListWireSchema);
      if (!result.found) {
        const nfnd = parseIpaasErrors(result.body).some((error) => error.category === 'NFND');
        throw notFound(
          { method: 'GET', url: url('listAddresses', { id: ipaasCustomerId }) },
          nfnd ? 'the customer does not exist' : 'the endpoint was not found (check IPAAS_PATHS listAddresses)',
        );
      }
      return result.items.map((address) => addressFromWire(address, ipaasCustomerId));
    },

    async addAddress(ipaasCustomerId: string, input: IpaasAddressInput): Promise<IpaasAddress> {
      if (addressMode === 'nested') {
        // The customer as it is, its collection plus this address; the new address is the one the customer did not have.
        const record = await readCustomer(ipaasCustomerId);
        const updated = record ? await updateCustomer(ipaasCustomerId, unchangedInput(record), record, [input]) : null;
        if (!record || !updated) throw notFound({ method: 'PUT', url: url('updateCustomer', { id: ipaasCustomerId }) }, 'the customer does not exist');
        const before = new Set(nestedAddresses(record, ipaasCustomerId).map((address) => address.id));
        const after = await readCustomer(ipaasCustomerId);
        const added = after ? nestedAddresses(after, ipaasCustomerId).find((address) => !before.has(address.id)) : undefined;
        return added ?? { id: '', customerId: ipaasCustomerId, ...input };
      }
      const request: HttpRequest = {
        method: 'POST',
        url: url('addAddress', { id: ipaasCustomerId }),
        body: addressInputToWire(input),
      };
      const response = await send('addAddress', request);
      if (response.status === 404) {
        const nfnd = parseIpaasErrors(response.body).some((error) => error.category === 'NFND');
        throw notFound(request, nfnd ? 'the customer does not exist' : 'the endpoint was not found (check IPAAS_PATHS addAddress)');
      }
      return addressFromWire(parse(addressWireSchema, response, request), ipaasCustomerId);
    },

    async linkExternalId(link: ExternalIdLink): Promise<void> {
      const request: HttpRequest = {
        method: 'POST',
        url: url('updateExternalId'),
        body: externalIdToWire(link.systemId, IPAAS_EXTERNAL_ID_TABLE, link.internalId, link.externalId),
      };
      const response = await send('linkExternalId', request);
      // The reply body is not documented and not needed; only success matters.
      if (response.status === 404) {
        const nfnd = parseIpaasErrors(response.body).some((error) => error.category === 'NFND');
        throw notFound(request, nfnd ? 'the customer does not exist' : 'the endpoint was not found (check IPAAS_PATHS updateExternalId)');
      }
    },

    async listSubscriptions(): Promise<IpaasSubscription[]> {
      const result = await listAll('listSubscriptions', 'subscriptions', {}, [], subscriptionListWireSchema);
      if (!result.found) {
        if (parseIpaasErrors(result.body).some((error) => error.category === 'NFND')) return [];
        throw notFound({ method: 'GET', url: url('subscriptions') }, 'the subscriptions endpoint was not found (check IPAAS_PATHS subscriptions)');
      }
      return result.items;
    },
  };
}

/** The input that leaves a customer's own fields as they are (an update that only adds an address). */
function unchangedInput(record: IpaasCustomerRecord): IpaasCustomerInput {
  return { customerNumber: record.customer.customerNumber, firstName: record.customer.firstName, emailAddress: record.customer.emailAddress };
}

/** Refines HttpClient's status-based classification with the iPaaS.com error codes in the body. */
function reclassify(_operation: Operation, error: unknown, body: unknown): unknown {
  if (!(error instanceof SyncError) || error.status === undefined) return error;
  const errors = parseIpaasErrors(body);
  const remoteCodes = errors.map((item) => item.code).filter((code) => code !== '');
  // AUTH / AUTZ: the API key is refused (expired, revoked, missing a permission) for every customer alike.
  if (error.outage?.kind !== 'auth' && errors.some((item) => item.category === 'AUTH' || item.category === 'AUTZ')) {
    return new SyncError('IpaasUnavailable', error.message, { transient: true, status: error.status, cause: error, remoteCodes, outage: { service: 'ipaas', kind: 'auth' } });
  }
  // INTL means a server-side fault whatever the status says; let the queue try again later.
  if (!error.transient && errors.some((item) => item.category === 'INTL')) {
    return new SyncError('IpaasUnavailable', error.message, { transient: true, status: error.status, cause: error, remoteCodes, outage: { service: 'ipaas', kind: 'unavailable' } });
  }
  if (remoteCodes.length === 0) return error;
  return new SyncError(error.code, error.message, {
    transient: error.transient,
    status: error.status,
    cause: error,
    remoteCodes,
    ...(error.outage ? { outage: error.outage } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

function describeErrors(errors: IpaasWireError[], scrub: (text: string) => string): string | undefined {
  if (errors.length === 0) return undefined;
  const text = errors
    .map((error) => {
      const hint = error.category === 'AUTH' ? ' (check IPAAS_API_TOKEN)' : error.category === 'AUTZ' ? ' (check the API key role permissions)' : '';
      return `${[error.code, error.message].filter(Boolean).join(' ')}${hint}`;
    })
    .join('; ');
  const scrubbed = scrub(text);
  return scrubbed.length > MAX_DETAIL_LENGTH ? `${scrubbed.slice(0, MAX_DETAIL_LENGTH)}…` : scrubbed;
}

/** Path without the query string: queries hold emails. */
function pathOf(requestUrl: string): string {
  try {
    return new URL(requestUrl).pathname;
  } catch {
    return '(invalid url)';
  }
}
