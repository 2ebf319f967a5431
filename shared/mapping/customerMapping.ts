import { createHash } from 'node:crypto';
import type { BcCustomer } from '../businessCentral/types';
import type { ErrorCode } from '../errors';
import type { IpaasAddressInput, IpaasCustomerInput } from '../ipaas/types';
import { isValidEmail } from './email';
import {
  ADDRESS_SOURCES,
  CUSTOMER_SOURCES,
  cleanText,
  defaultCustomerMapping,
  expressionFailure,
  expressionReads,
  resultText,
  runExpression,
  type CompiledAddressEntry,
  type CompiledCustomerEntry,
  type AddressSource,
  type CompiledExpression,
  type CustomerDestination,
  type CustomerMapping,
  type CustomerSource,
} from './mappingFile';

/** A Business Central customer in the Customer-table names the mapping file's expressions use. */
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

/**
 * API v2.0 entity → the seed-shaped record (docs/external-apis.md, "The customers entity"): Business Central's
 * Customer-table names, values trimmed and in NFC.
 */
export function normalizeCustomer(entity: BcCustomer): SeedCustomer {
  const address: SeedAddress = {
    SourceTypeName: 'Customer',
    Address: cleanText(entity.addressLine1),
    'Address 2': cleanText(entity.addressLine2),
    City: cleanText(entity.city),
    County: cleanText(entity.state),
    CountryRegionCode: cleanText(entity.country),
    PostCode: cleanText(entity.postalCode),
    PhoneNo: cleanText(entity.phoneNumber),
  };
  const empty = Object.entries(address).every(([key, value]) => key === 'SourceTypeName' || value === '');
  return {
    Id: entity.id,
    No: cleanText(entity.number),
    Name: cleanText(entity.displayName),
    Type: cleanText(entity.type),
    RecordType: 'Customer',
    EMail: cleanText(entity.email),
    Blocked: entity.blocked,
    LastModifiedDateTime: entity.lastModifiedDateTime,
    Addresses: [{ ...address, SourceTypeName: empty ? 'ParentOnly' : 'Customer' }],
  };
}

/**
 * The API v2.0 properties behind each seed-shaped field, exactly as normalizeCustomer fills them
 * (test/mapping/customerMapping.test.ts holds the two together). `RecordType` is no property: every record read
 * from the customers entity is a Customer. `SourceTypeName` is decided from all of the address's properties.
 */
const ADDRESS_PROPERTIES = ['addressLine1', 'addressLine2', 'city', 'state', 'country', 'postalCode', 'phoneNumber'] as const;
export const SEED_FIELD_PROPERTIES: Readonly<Record<CustomerSource | AddressSource, readonly string[]>> = {
  Id: ['id'],
  No: ['number'],
  Name: ['displayName'],
  Type: ['type'],
  RecordType: [],
  EMail: ['email'],
  Blocked: ['blocked'],
  LastModifiedDateTime: ['lastModifiedDateTime'],
  Address: ['addressLine1'],
  'Address 2': ['addressLine2'],
  City: ['city'],
  County: ['state'],
  CountryRegionCode: ['country'],
  PostCode: ['postalCode'],
  PhoneNo: ['phoneNumber'],
  SourceTypeName: ADDRESS_PROPERTIES,
};

const SEED_FIELDS = new Set<string>([...CUSTOMER_SOURCES, ...ADDRESS_SOURCES]);

/** The seed-shaped fields an expression reads (every field name in it that is one; `$customer.EMail` counts). */
function fieldsRead(expression: CompiledExpression): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const { type, value } = node as { type?: unknown; value?: unknown };
    if (type === 'name' && typeof value === 'string' && SEED_FIELDS.has(value)) found.add(value);
    for (const child of Object.values(node)) if (typeof child === 'object') walk(child);
  };
  walk(expression.expression.ast());
  return [...found];
}

