import { createHash } from 'node:crypto';
import type { BcCustomer } from '../businessCentral/types';
import type { ErrorCode } from '../errors';
import type { IpaasAddressInput, IpaasCustomerInput } from '../ipaas/types';
import { isValidEmail } from './email';

/** A Business Central customer in the Customer-table names the seed's mapping uses. */
export interface SeedCustomer {
  Id: string;
  No: string;
  Name: string;
  Type: string;
  RecordType: 'Customer';
  EMail: string;
  Blocked: string;
  LastModifiedDateTime: string;
  Addresses: SeedAddress[];
}

export interface SeedAddress {
  /** "ParentOnly" when every address field is empty: the address lives only on the parent record. */
  SourceTypeName: 'Customer' | 'ParentOnly';
  Address: string;
  'Address 2': string;
  City: string;
  County: string;
  CountryRegionCode: string;
  PostCode: string;
  PhoneNo: string;
}

type FieldRule<Source, Destination extends string> = {
  source: Source;
  /** iPaaS.com's mapping name; the client's field is the same name in lower camel case. */
  destination: Destination;
  description: string;
};

type CustomerField = FieldRule<'No' | 'Name' | 'EMail', 'CustomerNumber' | 'FirstName' | 'EmailAddress'> & {
  /** Error when the value is empty (the seed marks these fields Required). */
  missing: ErrorCode;
};
type AddressField = FieldRule<Exclude<keyof SeedAddress, 'SourceTypeName'>, Capitalize<keyof AddressFieldsOf<IpaasAddressInput> & string>>;
type AddressFieldsOf<T> = { [K in keyof T as T[K] extends string ? K : never]: T[K] };

/**
 * The seed's mapping collection "Dynamics Add/Update Customer TO iPaaS" as data.
 * Adding a mapped field is one line in `fields` (and the field in the iPaaS.com types).
 */
export const customerMapping = {
  name: 'Dynamics Add/Update Customer TO iPaaS',
  filter: {
    expression: 'Type == "Person" && RecordType == "Customer"',
    test: (customer: SeedCustomer): boolean => customer.Type === 'Person' && customer.RecordType === 'Customer',
  },
  fields: [
    { source: 'No', destination: 'CustomerNumber', missing: 'MissingCustomerNumber', description: 'Maps Dynamics 365 customer number.' },
    { source: 'Name', destination: 'FirstName', missing: 'MissingName', description: 'Maps customer name to FirstName.' },
    { source: 'EMail', destination: 'EmailAddress', missing: 'MissingEmail', description: 'Maps customer email address.' },
  ] satisfies CustomerField[],
  addresses: {
    name: 'Dynamics Add Customer Address TO iPaaS',
    filter: {
      expression: 'SourceTypeName != "ParentOnly"',
      test: (address: SeedAddress): boolean => address.SourceTypeName !== 'ParentOnly',
    },
    /** Static mapping: an address equal to one the iPaaS.com customer already has is not added again. */
    preventDuplicate: true,
    fields: [
      { source: 'Address', destination: 'Address1', description: 'Maps primary street address.' },
      { source: 'Address 2', destination: 'Address2', description: 'Maps the second address line.' },
      { source: 'City', destination: 'City', description: 'Maps city.' },
      { source: 'County', destination: 'Region', description: 'Maps county/region.' },
      { source: 'CountryRegionCode', destination: 'Country', description: 'Maps country code.' },
      { source: 'PostCode', destination: 'PostalCode', description: 'Maps postal code.' },
      { source: 'PhoneNo', destination: 'PhoneNumber', description: 'Maps phone number.' },
    ] satisfies AddressField[],
  },
} as const;

const lowerFirst = <T extends string>(name: T): Uncapitalize<T> => (name.charAt(0).toLowerCase() + name.slice(1)) as Uncapitalize<T>;
/** Trimmed and in Unicode NFC, so the same text typed two ways compares, hashes and searches as one. */
const clean = (value: string | undefined): string => (value ?? '').normalize('NFC').trim();

/** API v2.0 entity → the seed-shaped record (docs/external-apis.md, "The customers entity"). */
export function normalizeCustomer(entity: BcCustomer): SeedCustomer {
  const address: SeedAddress = {
    SourceTypeName: 'Customer',
    Address: clean(entity.addressLine1),
    'Address 2': clean(entity.addressLine2),
    City: clean(entity.city),
    County: clean(entity.state),
    CountryRegionCode: clean(entity.country),
    PostCode: clean(entity.postalCode),
    PhoneNo: clean(entity.phoneNumber),
  };
  const empty = Object.entries(address).every(([key, value]) => key === 'SourceTypeName' || value === '');
  return {
    Id: entity.id,
    No: clean(entity.number),
    Name: clean(entity.displayName),
    Type: clean(entity.type),
    RecordType: 'Customer',
    EMail: clean(entity.email),
    Blocked: entity.blocked,
    LastModifiedDateTime: entity.lastModifiedDateTime,
    Addresses: [{ ...address, SourceTypeName: empty ? 'ParentOnly' : 'Customer' }],
  };
}

