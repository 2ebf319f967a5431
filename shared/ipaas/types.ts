/** iPaaS.com customer in our domain names (the wire uses snake_case; the client converts at the boundary). */
export interface IpaasCustomer {
  id: string;
  customerNumber: string;
  firstName: string;
  lastName: string;
  emailAddress: string;
  company: string;
}

export interface IpaasCustomerInput {
  customerNumber: string;
  firstName: string;
  emailAddress: string;
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

export interface IpaasApi {
  findCustomersByEmail(emailAddress: string): Promise<IpaasCustomer[]>;
  findCustomersByNumber(customerNumber: string): Promise<IpaasCustomer[]>;
  /** null on 404. */
  getCustomer(ipaasCustomerId: string): Promise<IpaasCustomer | null>;
  /** A BIZL duplicate-number rejection surfaces as SyncError code DuplicateCustomerNumber (final). */
  createCustomer(input: IpaasCustomerInput): Promise<IpaasCustomer>;
  /** null when the customer no longer exists (404). Duplicate number → DuplicateCustomerNumber. */
  updateCustomer(ipaasCustomerId: string, input: IpaasCustomerInput): Promise<IpaasCustomer | null>;
  listAddresses(ipaasCustomerId: string): Promise<IpaasAddress[]>;
  addAddress(ipaasCustomerId: string, input: IpaasAddressInput): Promise<IpaasAddress>;
  /** Records the Business Central customer id as the iPaaS.com customer's external id. */
  linkExternalId(ipaasCustomerId: string, externalId: string): Promise<void>;
}
