import { randomUUID } from 'node:crypto';
import { badRequest, EMPTY_GUID, etag, GUID, type RowVersions } from './http';
import type { FieldKind, FilterableEntity } from './odataFilter';

/** The customers of one company, with the keys, numbering and row versions Business Central gives them. */

export type BcBlocked = ' ' | 'Ship' | 'Invoice' | 'All';

/**
 * Every property of the API v2.0 customers entity, as Business Central returns it. Like shared/businessCentral/types.ts
 * on purpose, kept apart on purpose: written from docs/external-apis.md, never from the client's schema.
 */
export interface FakeBcCustomer {
  '@odata.etag': string;
  id: string;
  number: string;
  displayName: string;
  type: 'Company' | 'Person';
  addressLine1: string;
  addressLine2: string;
  city: string;
  state: string;
  country: string;
  postalCode: string;
  phoneNumber: string;
  email: string;
  website: string;
  salespersonCode: string;
  balanceDue: number;
  creditLimit: number;
  taxLiable: boolean;
  taxAreaId: string;
  taxAreaDisplayName: string;
  taxRegistrationNumber: string;
  currencyId: string;
  currencyCode: string;
  paymentTermsId: string;
  shipmentMethodId: string;
  paymentMethodId: string;
  blocked: BcBlocked;
  lastModifiedDateTime: string;
}

export type FakeBcCustomerInput = Partial<Omit<FakeBcCustomer, '@odata.etag' | 'lastModifiedDateTime'>>;

type CustomerField = Exclude<keyof FakeBcCustomer, '@odata.etag'>;
type CustomerRow = Omit<FakeBcCustomer, '@odata.etag'>;

const CUSTOMER_FIELDS: Record<CustomerField, FieldKind> = {
  id: 'guid',
  number: 'string',
  displayName: 'string',
  type: 'string',
  addressLine1: 'string',
  addressLine2: 'string',
  city: 'string',
  state: 'string',
  country: 'string',
  postalCode: 'string',
  phoneNumber: 'string',
  email: 'string',
  website: 'string',
  salespersonCode: 'string',
  balanceDue: 'number',
  creditLimit: 'number',
  taxLiable: 'boolean',
  taxAreaId: 'guid',
  taxAreaDisplayName: 'string',
  taxRegistrationNumber: 'string',
  currencyId: 'guid',
  currencyCode: 'string',
  paymentTermsId: 'guid',
  shipmentMethodId: 'guid',
  paymentMethodId: 'guid',
  blocked: 'string',
  lastModifiedDateTime: 'datetime',
};

/** The customers entity as `$filter` and `$select` see it. */
export const CUSTOMER_ENTITY: FilterableEntity = {
  typeName: 'Microsoft.NAV.customer',
  tableName: 'Customer',
  fields: CUSTOMER_FIELDS,
  codeFieldLengths: { number: 20, country: 10, currencyCode: 10, postalCode: 20, salespersonCode: 20 },
};

interface StoredCustomer {
  entity: CustomerRow;
  rowVersion: number;
}

/** The Customer table's order (primary key "No.", then the SystemId), which paging follows. */
export type CustomerKey = [number: string, id: string];

export class CustomerStore {
  private readonly rows = new Map<string, StoredCustomer>();
  /** Upper-cased number → id: "No." is the Customer table's primary key. */
  private readonly numberIndex = new Map<string, string>();
  private nextNumber = 10_000;

  constructor(
    private readonly rowVersions: RowVersions,
    private readonly now: () => Date,
  ) {}

  /** Creates (random GUID id, next number) or updates a customer; every change stamps lastModifiedDateTime. */
  upsert(input: FakeBcCustomerInput): FakeBcCustomer {
    const id = input.id?.toLowerCase();
    if (id !== undefined && !GUID.test(id)) throw new Error(`FakeBusinessCentral: customer id must be a GUID, got '${id}'`);
    const existing = id === undefined ? undefined : this.rows.get(id);
    if (existing) return this.update(existing.entity.id, input);
    const number = input.number ?? this.allocateNumber();
    const entity: CustomerRow = {
      id: id ?? randomUUID(),
      number,
      displayName: '',
      type: 'Company',
      addressLine1: '',
      addressLine2: '',
      city: '',
      state: '',
      country: '',
      postalCode: '',
      phoneNumber: '',
      email: '',
      website: '',
      salespersonCode: '',
      balanceDue: 0,
      creditLimit: 0,
      taxLiable: false,
      taxAreaId: EMPTY_GUID,
      taxAreaDisplayName: '',
      taxRegistrationNumber: '',
      currencyId: EMPTY_GUID,
      currencyCode: '',
      paymentTermsId: EMPTY_GUID,
      shipmentMethodId: EMPTY_GUID,
      paymentMethodId: EMPTY_GUID,
      blocked: ' ',
      ...customerFields(input),
      lastModifiedDateTime: this.now().toISOString(),
    };
    entity.id = entity.id.toLowerCase();
    this.store(entity);
    return this.get(entity.id)!;
  }

