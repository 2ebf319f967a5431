import { z } from 'zod';
import type { IpaasAddress, IpaasAddressInput, IpaasCustomer } from '../../../shared/ipaas/types';
import { duplicateNumber, IpaasRefusal, issuesOf, notFound } from './errors';

/**
 * The iPaaS.com fake's records: customers, addresses, external ids and the tenant's subscriptions, with the
 * checks the service makes on what it stores (docs/external-apis.md): snake_case bodies with required fields and
 * no unknown ones (422 VALD), unique customer_number (409 BIZL), integer system ids that exist among the tenant's
 * subscriptions. It does not enforce unique emails, as iPaaS.com's API does not. No HTTP here: a refusal is an
 * `IpaasRefusal` (status, code, message) that the routes answer.
 */

/**
 * A subscription (a connected system) of the tenant; its id is what UpdateExternalId calls system_id. As iPaaS.com's
 * model `SubscriptionGetAllResponse` has it: `id` and `type` are int64 (the type is a number, not a name).
 */
export interface FakeIpaasSubscription {
  id: number;
  type: number;
  name: string;
  description?: string;
  value?: string;
  attached_items_count?: number;
  image_url?: string | null;
}

/** The subscriptions a fresh fake has: the tenant's Business Central connection and one other system. */
export const FAKE_IPAAS_SUBSCRIPTIONS: readonly FakeIpaasSubscription[] = [
  { id: 1207, type: 41, name: 'Business Central', description: 'Microsoft Dynamics 365 Business Central', value: '', attached_items_count: 3, image_url: null },
  { id: 1311, type: 17, name: 'Web shop', description: 'Shopify', value: '', attached_items_count: 1, image_url: null },
];

export interface FakeIpaasCustomer extends IpaasCustomer {
  comment: string;
  createdDatetime: string;
  updatedDatetime: string;
}

export type FakeIpaasCustomerSeed = Partial<Omit<FakeIpaasCustomer, 'id' | 'createdDatetime' | 'updatedDatetime'>>;

export interface FakeIpaasExternalId {
  tableName: string;
  systemId: number;
  externalId: string;
  /** The iPaaS.com record id the external id belongs to. */
  internalId: string;
}

/*
 * The service's own records, in the wire's snake_case. They look like shared/ipaas/wire.ts on purpose and are kept
 * apart on purpose: this is what the API notes say iPaaS.com stores and answers, written independently of what the
 * client expects, so a client that reads or sends a wrong field fails against this fake (test/fakes/independence.test.ts
 * keeps the fake from importing the client's wire code).
 */
export interface StoredCustomer {
  id: number;
  customer_number: string;
  first_name: string;
  last_name: string;
  email_address: string;
  company: string;
  comment: string;
  custom_fields: unknown[];
  created_datetime: string;
  updated_datetime: string;
}

export interface StoredAddress {
  id: number;
  customer_id: number;
  address_1: string;
  address_2: string;
  city: string;
  region: string;
  country: string;
  postal_code: string;
  phone_number: string;
  is_primary_billing: boolean;
  is_primary_shipping: boolean;
}

interface StoredExternalId {
  table_name: string;
  system_id: number;
  external_id: string;
  internal_id: number;
}

/** External id tables of the customers area, lower case as the service names them. */
const EXTERNAL_ID_TABLES = ['customer', 'address'] as const;
const FIRST_CUSTOMER_ID = 4501;
const FIRST_ADDRESS_ID = 981;

// ---- Body schemas (strict: the real API's model binding rejects what it does not know) ---------------------

