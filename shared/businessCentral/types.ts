import { z } from 'zod';
import { GUID_PATTERN, normalizeGuid } from '../guid';

/** The API v2.0 customers entity, the fields we use. Empty strings, not nulls, mean "no value". */
export const bcCustomerSchema = z.looseObject({
  '@odata.etag': z.string().optional(),
  id: z.string().regex(GUID_PATTERN, 'id must be a GUID').transform(normalizeGuid),
  number: z.string().default(''),
  displayName: z.string().default(''),
  type: z.string().default(''),
  email: z.string().default(''),
  addressLine1: z.string().default(''),
  addressLine2: z.string().default(''),
  city: z.string().default(''),
  state: z.string().default(''),
  country: z.string().default(''),
  postalCode: z.string().default(''),
  phoneNumber: z.string().default(''),
  blocked: z.string().default(' '),
  lastModifiedDateTime: z.string().default(''),
});
export type BcCustomer = z.infer<typeof bcCustomerSchema>;

export const bcSubscriptionSchema = z.looseObject({
  '@odata.etag': z.string(),
  subscriptionId: z.string().min(1),
  notificationUrl: z.string(),
  resource: z.string(),
  clientState: z.string().default(''),
  expirationDateTime: z.string(),
  lastModifiedDateTime: z.string().optional(),
  userId: z.string().optional(),
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
