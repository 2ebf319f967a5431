import { z } from 'zod';
import { GUID_PATTERN, normalizeGuid } from '../guid';

/**
 * Text the code reads: a string; null (or absent, e.g. left out by `$select`) means "". Anything else is refused:
 * the sync would write it to iPaaS.com.
 */
const text = (fallback = '') => z.string().nullish().transform((value) => value ?? fallback);

/**
 * The API v2.0 customers entity: the properties the sync reads (docs/external-apis.md), nothing else. Every other
 * property, of any type, passes untouched: a reply is never refused for a field the code does not use.
 * test/wire/replySchemas.test.ts holds every reply schema to this.
 */
export const bcCustomerSchema = z.looseObject({
  id: z.string().regex(GUID_PATTERN, 'id must be a GUID').transform(normalizeGuid),
  number: text(),
  displayName: text(),
  type: text(),
  email: text(),
  addressLine1: text(),
  addressLine2: text(),
  city: text(),
  state: text(),
  country: text(),
  postalCode: text(),
  phoneNumber: text(),
  blocked: text(' '),
  lastModifiedDateTime: text(),
});
export type BcCustomer = z.infer<typeof bcCustomerSchema>;

/** The customers entity properties the client reads (the poll's reply, every customer read): `$metadata` must have them. */
export const BC_CUSTOMER_PROPERTIES_READ: readonly string[] = Object.keys(bcCustomerSchema.shape);

/**
 * A webhook subscription: what renewing, recreating and the doctor read. `@odata.etag` is the If-Match of a
 * renewal; `clientState` is not returned by every version (then "" and a renewal leaves it as it is).
 */
export const bcSubscriptionSchema = z.looseObject({
  '@odata.etag': z.string(),
  subscriptionId: z.string().min(1),
  notificationUrl: z.string(),
  resource: z.string(),
  clientState: text(),
  expirationDateTime: z.string(),
});
export type BcSubscription = z.infer<typeof bcSubscriptionSchema>;

export interface ListCustomersOptions {
  /** Only customers with lastModifiedDateTime greater than this ISO time. */
  modifiedSince?: string;
  /** A collection URL from a `collection` notification (relative to the API root or absolute); its $filter is kept. */
  collectionResource?: string;
  /** Prefer: odata.maxpagesize. */
  pageSize?: number;
  /** $select: only these entity properties (`id` is always added). Unset: every property. */
  select?: readonly string[];
}

/** One page of customers and where the next one is (an opaque continuation; undefined on the last page). */
export interface CustomerPage {
  customers: BcCustomer[];
  nextLink: string | undefined;
}

export interface BusinessCentralApi {
  /** null when Business Central answers 404 (deleted or never existed). */
  getCustomer(customerId: string): Promise<BcCustomer | null>;
  /** Exact match on `number`; null when none. */
  findCustomerByNumber(customerNumber: string): Promise<BcCustomer | null>;
  /** Pages of customers, following @odata.nextLink until it is absent. */
  listCustomers(options?: ListCustomersOptions): AsyncIterable<BcCustomer[]>;
  /**
   * Every page with its @odata.nextLink, so a long pass can record where it is and, with `resumeFrom` (a
   * nextLink it recorded), go on from there later instead of starting over. The link must point at this
   * company's customers on the API's own origin (it carries our token).
   */
  listCustomerPages(options?: ListCustomersOptions & { resumeFrom?: string }): AsyncIterable<CustomerPage>;
  /**
   * One page: the first of the list `options` describe when `nextLink` is undefined, else the page a previous
   * page's nextLink names (a checkpoint to resume paging from; it must point at this company's customers).
   */
  readCustomerPage(options: ListCustomersOptions, nextLink?: string): Promise<CustomerPage>;
  listSubscriptions(): Promise<BcSubscription[]>;
  createSubscription(input: { notificationUrl: string; resource: string; clientState: string }): Promise<BcSubscription>;
  /** PATCH with If-Match; the fresh subscription (new expiry and ETag). A stale ETag surfaces as a final SyncError with status 409/412. */
  renewSubscription(subscription: BcSubscription): Promise<BcSubscription>;
  deleteSubscription(subscription: BcSubscription): Promise<void>;
  /** The `resource` value of our customers subscription: /api/v2.0/companies({companyId})/customers */
  readonly customersResource: string;
}