export interface MappingEntrySources {
  /** Where it is in the file: `filter`, `fields[2]`, `addresses.fields[6]`, ... */
  entry: string;
  /** The seed-shaped fields it reads. */
  sources: string[];
  /** The API v2.0 properties those are made of. */
  properties: string[];
}

/** Every entry of the mapping (filters included) with the Business Central properties it reads. */
export function mappingSources(mapping: CustomerMapping): MappingEntrySources[] {
  const entries: Array<{ entry: string; sources: string[] }> = [{ entry: 'filter', sources: fieldsRead(mapping.filter) }];
  const ofEntry = (entry: CompiledCustomerEntry | CompiledAddressEntry): string[] =>
    entry.type === 'Field' ? [entry.source] : entry.type === 'Formula' ? fieldsRead(entry.formula) : [];
  for (const field of mapping.fields) entries.push({ entry: field.entry, sources: ofEntry(field) });
  if (mapping.addresses) {
    entries.push({ entry: 'addresses.filter', sources: fieldsRead(mapping.addresses.filter) });
    for (const field of mapping.addresses.fields) entries.push({ entry: field.entry, sources: ofEntry(field) });
  }
  return entries.map(({ entry, sources }) => ({
    entry,
    sources,
    properties: [...new Set(sources.flatMap((source) => SEED_FIELD_PROPERTIES[source as CustomerSource | AddressSource] ?? []))],
  }));
}

/** The entity properties normalizeCustomer reads for the customer record itself (`Id`, `No`, `Name`, `Type`, `EMail`, `Blocked`, `LastModifiedDateTime`). */
export const CUSTOMER_ENTITY_PROPERTIES = ['id', 'number', 'displayName', 'type', 'email', 'blocked', 'lastModifiedDateTime'] as const;
/** The entity properties behind the seed record's `Addresses`. */
export const ADDRESS_ENTITY_PROPERTIES = ADDRESS_PROPERTIES;

/**
 * The Business Central entity properties ($select) needed to evaluate the mapping's filter and customer fields:
 * the customer's own properties always, the address properties too when an expression reads `Addresses` (or may
 * read anything: `$`, a wildcard). The address collection itself is not included: see `applyCustomerMapping`'s
 * `addresses` option.
 */
export function customerFieldsRead(mapping: CustomerMapping = defaultCustomerMapping()): string[] {
  const addressNames = new Set<string>(['Addresses', ...ADDRESS_SOURCES]);
  const expressions = [mapping.filter, ...mapping.fields.flatMap((entry) => (entry.type === 'Formula' ? [entry.formula] : []))];
  const readsAddresses = expressions.some((expression) => {
    const reads = expressionReads(expression);
    return reads.anything || [...reads.names].some((name) => addressNames.has(name));
  });
  return [...CUSTOMER_ENTITY_PROPERTIES, ...(readsAddresses ? ADDRESS_ENTITY_PROPERTIES : [])];
}

export interface ValidationProblem {
  code: ErrorCode;
  message: string;
}

/** The error of an empty required destination; the seed's codes for its three required fields. */
const MISSING_CODES: Record<CustomerDestination, ErrorCode> = {
  CustomerNumber: 'MissingCustomerNumber',
  FirstName: 'MissingName',
  EmailAddress: 'MissingEmail',
  LastName: 'MissingRequiredField',
  Company: 'MissingRequiredField',
  Comment: 'MissingRequiredField',
};

/** A formula or filter that failed for one record: a final failure of that customer (MappingFailed). */
class MappingFailure extends Error {}

/** JSONata messages quote the values they choke on, which may be personal data: keep the words, drop the values. */
function withoutValues(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/gu, '"…"');
}

function evaluate(compiled: CompiledExpression, input: unknown, bindings?: Record<string, unknown>): unknown {
  try {
    return runExpression(compiled, input, bindings);
  } catch (error) {
    const failure = expressionFailure(error);
    const position = failure.position === undefined ? '' : ` at position ${failure.position}`;
    throw new MappingFailure(`${compiled.entry} failed for this customer: JSONata ${failure.code}${position}: ${withoutValues(failure.message)}`);
  }
}

