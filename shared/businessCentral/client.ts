import type { Config } from '../config';
import { SyncError } from '../errors';
import { GUID_PATTERN, isGuid, normalizeGuid } from '../guid';
import type { HttpRequest, HttpResponse } from '../http/httpClient';
import { BusinessCentralConnection, type BusinessCentralClientOptions } from './connection';
import { errorCodeOf, final, parseReply, unexpected404 } from './errors';
import { formatQuery, maxPageSizePreference, odataDateTime, odataString } from './odata';
import { checkedPageSize, checkedSliceSize, CustomerPaging, normalizeResourcePath, parseCustomerPage } from './paging';
import { BusinessCentralSubscriptions } from './subscriptions';
import {
  bcCustomerSchema,
  type BcCustomer,
  type BcSubscription,
  type BusinessCentralApi,
  type CustomerPage,
  type ListCustomersOptions,
} from './types';

export type { BusinessCentralClientOptions } from './connection';

/** Customer."No." is Code[20]: a longer value can match no customer, and Business Central rejects it in a filter. */
const MAX_CUSTOMER_NUMBER_LENGTH = 20;
/** An entity property name as $select takes it. */
const SELECTABLE = /^[A-Za-z][A-Za-z0-9_]*$/u;

/**
 * Business Central API v2.0 for one company: customers (by id, by number, changed since) and the
 * environment's webhook subscriptions. One instance per process: its limiter caps requests in flight
 * at `http.bcMaxConcurrent` (Business Central processes 5 per principal at once and queues the rest); with
 * `options.budget` (BC_SHARED_BUDGET) each request also takes a slot shared by every instance.
 * The parts: the token (credentials.ts), the connection with its cap and budget (connection.ts, budget.ts),
 * paging and nextLink checks (paging.ts), subscriptions (subscriptions.ts), error classification (errors.ts).
 */
export function createBusinessCentralClient(
  config: Config['businessCentral'],
  http: Config['http'],
  options: BusinessCentralClientOptions = {},
): BusinessCentralApi {
  return new BusinessCentralClient(new BusinessCentralConnection(config, http, options), config.companyId);
}

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

class BusinessCentralClient implements BusinessCentralApi {
  readonly customersResource: string;
  private readonly environmentRoot: string;
  private readonly apiRoot: string;
  private readonly customersUrl: string;
  private readonly apiOrigin: string;
  private readonly paging: CustomerPaging;
  private readonly subscriptions: BusinessCentralSubscriptions;

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
    const send = (request: HttpRequest) => this.send(request);
    this.paging = new CustomerPaging(send, this.customersUrl, this.apiOrigin);
    this.subscriptions = new BusinessCentralSubscriptions(send, this.apiRoot);
  }

  // ------------------------------------------------------------------ customers

  async getCustomer(customerId: string): Promise<BcCustomer | null> {
    const id = normalizeGuid(customerId);
    if (!isGuid(id)) throw final('Business Central customer id must be a GUID; nothing was requested');
    const response = await this.send({ method: 'GET', url: `${this.customersUrl}(${id})` });
    if (response.status === 404) {
      // "Resource not found for the segment" means a wrong URL (company, environment), not a deleted customer.
      if (errorCodeOf(response.body) === 'BadRequest_ResourceNotFound') throw unexpected404('GET', `${this.customersUrl}(${id})`, response);
      return null;
    }
    const customer = parseReply(bcCustomerSchema, response.body, 'GET customers(id) returned a customer that');
    if (customer.id !== id) throw final(`Business Central GET customers(${id}) returned a different customer (${customer.id})`);
    return customer;
  }

  async findCustomerByNumber(customerNumber: string): Promise<BcCustomer | null> {
    if (!isWellFormedText(customerNumber)) throw final('Business Central customer number is not valid text; nothing was requested');
    if (customerNumber.length === 0 || customerNumber.length > MAX_CUSTOMER_NUMBER_LENGTH) return null;
    const url = `${this.customersUrl}${formatQuery([['$filter', `number eq ${odataString(customerNumber)}`]])}`;
    const response = await this.send({ method: 'GET', url, headers: { Prefer: maxPageSizePreference(2) } });
    if (response.status === 404) throw unexpected404('GET', url, response);
    const customers = parseCustomerPage(response.body).customers;
    // Guards against a server that ignored the filter: only an exact (case-insensitive, as SQL compares) match counts.
    const wanted = customerNumber.toUpperCase();
    return customers.find((customer) => customer.number.toUpperCase() === wanted) ?? null;
  }

  listCustomers(options: ListCustomersOptions = {}): AsyncIterable<BcCustomer[]> {
    // Validate eagerly so a bad argument fails at the call, not at the first iteration.
    const firstUrl = this.firstListUrl(options);
    const pageSize = checkedPageSize(options.pageSize);
    return this.customerArrays(this.paging.pages(firstUrl, pageSize, pageSize));
  }

  listCustomerPages(options: ListCustomersOptions & { resumeFrom?: string; sliceSize?: number } = {}): AsyncIterable<CustomerPage> {
    const pageSize = checkedPageSize(options.pageSize);
    const sliceSize = checkedSliceSize(options.sliceSize);
    const firstUrl = options.resumeFrom !== undefined ? this.paging.checkNextLink(options.resumeFrom, this.customersUrl) : this.firstListUrl(options);
    return this.paging.pages(firstUrl, pageSize, sliceSize);
  }

  readCustomerPage(options: ListCustomersOptions & { sliceSize?: number }, nextLink?: string): AsyncIterable<CustomerPage> {
    const firstUrl = this.firstListUrl(options);
    const pageSize = checkedPageSize(options.pageSize);
    const sliceSize = checkedSliceSize(options.sliceSize);
    const url = nextLink === undefined ? firstUrl : this.paging.checkNextLink(nextLink, firstUrl);
    return this.paging.pageParts(url, pageSize, sliceSize, {
      handOverBeforeRefusal: false,
      refuse: (next) => {
        if (next === url) throw final('Business Central returned a nextLink that repeats the page just read; stopped paging');
      },
    });
  }

  private async *customerArrays(pages: AsyncIterable<CustomerPage>): AsyncGenerator<BcCustomer[]> {
    for await (const page of pages) if (page.customers.length > 0) yield page.customers;
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

  // ------------------------------------------------------------------ subscriptions

  listSubscriptions(): Promise<BcSubscription[]> {
    return this.subscriptions.list();
  }

  createSubscription(input: { notificationUrl: string; resource: string; clientState: string }): Promise<BcSubscription> {
    return this.subscriptions.create(input);
  }

  renewSubscription(subscription: BcSubscription): Promise<BcSubscription> {
    return this.subscriptions.renew(subscription);
  }

  deleteSubscription(subscription: BcSubscription): Promise<void> {
    return this.subscriptions.delete(subscription);
  }

  // ------------------------------------------------------------------ plumbing

  private send(request: HttpRequest): Promise<HttpResponse> {
    return this.connection.send(request);
  }
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