export interface ValidationProblem {
  code: ErrorCode;
  message: string;
}

/** The seed's validation rules, in the seed's checklist order; an empty list means valid. */
export function validateCustomer(customer: SeedCustomer): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const field of customerMapping.fields) {
    if (customer[field.source] === '') {
      problems.push({ code: field.missing, message: `${field.source} is empty; ${field.destination} is required by iPaaS.com` });
    }
  }
  if (customer.EMail !== '' && !isValidEmail(customer.EMail)) {
    problems.push({ code: 'InvalidEmail', message: 'EMail is not a valid email address (expected the form user@example.com)' });
  }
  return problems;
}

export function mapCustomer(customer: SeedCustomer): IpaasCustomerInput {
  const mapped: Partial<Record<keyof IpaasCustomerInput, string>> = {};
  for (const field of customerMapping.fields) mapped[lowerFirst(field.destination)] = customer[field.source];
  return mapped as IpaasCustomerInput;
}

/** Child collection: filtered by SourceTypeName, mapped field by field; the customer's own address is primary. */
export function mapAddresses(customer: SeedCustomer): IpaasAddressInput[] {
  return customer.Addresses.filter(customerMapping.addresses.filter.test).map((address) => {
    const mapped: Partial<Record<string, string>> = {};
    for (const field of customerMapping.addresses.fields) mapped[lowerFirst(field.destination)] = address[field.source];
    return { ...(mapped as Omit<IpaasAddressInput, 'isPrimaryBilling' | 'isPrimaryShipping'>), isPrimaryBilling: true, isPrimaryShipping: true };
  });
}

/** PreventDuplicate: two addresses are the same when every mapped field matches (trimmed, case-insensitive). */
export function sameAddress(a: IpaasAddressInput, b: IpaasAddressInput): boolean {
  return customerMapping.addresses.fields.every((field) => {
    const key = lowerFirst(field.destination);
    return clean(a[key]).toLowerCase() === clean(b[key]).toLowerCase();
  });
}

/** Addresses to add: those not already present (when PreventDuplicate is on), without repeats among themselves. */
export function addressesToAdd(wanted: readonly IpaasAddressInput[], existing: readonly IpaasAddressInput[]): IpaasAddressInput[] {
  if (!customerMapping.addresses.preventDuplicate) return [...wanted];
  const result: IpaasAddressInput[] = [];
  for (const address of wanted) {
    if (existing.some((other) => sameAddress(address, other)) || result.some((other) => sameAddress(address, other))) continue;
    result.push(address);
  }
  return result;
}

/** Stable hash of what would be sent; equal to the last successful sync's hash means nothing changed. */
export function payloadHash(customer: IpaasCustomerInput, addresses: readonly IpaasAddressInput[]): string {
  const canonical = JSON.stringify([
    Object.entries(customer).sort(([a], [b]) => a.localeCompare(b)),
    addresses.map((address) => Object.entries(address).sort(([a], [b]) => a.localeCompare(b))),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type MappingOutcome =
  | { kind: 'filtered'; customer: SeedCustomer; reason: string }
  | { kind: 'invalid'; customer: SeedCustomer; problems: ValidationProblem[] }
  | { kind: 'mapped'; customer: SeedCustomer; ipaasCustomer: IpaasCustomerInput; addresses: IpaasAddressInput[]; hash: string };

/** Normalize, filter, validate and map one Business Central customer: the whole mapping collection, no I/O. */
export function applyCustomerMapping(entity: BcCustomer): MappingOutcome {
  const customer = normalizeCustomer(entity);
  if (!customerMapping.filter.test(customer)) {
    return {
      kind: 'filtered',
      customer,
      reason: `Mapping filter ${customerMapping.filter.expression} is false (Type is "${customer.Type}")`,
    };
  }
  const problems = validateCustomer(customer);
  if (problems.length > 0) return { kind: 'invalid', customer, problems };
  const ipaasCustomer = mapCustomer(customer);
  const addresses = mapAddresses(customer);
  return { kind: 'mapped', customer, ipaasCustomer, addresses, hash: payloadHash(ipaasCustomer, addresses) };
}
