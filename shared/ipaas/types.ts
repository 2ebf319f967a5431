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

export interface IpaasApi {
  findCustomersByEmail(emailAddress: string): Promise<IpaasCustomer[]>;
  findCustomersByNumber(customerNumber: string): Promise<IpaasCustomer[]>;
  /** null on 404. */
  getCustomer(ipaasCustomerId: string): Promise<IpaasCustomer | null>;
  /** As getCustomer, keeping the whole record for a following updateCustomer; null on 404. */
  readCustomer(ipaasCustomerId: string): Promise<IpaasCustomerRecord | null>;
  /** A BIZL duplicate-number rejection surfaces as SyncError code DuplicateCustomerNumber (final). */
  createCustomer(input: IpaasCustomerInput): Promise<IpaasCustomer>;
  /**
   * Sends the current record with our fields over it. `current` is a record readCustomer just returned for this
   * id; without it the record is read first (one more request). null when the customer no longer exists (404).
   * Duplicate number → DuplicateCustomerNumber.
   */
  updateCustomer(ipaasCustomerId: string, input: IpaasCustomerInput, current?: IpaasCustomerRecord): Promise<IpaasCustomer | null>;
  listAddresses(ipaasCustomerId: string): Promise<IpaasAddress[]>;
  addAddress(ipaasCustomerId: string, input: IpaasAddressInput): Promise<IpaasAddress>;
  /** Records the Business Central customer id as the iPaaS.com customer's external id. */
  linkExternalId(ipaasCustomerId: string, externalId: string): Promise<void>;
}