  update(id: string, patch: FakeBcCustomerInput): FakeBcCustomer {
    const stored = this.rows.get(id.toLowerCase());
    if (!stored) throw new Error(`FakeBusinessCentral: no customer ${id}`);
    if (patch.id !== undefined && patch.id.toLowerCase() !== stored.entity.id) throw new Error('FakeBusinessCentral: id cannot change');
    const entity = { ...stored.entity, ...customerFields(patch), id: stored.entity.id, lastModifiedDateTime: this.now().toISOString() };
    this.store(entity);
    return this.get(entity.id)!;
  }

  delete(id: string): boolean {
    const stored = this.rows.get(id.toLowerCase());
    if (!stored) return false;
    this.numberIndex.delete(stored.entity.number.toUpperCase());
    return this.rows.delete(stored.entity.id);
  }

  get(id: string): FakeBcCustomer | undefined {
    const stored = this.rows.get(id.toLowerCase());
    return stored ? withEtag(stored) : undefined;
  }

  /** All customers in the table's order. */
  all(): FakeBcCustomer[] {
    return [...this.rows.values()].sort((a, b) => compareKeys(keyOf(a.entity), keyOf(b.entity))).map(withEtag);
  }

  private allocateNumber(): string {
    while (this.numberIndex.has(String(this.nextNumber))) this.nextNumber += 10;
    const number = String(this.nextNumber);
    this.nextNumber += 10;
    return number;
  }

  private store(entity: CustomerRow): void {
    if (!GUID.test(entity.id)) throw new Error('FakeBusinessCentral: customer id must be a GUID');
    if (entity.type !== 'Company' && entity.type !== 'Person') throw new Error(`FakeBusinessCentral: type must be Company or Person`);
    if (![' ', 'Ship', 'Invoice', 'All'].includes(entity.blocked)) throw new Error('FakeBusinessCentral: blocked must be " ", Ship, Invoice or All');
    if (entity.number.length === 0 || entity.number.length > 20) throw new Error('FakeBusinessCentral: number must have 1 to 20 characters');
    const key = entity.number.toUpperCase();
    const owner = this.numberIndex.get(key);
    if (owner !== undefined && owner !== entity.id) throw new Error(`FakeBusinessCentral: customer number ${entity.number} already exists`);
    const previous = this.rows.get(entity.id);
    if (previous) this.numberIndex.delete(previous.entity.number.toUpperCase());
    this.numberIndex.set(key, entity.id);
    this.rows.set(entity.id, { entity, rowVersion: this.rowVersions.next() });
  }
}

export function keyOf(entity: { number: string; id: string }): CustomerKey {
  return [entity.number.toUpperCase(), entity.id];
}

export function compareKeys(a: CustomerKey, b: CustomerKey): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/** An opaque continuation key, as Business Central's `$skiptoken` is. */
export function encodeSkipToken(key: CustomerKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeSkipToken(token: string): CustomerKey {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === 2 && key.every((part) => typeof part === 'string')) return key as CustomerKey;
  } catch {
    // fall through to the error below
  }
  throw badRequest('The skip token is not valid.');
}

function withEtag(stored: StoredCustomer): FakeBcCustomer {
  return { '@odata.etag': etag(stored.entity.id, stored.rowVersion), ...stored.entity };
}

/** The given properties without undefined ones; unknown or read-only properties are a mistake in the caller. */
function customerFields(input: FakeBcCustomerInput): FakeBcCustomerInput {
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(CUSTOMER_FIELDS, key) || key === 'lastModifiedDateTime') throw new Error(`FakeBusinessCentral: '${key}' is not a writable customer property`);
  }
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as FakeBcCustomerInput;
}
