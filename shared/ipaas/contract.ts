import type { IpaasAddressMode, IpaasPathName } from './paths';
import { DEFAULT_IPAAS_PATHS, IPAAS_PATH_METHODS, IPAAS_PATH_NAMES, IPAAS_PATH_PLACEHOLDERS, IPAAS_QUERY } from './paths';
import type { IpaasCustomerInput } from './types';
import {
  ADDRESS_READ_FIELDS,
  ADDRESS_WIRE_FIELDS,
  CUSTOMER_READ_FIELDS,
  CUSTOMER_WIRE_FIELDS,
  EXTERNAL_ID_WRITE_FIELDS,
  SUBSCRIPTION_READ_FIELDS,
} from './wire';

/**
 * What the client does with each iPaaS.com path name: the method it sends, the body fields it writes, the reply
 * fields it reads and the reply's form, the query it adds. The doctor holds a tenant's API description against it
 * (shared/doctor/ipaasDescription.ts). Derived from the wire module, so it changes with the code that sends.
 */
export interface IpaasPathContract {
  name: IpaasPathName;
  method: 'GET' | 'POST' | 'PUT';
  placeholders: readonly string[];
  /** Body fields always written (the mapping decides the optional customer fields). */
  writes: readonly string[];
  /** Reply fields read. */
  reads: readonly string[];
  /** The reply the client parses: a list, one object, or nothing it reads. */
  reply: 'list' | 'object' | 'none';
  /** Query parameters sent. */
  query: readonly string[];
  /** Words of the path that say what it is for, to recognise the documented alternative. */
  words: RegExp;
  /** Which service (the first path segment) it belongs to by default. */
  service: string;
}

export interface ContractOptions {
  /** The customer fields the mapping writes (its destinations as IpaasCustomerInput keys). */
  customerFields: ReadonlyArray<keyof IpaasCustomerInput>;
  addressMode: IpaasAddressMode;
  /** Whether the mapping sends addresses at all (default true). */
  sendsAddresses?: boolean;
}

/** Path names the client does not use: the address paths with nested addresses (they travel with the customer) or none. */
export function unusedPathNames(addressMode: IpaasAddressMode, sendsAddresses = true): IpaasPathName[] {
  return addressMode === 'nested' || !sendsAddresses ? ['listAddresses', 'addAddress'] : [];
}

/** The contract of every path name the client uses in this configuration. */
export function ipaasPathContracts(options: ContractOptions): IpaasPathContract[] {
  const customerWrites = [...new Set(['customerNumber', 'firstName', 'emailAddress', ...options.customerFields] as const)].map((key) => CUSTOMER_WIRE_FIELDS[key]);
  const addressWrites = Object.values(ADDRESS_WIRE_FIELDS);
  const search = [IPAAS_QUERY.action, IPAAS_QUERY.emailAddress, IPAAS_QUERY.customerNumber];
  const specific: Record<IpaasPathName, Pick<IpaasPathContract, 'writes' | 'reads' | 'reply' | 'query' | 'words'>> = {
    searchCustomers: { writes: [], reads: CUSTOMER_READ_FIELDS, reply: 'list', query: search, words: /\/customers$/iu },
    listCustomers: { writes: [], reads: CUSTOMER_READ_FIELDS, reply: 'list', query: [IPAAS_QUERY.pageNumber], words: /\/customers$/iu },
    getCustomer: { writes: [], reads: CUSTOMER_READ_FIELDS, reply: 'object', query: [], words: /\/customer\/\{[^}]+\}$/iu },
    createCustomer: { writes: customerWrites, reads: CUSTOMER_READ_FIELDS, reply: 'object', query: [], words: /\/customer$/iu },
    updateCustomer: { writes: customerWrites, reads: CUSTOMER_READ_FIELDS, reply: 'object', query: [], words: /\/customer\/\{[^}]+\}$/iu },
    listAddresses: { writes: [], reads: ADDRESS_READ_FIELDS, reply: 'list', query: [], words: /address/iu },
    addAddress: { writes: addressWrites, reads: ADDRESS_READ_FIELDS, reply: 'object', query: [], words: /address/iu },
    updateExternalId: { writes: EXTERNAL_ID_WRITE_FIELDS, reads: [], reply: 'none', query: [], words: /externalid/iu },
    subscriptions: { writes: [], reads: SUBSCRIPTION_READ_FIELDS, reply: 'list', query: [], words: /subscriptions?$/iu },
  };
  const unused = unusedPathNames(options.addressMode, options.sendsAddresses);
  return IPAAS_PATH_NAMES.filter((name) => !unused.includes(name)).map((name) => ({
    name,
    method: IPAAS_PATH_METHODS[name],
    placeholders: IPAAS_PATH_PLACEHOLDERS[name],
    service: DEFAULT_IPAAS_PATHS[name].split('/')[1] ?? '',
    ...specific[name],
  }));
}