const optionalText = z.string().nullish();
const required = (field: string) => z.string({ error: `${field} is required` }).trim().min(1, `${field} is required`);
const customerFields = {
  customer_number: required('customer_number'),
  email_address: required('email_address'),
  first_name: optionalText,
  last_name: optionalText,
  company: optionalText,
  comment: optionalText,
  // Accepted for round-trips; external ids themselves change only through UpdateExternalId.
  external_ids: z.array(z.unknown()).nullish(),
  custom_fields: z.array(z.unknown()).nullish(),
};
const addressFields = {
  customer_id: z.union([z.number().int(), z.string().regex(/^\d+$/u)]).nullish(),
  address_1: optionalText,
  address_2: optionalText,
  city: optionalText,
  region: optionalText,
  country: optionalText,
  postal_code: optionalText,
  phone_number: optionalText,
  is_primary_billing: z.boolean().nullish(),
  is_primary_shipping: z.boolean().nullish(),
};
const addressSchema = z.strictObject(addressFields);
/** An address inside a customer body (nested addresses): an existing one carries its id. */
const nestedAddressSchema = z.strictObject({ ...addressFields, id: z.union([z.number().int(), z.string().regex(/^\d+$/u)]).nullish() });
/** Customer bodies; with nested addresses the collection `addresses` is part of the model, otherwise an unknown field. */
function customerSchemas(nestedAddresses: boolean) {
  const fields = nestedAddresses ? { ...customerFields, addresses: z.array(nestedAddressSchema).nullish() } : customerFields;
  return {
    create: z.strictObject(fields),
    update: z.strictObject({
      ...fields,
      // Read-only fields a client may send back unchanged; ignored.
      id: z.union([z.number(), z.string()]).nullish(),
      created_datetime: z.string().nullish(),
      updated_datetime: z.string().nullish(),
    }),
  };
}
// Ids travel as strings (iPaaS.com's own models); system_id is an int64. Anything else is a model-binding error.
const digits = (field: string) => z.string({ error: `${field} must be a string` }).regex(/^\d+$/u, `${field} must be a record id`);
const externalIdSchema = z.strictObject({
  table_name: required('table_name'),
  system_id: z.unknown(),
  external_id: required('external_id'),
  internal_id: digits('internal_id').transform(Number),
});

// A loose check like the service's: something@something.tld, no spaces.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/** SQL Server's default collation compares case-insensitively; the service's lookups behave the same. */
export function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/u, 'Z');
}

export class IpaasStore {
  private customerRows = new Map<number, StoredCustomer>();
  /** customer_number (lower case) → row id, so creates stay fast with 100,000 customers (the service keeps numbers unique). */
  private numberIndex = new Map<string, number>();
  /** The rows in id order, for listing; rebuilt after a customer is added or removed. */
  private sortedCache: StoredCustomer[] | undefined;
  private addressRows = new Map<number, StoredAddress>();
  private externalIdRows: StoredExternalId[] = [];
  private subscriptionRows: FakeIpaasSubscription[];
  private nextCustomerId = FIRST_CUSTOMER_ID;
  private nextAddressId = FIRST_ADDRESS_ID;

  private readonly schemas: ReturnType<typeof customerSchemas>;

  /**
   * `nestedAddresses`: the tenant keeps addresses as a collection of the customer (`addresses` in its bodies and
   * replies) instead of address endpoints. A create takes the collection; a PUT replaces it (an address sent
   * with its id is kept and updated, one without an id is added, one left out is removed), as a .NET PUT binding
   * replaces every writable field.
   */
  constructor(
    private readonly clock: () => Date,
    private readonly initialSubscriptions: readonly FakeIpaasSubscription[],
    private readonly nestedAddresses = false,
  ) {
    this.subscriptionRows = initialSubscriptions.map((row) => ({ ...row }));
    this.schemas = customerSchemas(nestedAddresses);
  }

  // ---- Direct state access (tests, sandbox, bench) ------------------------------------------------------------

  customers(): FakeIpaasCustomer[] {
    return [...this.customerRows.values()].sort((a, b) => a.id - b.id).map(toFakeCustomer);
  }

  customer(id: string): FakeIpaasCustomer | undefined {
    const row = this.customerRows.get(Number(id));
    return row && toFakeCustomer(row);
  }

  addresses(customerId: string): IpaasAddress[] {
    return this.addressRowsOf(Number(customerId)).map(toAddress);
  }