function passes(compiled: CompiledExpression, input: unknown, bindings?: Record<string, unknown>): boolean {
  const result = evaluate(compiled, input, bindings);
  if (result === undefined || result === false) return false;
  if (result === true) return true;
  throw new MappingFailure(`${compiled.entry} gave something other than true or false for this customer`);
}

function valueOf<R extends object>(entry: CompiledCustomerEntry | CompiledAddressEntry, record: R, bindings?: Record<string, unknown>): string {
  if (entry.type === 'Static') return entry.value;
  if (entry.type === 'Field') {
    const value = (record as Record<string, unknown>)[entry.source];
    return typeof value === 'string' ? value : '';
  }
  const result = resultText(evaluate(entry.formula, record, bindings));
  if (!result.ok) throw new MappingFailure(`${entry.formula.entry} ${result.problem} for this customer`);
  return result.text;
}

function missingMessage(entry: CompiledCustomerEntry): string {
  if (entry.type === 'Field') return `${entry.source} is empty; ${entry.destination} is required by iPaaS.com`;
  return `${entry.entry} (${entry.type}) gave no value; ${entry.destination} is required by iPaaS.com`;
}

interface CustomerEvaluation {
  values: Partial<Record<keyof IpaasCustomerInput, string>>;
  problems: ValidationProblem[];
}

/** The customer entries in file order; required ones that are empty are problems, in that order, then the email format. */
function evaluateCustomer(customer: SeedCustomer, mapping: CustomerMapping): CustomerEvaluation {
  const values: CustomerEvaluation['values'] = {};
  const problems: ValidationProblem[] = [];
  for (const entry of mapping.fields) {
    const value = valueOf(entry, customer);
    values[entry.key] = value;
    if (entry.required && value === '') problems.push({ code: MISSING_CODES[entry.destination], message: missingMessage(entry) });
  }
  const email = values.emailAddress ?? '';
  if (email !== '' && !isValidEmail(email)) {
    const source = mapping.fields.find((entry) => entry.destination === 'EmailAddress');
    const from = source?.type === 'Field' ? source.source : 'EmailAddress';
    problems.push({ code: 'InvalidEmail', message: `${from} is not a valid email address (expected the form user@example.com)` });
  }
  return { values, problems };
}

/** The mapping's validation rules for one customer, in the file's order; an empty list means valid. */
export function validateCustomer(customer: SeedCustomer, mapping: CustomerMapping = defaultCustomerMapping()): ValidationProblem[] {
  return evaluateCustomer(customer, mapping).problems;
}

/** The iPaaS.com customer fields the mapping writes (destinations it does not map are left out). Throws when a formula fails. */
export function mapCustomer(customer: SeedCustomer, mapping: CustomerMapping = defaultCustomerMapping()): IpaasCustomerInput {
  return evaluateCustomer(customer, mapping).values as IpaasCustomerInput;
}

const EMPTY_ADDRESS: Omit<IpaasAddressInput, 'isPrimaryBilling' | 'isPrimaryShipping'> = {
  address1: '',
  address2: '',
  city: '',
  region: '',
  country: '',
  postalCode: '',
  phoneNumber: '',
};

/**
 * The address child collection: filtered, then mapped entry by entry (an address destination the mapping does
 * not map is sent empty); the customer's own address is primary. Throws when a filter or formula fails.
 */
export function mapAddresses(customer: SeedCustomer, mapping: CustomerMapping = defaultCustomerMapping()): IpaasAddressInput[] {
  const collection = mapping.addresses;
  if (!collection) return [];
  const bindings = { customer };
  return customer.Addresses.filter((address) => passes(collection.filter, address, bindings)).map((address) => {
    const mapped = { ...EMPTY_ADDRESS };
    for (const entry of collection.fields) mapped[entry.key] = valueOf(entry, address, bindings);
    return { ...mapped, isPrimaryBilling: true, isPrimaryShipping: true };
  });
}

