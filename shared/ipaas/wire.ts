import { z } from 'zod';
import type { IpaasAddress, IpaasAddressInput, IpaasCustomer, IpaasCustomerInput } from './types';

/**
 * iPaaS.com wire shapes (snake_case JSON) and the converters to and from our camelCase types.
 * Replies are validated leniently where the service may vary (null or missing text means "", numeric ids may
 * arrive as numbers or digit strings, extra fields are kept) and strictly where we depend on a value (the id).
 */

/** Ids are numbers on the wire (4512); our types carry them as strings. */
export const wireIdSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/u, 'expected a numeric id')])
  .transform((value) => String(value));

const wireText = z.string().nullish().transform((value) => value ?? '');
const wireFlag = z.boolean().nullish().transform((value) => value ?? false);

export const customerWireSchema = z.looseObject({
  id: wireIdSchema,
  customer_number: wireText,
  first_name: wireText,
  last_name: wireText,
  email_address: wireText,
  company: wireText,
  comment: wireText,
});
export type CustomerWire = z.output<typeof customerWireSchema>;

export const customerListWireSchema = z.array(customerWireSchema);

export const addressWireSchema = z.looseObject({
  id: wireIdSchema,
  // Some list shapes omit the parent id; the converter falls back to the customer the request was about.
  customer_id: wireIdSchema.nullish(),
  address_1: wireText,
  address_2: wireText,
  city: wireText,
  region: wireText,
  country: wireText,
  postal_code: wireText,
  phone_number: wireText,
  is_primary_billing: wireFlag,
  is_primary_shipping: wireFlag,
});
export type AddressWire = z.output<typeof addressWireSchema>;

export const addressListWireSchema = z.array(addressWireSchema);

/** Fields the service owns; they are dropped from a body we send back on update. */
export const CUSTOMER_READ_ONLY_FIELDS = ['id', 'created_datetime', 'updated_datetime'] as const;

export interface CustomerWriteWire {
  customer_number: string;
  first_name: string;
  email_address: string;
  last_name?: string;
  company?: string;
  comment?: string;
  [field: string]: unknown;
}