  seedCustomer(seed: FakeIpaasCustomerSeed): FakeIpaasCustomer {
    const customerNumber = seed.customerNumber ?? '';
    if (customerNumber !== '' && this.findByNumber(customerNumber)) {
      throw new Error(`FakeIpaas.seedCustomer: customer_number ${customerNumber} exists already (iPaaS.com keeps it unique)`);
    }
    const now = timestamp(this.clock());
    const row: StoredCustomer = {
      id: this.nextCustomerId++,
      customer_number: customerNumber,
      first_name: seed.firstName ?? '',
      last_name: seed.lastName ?? '',
      email_address: seed.emailAddress ?? '',
      company: seed.company ?? '',
      comment: seed.comment ?? '',
      custom_fields: [],
      created_datetime: now,
      updated_datetime: now,
    };
    this.insertRow(row);
    return toFakeCustomer(row);
  }

  seedAddress(customerId: string, seed: Partial<IpaasAddressInput>): IpaasAddress {
    const customer = this.customerRows.get(Number(customerId));
    if (!customer) throw new Error(`FakeIpaas.seedAddress: no customer ${customerId}`);
    const row = this.newAddressRow(customer.id, {
      address_1: seed.address1,
      address_2: seed.address2,
      city: seed.city,
      region: seed.region,
      country: seed.country,
      postal_code: seed.postalCode,
      phone_number: seed.phoneNumber,
      is_primary_billing: seed.isPrimaryBilling,
      is_primary_shipping: seed.isPrimaryShipping,
    });
    this.addressRows.set(row.id, row);
    return toAddress(row);
  }

  editCustomer(id: string, patch: Partial<Pick<FakeIpaasCustomer, 'firstName' | 'lastName' | 'emailAddress' | 'company' | 'comment'>>): FakeIpaasCustomer {
    const row = this.customerRows.get(Number(id));
    if (!row) throw new Error(`FakeIpaas.editCustomer: no customer ${id}`);
    if (patch.firstName !== undefined) row.first_name = patch.firstName;
    if (patch.lastName !== undefined) row.last_name = patch.lastName;
    if (patch.emailAddress !== undefined) row.email_address = patch.emailAddress;
    if (patch.company !== undefined) row.company = patch.company;
    if (patch.comment !== undefined) row.comment = patch.comment;
    row.updated_datetime = timestamp(this.clock());
    return toFakeCustomer(row);
  }

  deleteCustomer(id: string): boolean {
    const numeric = Number(id);
    const existing = this.customerRows.get(numeric);
    if (!existing) return false;
    this.removeRow(existing);
    for (const address of this.addressRowsOf(numeric)) this.addressRows.delete(address.id);
    this.externalIdRows = this.externalIdRows.filter((row) => row.internal_id !== numeric);
    return true;
  }

  subscriptions(): FakeIpaasSubscription[] {
    return this.subscriptionRows.map((row) => ({ ...row }));
  }

  setSubscriptions(rows: readonly FakeIpaasSubscription[]): void {
    this.subscriptionRows = rows.map((row) => ({ ...row }));
  }

  externalIds(): FakeIpaasExternalId[] {
    return this.externalIdRows.map((row) => ({
      tableName: row.table_name,
      systemId: row.system_id,
      externalId: row.external_id,
      internalId: String(row.internal_id),
    }));
  }

  /** Empties every store and restores the initial subscriptions; ids start over. */
  reset(): void {
    this.customerRows.clear();
    this.numberIndex.clear();
    this.sortedCache = undefined;
    this.addressRows.clear();
    this.externalIdRows = [];
    this.subscriptionRows = this.initialSubscriptions.map((row) => ({ ...row }));
    this.nextCustomerId = FIRST_CUSTOMER_ID;
    this.nextAddressId = FIRST_ADDRESS_ID;
  }

  // ---- What the API does to the records (bodies as received; refusals thrown as IpaasRefusal) ----------------

  /** The customers whose email and/or number equal the given ones (case-insensitively), or all, in id order, as the wire shows them. */
  searchCustomers(email: string | null, number: string | null): Array<Record<string, unknown>> {
    const rows =
      email === null && number === null
        ? this.sortedRows()
        : this.sortedRows().filter((row) => (email === null || sameText(row.email_address, email)) && (number === null || sameText(row.customer_number, number)));
    return rows.map((row) => this.customerWire(row));
  }