/** PreventDuplicate: two addresses are the same when every mapped field matches (trimmed, case-insensitive). */
export function sameAddress(a: IpaasAddressInput, b: IpaasAddressInput, mapping: CustomerMapping = defaultCustomerMapping()): boolean {
  const keys = mapping.addresses?.fields.map((entry) => entry.key) ?? [];
  return keys.every((key) => cleanText(a[key]).toLowerCase() === cleanText(b[key]).toLowerCase());
}

/** Addresses to add: those not already present (when PreventDuplicate is on), without repeats among themselves. */
export function addressesToAdd(
  wanted: readonly IpaasAddressInput[],
  existing: readonly IpaasAddressInput[],
  mapping: CustomerMapping = defaultCustomerMapping(),
): IpaasAddressInput[] {
  if (!mapping.addresses?.preventDuplicate) return [...wanted];
  const result: IpaasAddressInput[] = [];
  for (const address of wanted) {
    const same = (other: IpaasAddressInput): boolean => sameAddress(address, other, mapping);
    if (existing.some(same) || result.some(same)) continue;
    result.push(address);
  }
  return result;
}

/**
 * Stable hash of what would be sent and of the mapping that decided it; equal to the last successful sync's
 * hash means nothing changed. A changed mapping file changes every hash, so the next sync writes the new values.
 */
export function payloadHash(customer: IpaasCustomerInput, addresses: readonly IpaasAddressInput[], mappingFingerprint = ''): string {
  const canonical = JSON.stringify([
    Object.entries(customer).sort(([a], [b]) => a.localeCompare(b)),
    addresses.map((address) => Object.entries(address).sort(([a], [b]) => a.localeCompare(b))),
    mappingFingerprint,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type MappingOutcome =
  | { kind: 'filtered'; customer: SeedCustomer; reason: string }
  /** Validation failed (MissingEmail, InvalidEmail, ...) or a formula failed (MappingFailed): final, nothing is written. */
  | { kind: 'invalid'; customer: SeedCustomer; problems: ValidationProblem[] }
  | { kind: 'mapped'; customer: SeedCustomer; ipaasCustomer: IpaasCustomerInput; addresses: IpaasAddressInput[]; hash: string };

/**
 * Normalize, filter, validate and map one Business Central customer: the whole mapping collection, no I/O.
 * This is "what would the mapping write to iPaaS.com for this customer" (the customer fields and the addresses
 * before PreventDuplicate), for the sync, the dry run and the reconciliation alike. Never throws for one
 * customer's data: a failing formula is a `MappingFailed` problem. `addresses: false` leaves the address collection
 * out (the reconciliation, which compares customer fields only and reads no address properties it does not need).
 */
export function applyCustomerMapping(
  entity: BcCustomer,
  mapping: CustomerMapping = defaultCustomerMapping(),
  options: { addresses?: boolean } = {},
): MappingOutcome {
  const customer = normalizeCustomer(entity);
  try {
    if (!passes(mapping.filter, customer)) {
      return { kind: 'filtered', customer, reason: `Mapping filter ${mapping.filter.text} is false (Type is "${customer.Type}")` };
    }
    const { values, problems } = evaluateCustomer(customer, mapping);
    if (problems.length > 0) return { kind: 'invalid', customer, problems };
    const ipaasCustomer = values as IpaasCustomerInput;
    const addresses = options.addresses === false ? [] : mapAddresses(customer, mapping);
    return { kind: 'mapped', customer, ipaasCustomer, addresses, hash: payloadHash(ipaasCustomer, addresses, mapping.fingerprint) };
  } catch (error) {
    if (!(error instanceof MappingFailure)) throw error;
    return { kind: 'invalid', customer, problems: [{ code: 'MappingFailed', message: `Mapping collection "${mapping.name}": ${error.message}` }] };
  }
}
