import type { IpaasAddressMode } from './paths';

/** iPaaS.com customer in our domain names (the wire uses snake_case; the client converts at the boundary). */
export interface IpaasCustomer {
  id: string;
  customerNumber: string;
  firstName: string;
  lastName: string;
  emailAddress: string;
  company: string;
  comment: string;
}

/** What the mapping writes: the three fields every mapping maps, and the others only when the mapping maps them. */
export interface IpaasCustomerInput {
  customerNumber: string;
  firstName: string;
  emailAddress: string;
  lastName?: string;
  company?: string;
  comment?: string;
}

export interface IpaasAddress {
  id: string;
  customerId: string;
  address1: string;
  address2: string;
  city: string;
  region: string;
  country: string;
  postalCode: string;
  phoneNumber: string;
  isPrimaryBilling: boolean;
  isPrimaryShipping: boolean;
}

export type IpaasAddressInput = Omit<IpaasAddress, 'id' | 'customerId'>;

/**
 * A customer as one GET returned it: our view plus the whole wire record (snake_case, including fields this
 * sync does not own), which an update sends back so a replacing PUT keeps those fields.
 */
export interface IpaasCustomerRecord {
  customer: IpaasCustomer;
  wire: Readonly<Record<string, unknown>>;
}

/** One page of the customer list, as `X-Pagination` describes it. */
export interface IpaasCustomerPage {
  customers: IpaasCustomer[];
  pageNumber: number;
  /** total_Pages of this reply; 0 when there are no customers at all. */
  totalPages: number;
}

/** One UpdateExternalId call: the iPaaS.com record `internalId` is known in system `systemId` as `externalId`. */
export interface ExternalIdLink {
  /** iPaaS.com subscription id of the external system (an integer > 0). */
  systemId: number;
  internalId: string;
  externalId: string;
}

/** One entry of GET /subscriptions/v2/Subscriptions: the two fields read (the others, `type` included, are not). */
export interface IpaasSubscription {
  id: string;
  name: string;
}

export interface IpaasApi {
  /**
   * Page `pageNumber` (from 1) of every customer. A page past the last answers an empty page. Reading all of them
   * is `totalPages` requests; there is no per-customer request.
   */
  listCustomersPage(pageNumber: number): Promise<IpaasCustomerPage>;
  findCustomersByEmail(emailAddress: string): Promise<IpaasCustomer[]>;
  findCustomersByNumber(customerNumber: string): Promise<IpaasCustomer[]>;
  /** null on 404. */
  getCustomer(ipaasCustomerId: string): Promise<IpaasCustomer | null>;
  /** As getCustomer, keeping the whole record for a following updateCustomer; null on 404. */
  readCustomer(ipaasCustomerId: string): Promise<IpaasCustomerRecord | null>;
  /** IPAAS_ADDRESS_MODE: `separate` (addAddress per address) or `nested` (addresses inside the create/update body). */
  readonly addressMode: IpaasAddressMode;
  /**
   * A rejection (VALD, BIZL, ...) is SyncError IpaasRejected with the service's codes in `remoteCodes`.
   * `addresses` (nested mode only): the new customer's address collection, sent in the same body.
   */
  createCustomer(input: IpaasCustomerInput, addresses?: readonly IpaasAddressInput[]): Promise<IpaasCustomer>;
  /**
   * Sends the current record with our fields over it. `current` is a record readCustomer just returned for this
   * id; without it the record is read first (one more request). null when the customer no longer exists (404).
   * A rejection is SyncError IpaasRejected with the service's codes in `remoteCodes`. `addresses` (nested mode
   * only): addresses to add, sent after every address the record holds, as the collection the customer should have.
   */
  updateCustomer(ipaasCustomerId: string, input: IpaasCustomerInput, current?: IpaasCustomerRecord, addresses?: readonly IpaasAddressInput[]): Promise<IpaasCustomer | null>;
  /** The customer's addresses: `listAddresses` (separate), or the collection of its record (nested). */
  listAddresses(ipaasCustomerId: string): Promise<IpaasAddress[]>;
  /** One more address: `addAddress` (separate), or an update carrying the collection plus this one (nested). */
  addAddress(ipaasCustomerId: string, input: IpaasAddressInput): Promise<IpaasAddress>;
  /** UpdateExternalId: records the Business Central side id of an iPaaS.com customer (table_name `customer`). */
  linkExternalId(link: ExternalIdLink): Promise<void>;
  /** The tenant's subscriptions (systems), for checking IPAAS_SYSTEM_ID. */
  listSubscriptions(): Promise<IpaasSubscription[]>;
}