export interface AddressWriteWire {
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

/** UpdateExternalId body: system_id an integer, both ids strings (as iPaaS.com's own models carry them). */
export interface ExternalIdWire {
  table_name: string;
  system_id: number;
  external_id: string;
  internal_id: string;
}

export const subscriptionWireSchema = z
  .looseObject({ id: wireIdSchema, type: wireText, name: wireText })
  .transform((wire) => ({ id: wire.id, type: wire.type, name: wire.name }));
export const subscriptionListWireSchema = z.array(subscriptionWireSchema);

export function customerFromWire(wire: CustomerWire): IpaasCustomer {
  return {
    id: wire.id,
    customerNumber: wire.customer_number,
    firstName: wire.first_name,
    lastName: wire.last_name,
    emailAddress: wire.email_address,
    company: wire.company,
    comment: wire.comment,
  };
}

/** Only the fields the mapping maps: a field it leaves out is not sent (on update the current value stays). */
export function customerInputToWire(input: IpaasCustomerInput): CustomerWriteWire {
  const wire: CustomerWriteWire = { customer_number: input.customerNumber, first_name: input.firstName, email_address: input.emailAddress };
  if (input.lastName !== undefined) wire.last_name = input.lastName;
  if (input.company !== undefined) wire.company = input.company;
  if (input.comment !== undefined) wire.comment = input.comment;
  return wire;
}

/**
 * Body for an update: the current record as iPaaS.com sent it, minus the fields it owns, with ours laid over it.
 * Sending the whole record keeps last_name, company, custom fields etc. whether PUT replaces or merges (assumed).
 */
export function customerUpdateToWire(current: Record<string, unknown>, input: IpaasCustomerInput): CustomerWriteWire {
  const body: Record<string, unknown> = { ...current };
  for (const field of CUSTOMER_READ_ONLY_FIELDS) delete body[field];
  return { ...body, ...customerInputToWire(input) };
}

export function addressFromWire(wire: AddressWire, requestedCustomerId: string): IpaasAddress {
  return {
    id: wire.id,
    customerId: wire.customer_id ?? requestedCustomerId,
    address1: wire.address_1,
    address2: wire.address_2,
    city: wire.city,
    region: wire.region,
    country: wire.country,
    postalCode: wire.postal_code,
    phoneNumber: wire.phone_number,
    isPrimaryBilling: wire.is_primary_billing,
    isPrimaryShipping: wire.is_primary_shipping,
  };
}

export function addressInputToWire(input: IpaasAddressInput): AddressWriteWire {
  return {
    address_1: input.address1,
    address_2: input.address2,
    city: input.city,
    region: input.region,
    country: input.country,
    postal_code: input.postalCode,
    phone_number: input.phoneNumber,
    is_primary_billing: input.isPrimaryBilling,
    is_primary_shipping: input.isPrimaryShipping,
  };
}

export function externalIdToWire(systemId: number, tableName: string, internalId: string, externalId: string): ExternalIdWire {
  return { table_name: tableName, system_id: systemId, external_id: externalId, internal_id: internalId };
}

// ---- Errors ---------------------------------------------------------------------------------------------

/** iPaaS.com error categories: the first four letters of a `CATEGORY-NNNN` code. Only INTL is retryable. */
export const IPAAS_ERROR_CATEGORIES = ['AUTH', 'AUTZ', 'VALD', 'BIZL', 'NFND', 'INTL'] as const;
export type IpaasErrorCategory = (typeof IPAAS_ERROR_CATEGORIES)[number];

export interface IpaasWireError {
  /** e.g. "BIZL-1001"; "" when the body had none. */
  code: string;
  category: IpaasErrorCategory | undefined;
  message: string;
}

const errorEntrySchema = z.looseObject({
  code: z.union([z.string(), z.number()]).nullish(),
  message: z.string().nullish(),
});
// Accepted shapes: { errors: [{ code, message }] }, { code, message }, and ASP.NET's { title, errors: { field: [...] } }.
const errorBodySchema = z.union([
  z.looseObject({ errors: z.array(errorEntrySchema).min(1) }),
  z.looseObject({ title: z.string(), errors: z.record(z.string(), z.array(z.string())).optional() }),
  errorEntrySchema.refine((entry) => entry.code != null || entry.message != null),
]);

const CODE_PATTERN = /^([A-Z]{4})-\d{3,5}$/u;

function categoryOf(code: string): IpaasErrorCategory | undefined {
  const prefix = CODE_PATTERN.exec(code)?.[1];
  return IPAAS_ERROR_CATEGORIES.find((category) => category === prefix);
}

function entry(code: unknown, message: unknown): IpaasWireError {
  const text = code === null || code === undefined ? '' : String(code).trim();
  return { code: text, category: categoryOf(text), message: typeof message === 'string' ? message : '' };
}

/** The errors in an iPaaS.com error body, in any accepted shape; [] when the body is not one (empty, HTML, ...). */
export function parseIpaasErrors(body: unknown): IpaasWireError[] {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return [];
  const value = parsed.data;
  if ('errors' in value && Array.isArray(value.errors)) return value.errors.map((item) => entry(item.code, item.message));
  if ('title' in value && typeof value.title === 'string') {
    const details = value.errors ? Object.entries(value.errors).map(([field, messages]) => `${field}: ${messages.join(' ')}`) : [];
    return [entry(undefined, [value.title, ...details].join('; '))];
  }
  const single = value as z.output<typeof errorEntrySchema>;
  return [entry(single.code, single.message)];
}

// ---- Paging ---------------------------------------------------------------------------------------------

const pageNumber = z.coerce.number().int().nonnegative();
/** `X-Pagination` JSON; field spelling as iPaaS.com sends it (`current_Page`), camelCase accepted too. */
const paginationSchema = z
  .looseObject({
    current_Page: pageNumber.optional(),
    currentPage: pageNumber.optional(),
    total_Pages: pageNumber.optional(),
    totalPages: pageNumber.optional(),
  })
  .transform((value) => ({
    currentPage: value.current_Page ?? value.currentPage,
    totalPages: value.total_Pages ?? value.totalPages,
  }))
  .refine((value) => value.totalPages !== undefined, 'total_Pages is missing');

export interface Pagination {
  currentPage: number | undefined;
  totalPages: number;
}

/** undefined when the header is absent (a single page); throws a plain Error when it is present but unreadable. */
export function parsePaginationHeader(header: string | null): Pagination | undefined {
  if (header === null || header.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(header) as unknown;
  } catch {
    throw new Error('X-Pagination is not JSON');
  }
  const parsed = paginationSchema.safeParse(json);
  if (!parsed.success) throw new Error(`X-Pagination is malformed (${describeIssues(parsed.error)})`);
  return { currentPage: parsed.data.currentPage, totalPages: parsed.data.totalPages ?? 0 };
}

/** Zod issues as "path: message" without the input values (which can hold personal data). */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const issues = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > limit ? ` (+${error.issues.length - limit} more)` : '';
  return `${issues.join('; ')}${more}`;
}