  /** The customer with this path id; 404 NFND when the id is not a record id or not known. */
  requireCustomer(id: string): StoredCustomer {
    const row = /^\d+$/u.test(id) ? this.customerRows.get(Number(id)) : undefined;
    if (!row) throw notFound('Customer', id);
    return row;
  }

  createCustomer(body: unknown): Record<string, unknown> {
    const parsed = this.schemas.create.safeParse(body);
    if (!parsed.success) throw new IpaasRefusal(422, 'VALD-1002', `The customer is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (!EMAIL_SHAPE.test(input.email_address)) throw new IpaasRefusal(422, 'VALD-1004', 'email_address is not a valid email address');
    if (this.findByNumber(input.customer_number)) throw duplicateNumber(input.customer_number);
    const now = timestamp(this.clock());
    const row: StoredCustomer = {
      id: this.nextCustomerId++,
      customer_number: input.customer_number,
      first_name: input.first_name ?? '',
      last_name: input.last_name ?? '',
      email_address: input.email_address,
      company: input.company ?? '',
      comment: input.comment ?? '',
      custom_fields: input.custom_fields ?? [],
      created_datetime: now,
      updated_datetime: now,
    };
    const nested = 'addresses' in input ? this.checkedNestedAddresses(undefined, input.addresses) : [];
    this.insertRow(row);
    for (const address of nested) this.storeNestedAddress(row.id, address);
    return this.customerWire(row);
  }

  /** PUT replaces the writable fields (absent optional ones become empty), as a .NET PUT binding does. */
  updateCustomer(row: StoredCustomer, body: unknown): Record<string, unknown> {
    const parsed = this.schemas.update.safeParse(body);
    if (!parsed.success) throw new IpaasRefusal(422, 'VALD-1002', `The customer is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (input.id !== undefined && input.id !== null && String(input.id) !== String(row.id)) {
      throw new IpaasRefusal(422, 'VALD-1006', 'id in the body does not match the id in the path');
    }
    if (!EMAIL_SHAPE.test(input.email_address)) throw new IpaasRefusal(422, 'VALD-1004', 'email_address is not a valid email address');
    const owner = this.findByNumber(input.customer_number);
    if (owner && owner.id !== row.id) throw duplicateNumber(input.customer_number);
    const nested = this.nestedAddresses ? this.checkedNestedAddresses(row.id, 'addresses' in input ? input.addresses : undefined) : undefined;
    if (nested) {
      // The collection sent is the collection kept: addresses left out are removed.
      const kept = new Set(nested.map((address) => address.id).filter((id): id is number => id !== undefined));
      for (const address of this.addressRowsOf(row.id)) if (!kept.has(address.id)) this.addressRows.delete(address.id);
      for (const address of nested) this.storeNestedAddress(row.id, address);
    }
    this.numberIndex.delete(row.customer_number.toLowerCase());
    this.numberIndex.set(input.customer_number.toLowerCase(), row.id);
    Object.assign(row, {
      customer_number: input.customer_number,
      first_name: input.first_name ?? '',
      last_name: input.last_name ?? '',
      email_address: input.email_address,
      company: input.company ?? '',
      comment: input.comment ?? '',
      custom_fields: input.custom_fields ?? [],
      updated_datetime: timestamp(this.clock()),
    });
    return this.customerWire(row);
  }

  /** A stored address from wire-named fields (missing text is empty, missing flags false), with the next id. */
  private newAddressRow(customerId: number, fields: { [K in Exclude<keyof StoredAddress, 'id' | 'customer_id'>]?: StoredAddress[K] | null }, id?: number): StoredAddress {
    return {
      id: id ?? this.nextAddressId++,
      customer_id: customerId,
      address_1: fields.address_1 ?? '',
      address_2: fields.address_2 ?? '',
      city: fields.city ?? '',
      region: fields.region ?? '',
      country: fields.country ?? '',
      postal_code: fields.postal_code ?? '',
      phone_number: fields.phone_number ?? '',
      is_primary_billing: fields.is_primary_billing ?? false,
      is_primary_shipping: fields.is_primary_shipping ?? false,
    };
  }

  /** A nested collection checked whole before anything is stored: ids must be this customer's, every address non-empty. */
  private checkedNestedAddresses(customerId: number | undefined, items: ReadonlyArray<z.output<typeof nestedAddressSchema>> | null | undefined): Array<z.output<typeof nestedAddressSchema> & { id?: number }> {
    return (items ?? []).map((item) => {
      const id = item.id === undefined || item.id === null ? undefined : Number(item.id);
      if (id !== undefined && (customerId === undefined || this.addressRows.get(id)?.customer_id !== customerId)) {
        throw new IpaasRefusal(422, 'VALD-1006', `address ${id} does not belong to this customer`);
      }
      if (![item.address_1, item.address_2, item.city, item.postal_code, item.country].some((value) => (value ?? '').trim() !== '')) {
        throw new IpaasRefusal(422, 'VALD-1007', 'An address needs at least one of address_1, address_2, city, postal_code, country');
      }
      return { ...item, id };
    });
  }

  private storeNestedAddress(customerId: number, address: z.output<typeof nestedAddressSchema> & { id?: number }): void {
    // An address sent with its id is updated in place; one without gets the next id.
    const { id, ...fields } = address;
    const row = this.newAddressRow(customerId, fields, id);
    this.addressRows.set(row.id, row);
  }

  addressRowsOf(customerId: number): StoredAddress[] {
    return [...this.addressRows.values()].filter((row) => row.customer_id === customerId).sort((a, b) => a.id - b.id);
  }

  addAddress(customer: StoredCustomer, body: unknown): StoredAddress {
    const parsed = addressSchema.safeParse(body);
    if (!parsed.success) throw new IpaasRefusal(422, 'VALD-1002', `The address is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    if (input.customer_id !== undefined && input.customer_id !== null && Number(input.customer_id) !== customer.id) {
      throw new IpaasRefusal(422, 'VALD-1006', 'customer_id in the body does not match the customer in the path');
    }
    const row = this.newAddressRow(customer.id, input);
    if (![row.address_1, row.address_2, row.city, row.postal_code, row.country].some((value) => value.trim() !== '')) {
      throw new IpaasRefusal(422, 'VALD-1007', 'An address needs at least one of address_1, address_2, city, postal_code, country');
    }
    this.addressRows.set(row.id, row);
    return row;
  }

  /** UpdateExternalId: links (or relinks) an external id to a record of one of the tenant's subscriptions. */
  linkExternalId(body: unknown): { table_name: string; system_id: number; external_id: string; internal_id: string } {
    const parsed = externalIdSchema.safeParse(body);
    if (!parsed.success) throw new IpaasRefusal(422, 'VALD-1002', `The external id is not valid: ${issuesOf(parsed.error)}`);
    const input = parsed.data;
    const systemId = input.system_id;
    if (typeof systemId !== 'number' || !Number.isSafeInteger(systemId) || systemId <= 0) {
      throw new IpaasRefusal(422, 'VALD-1023', 'Invalid System Id: system_id must be the numeric id of one of your subscriptions');
    }
    if (!this.subscriptionRows.some((row) => row.id === systemId)) {
      throw new IpaasRefusal(422, 'VALD-1017', `Invalid System Id: ${systemId} is not one of your subscriptions`);
    }
    const tableName = EXTERNAL_ID_TABLES.find((table) => table === input.table_name.toLowerCase());
    if (!tableName) throw new IpaasRefusal(422, 'VALD-1008', `Unknown table_name ${input.table_name}`);
    if (tableName === 'customer' && !this.customerRows.has(input.internal_id)) {
      throw new IpaasRefusal(404, 'NFND-1005', `Customer ${input.internal_id} was not found`);
    }
    const taken = this.externalIdRows.find(
      (row) => row.table_name === tableName && row.system_id === systemId && row.external_id === input.external_id && row.internal_id !== input.internal_id,
    );
    if (taken) throw new IpaasRefusal(409, 'BIZL-1003', 'This external id is already linked to another record');
    const existing = this.externalIdRows.find((row) => row.table_name === tableName && row.system_id === systemId && row.internal_id === input.internal_id);
    if (existing) existing.external_id = input.external_id;
    else this.externalIdRows.push({ table_name: tableName, system_id: systemId, external_id: input.external_id, internal_id: input.internal_id });
    return { table_name: tableName, system_id: systemId, external_id: input.external_id, internal_id: String(input.internal_id) };
  }

  /** The external id linked to an iPaaS.com record for a system and table, if any. */
  externalIdOf(internalId: string | undefined, systemId: string | undefined, tableName: string | undefined): string | undefined {
    const row = this.externalIdRows.find(
      (link) => String(link.internal_id) === internalId && String(link.system_id) === systemId && link.table_name === tableName?.toLowerCase(),
    );
    return row?.external_id;
  }

  /** The iPaaS.com record id an external id of a system and table is linked to, if any. */
  internalIdOf(systemId: string | undefined, tableName: string | undefined, externalId: string | undefined): string | undefined {
    const row = this.externalIdRows.find(
      (link) => link.external_id === externalId && String(link.system_id) === systemId && link.table_name === tableName?.toLowerCase(),
    );
    return row ? String(row.internal_id) : undefined;
  }

  // ---- Internals ------------------------------------------------------------------------------------------------

  private findByNumber(customerNumber: string): StoredCustomer | undefined {
    const id = this.numberIndex.get(customerNumber.toLowerCase());
    const row = id === undefined ? undefined : this.customerRows.get(id);
    return row && sameText(row.customer_number, customerNumber) ? row : undefined;
  }

  private insertRow(row: StoredCustomer): void {
    this.customerRows.set(row.id, row);
    if (row.customer_number !== '') this.numberIndex.set(row.customer_number.toLowerCase(), row.id);
    this.sortedCache = undefined;
  }

  private removeRow(row: StoredCustomer): void {
    this.customerRows.delete(row.id);
    if (this.numberIndex.get(row.customer_number.toLowerCase()) === row.id) this.numberIndex.delete(row.customer_number.toLowerCase());
    this.sortedCache = undefined;
  }

  private sortedRows(): StoredCustomer[] {
    this.sortedCache ??= [...this.customerRows.values()].sort((a, b) => a.id - b.id);
    return this.sortedCache;
  }

  /** A customer as the API answers it, with its customer external ids. */
  customerWire(row: StoredCustomer): Record<string, unknown> {
    const externalIds = this.externalIdRows
      .filter((link) => link.internal_id === row.id && link.table_name === 'customer')
      .map((link) => ({ system_id: link.system_id, external_id: link.external_id }));
    return {
      id: row.id,
      customer_number: row.customer_number,
      first_name: row.first_name,
      last_name: row.last_name,
      email_address: row.email_address,
      company: row.company,
      comment: row.comment,
      external_ids: externalIds,
      custom_fields: row.custom_fields,
      ...(this.nestedAddresses ? { addresses: this.addressRowsOf(row.id).map((address) => ({ ...address })) } : {}),
      created_datetime: row.created_datetime,
      updated_datetime: row.updated_datetime,
    };
  }
}

function toFakeCustomer(row: StoredCustomer): FakeIpaasCustomer {
  return {
    id: String(row.id),
    customerNumber: row.customer_number,
    firstName: row.first_name,
    lastName: row.last_name,
    emailAddress: row.email_address,
    company: row.company,
    comment: row.comment,
    createdDatetime: row.created_datetime,
    updatedDatetime: row.updated_datetime,
  };
}

function toAddress(row: StoredAddress): IpaasAddress {
  return {
    id: String(row.id),
    customerId: String(row.customer_id),
    address1: row.address_1,
    address2: row.address_2,
    city: row.city,
    region: row.region,
    country: row.country,
    postalCode: row.postal_code,
    phoneNumber: row.phone_number,
    isPrimaryBilling: row.is_primary_billing,
    isPrimaryShipping: row.is_primary_shipping,
  };
}
