import { z } from 'zod';
import type { IpaasAddress, IpaasAddressInput, IpaasCustomer, IpaasCustomerInput } from './types';

/**
 * iPaaS.com wire shapes (snake_case JSON) and the converters to and from our camelCase types.
 *
 * Read only what you use: a reply schema names only the fields the code reads; every other field, of any type,
 * passes untouched (loose objects), so a reply is never refused for a field the sync ignores. The fields it reads
 * are validated leniently where the service may vary (null or missing text means "", a number where text is
 * expected is its digits, numeric ids may arrive as numbers or digit strings) and strictly where we depend on a
 * value (the id). test/wire/replySchemas.test.ts holds every reply schema to this.
 */

/** Ids are numbers on the wire (4512); our types carry them as strings. */
export const wireIdSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/u, 'expected a numeric id')])
  .transform((value) => String(value));

/** Text the code reads: a string; null or missing is ""; a number (a code typed as a number) is its digits. */
const wireText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined ? '' : String(value)));
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
  // Only a fallback: the converter uses the customer the request was about when it is missing or not an id.
  customer_id: z.unknown().optional().transform((value) => {
    const parsed = wireIdSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }),
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

/** A customer record's address collection (IPAAS_ADDRESS_MODE=nested): the field named, null or missing meaning none. */
export function nestedAddressesOf(collection: string) {
  return z
    .looseObject({ [collection]: addressListWireSchema.nullish() })
    .transform((record) => (record[collection] as AddressWire[] | null | undefined) ?? []);
}

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

/**
 * One subscription (a connected system): only `id` and `name` are read. iPaaS.com's own model carries more
 * (`type` as an int64, `description`, `value`, ...), of whatever type; none of it matters here.
 */
export const subscriptionWireSchema = z
  .looseObject({ id: wireIdSchema, name: wireText })
  .transform((wire) => ({ id: wire.id, name: wire.name }));
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

/** The wire name of every customer field the mapping can write. */
export const CUSTOMER_WIRE_FIELDS = {
  customerNumber: 'customer_number',
  firstName: 'first_name',
  emailAddress: 'email_address',
  lastName: 'last_name',
  company: 'company',
  comment: 'comment',
} as const satisfies Record<keyof IpaasCustomerInput, string>;

/** The wire name of every address field sent. */
export const ADDRESS_WIRE_FIELDS = {
  address1: 'address_1',
  address2: 'address_2',
  city: 'city',
  region: 'region',
  country: 'country',
  postalCode: 'postal_code',
  phoneNumber: 'phone_number',
  isPrimaryBilling: 'is_primary_billing',
  isPrimaryShipping: 'is_primary_shipping',
} as const satisfies Record<keyof IpaasAddressInput, string>;

/** The fields of a customer reply the code reads (the doctor looks for them in the tenant's description). */
export const CUSTOMER_READ_FIELDS: readonly string[] = Object.keys(customerWireSchema.shape);
/** The fields of an address reply the code reads; `customer_id` is only a fallback and not needed. */
export const ADDRESS_READ_FIELDS: readonly string[] = Object.keys(addressWireSchema.shape).filter((field) => field !== 'customer_id');
/** The fields of a subscription the code reads. */
export const SUBSCRIPTION_READ_FIELDS: readonly string[] = ['id', 'name'];
/** The UpdateExternalId body's fields. */
export const EXTERNAL_ID_WRITE_FIELDS: readonly string[] = ['table_name', 'system_id', 'external_id', 'internal_id'] satisfies ReadonlyArray<keyof ExternalIdWire>;

/** Only the fields the mapping maps: a field it leaves out is not sent (on update the current value stays). */
export function customerInputToWire(input: IpaasCustomerInput): CustomerWriteWire {
  const wire: CustomerWriteWire = { customer_number: input.customerNumber, first_name: input.firstName, email_address: input.emailAddress };
  for (const key of ['lastName', 'company', 'comment'] as const) {
    const value = input[key];
    if (value !== undefined) wire[CUSTOMER_WIRE_FIELDS[key]] = value;
  }
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

/** `CATEGORY-NNNN`, wherever it appears. */
const CODE_IN_TEXT = /\b([A-Z]{4})-(\d{3,5})\b/gu;
/** Fields that may carry the code, in the spellings a .NET service may choose. */
const CODE_FIELDS = ['code', 'errorCode', 'error_code', 'Code', 'ErrorCode'] as const;
/** Fields that may carry the message; the first text found is kept. */
const MESSAGE_FIELDS = ['message', 'Message', 'errorMessage', 'error_message', 'error_description', 'detail', 'title', 'description'] as const;
const MAX_MESSAGE_LENGTH = 500;

function categoryOf(code: string): IpaasErrorCategory | undefined {
  const prefix = code.slice(0, 4);
  return IPAAS_ERROR_CATEGORIES.find((category) => category === prefix);
}

function codesIn(text: string): string[] {
  return [...new Set([...text.matchAll(CODE_IN_TEXT)].map((match) => match[0]))];
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function clip(text: string): string {
  const line = text.replace(/\s+/gu, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A plain-text body: its codes, or the text itself when it is not an HTML page. */
function fromText(text: string): IpaasWireError[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const codes = codesIn(trimmed);
  if (codes.length > 0) return codes.map((code) => ({ code, category: categoryOf(code), message: clip(trimmed) }));
  return trimmed.startsWith('<') ? [] : [{ code: '', category: undefined, message: clip(trimmed) }];
}

/** One error object: its code from a code field (or, failing that, from its message), its message. */
function fromObject(value: Record<string, unknown>): IpaasWireError[] {
  const message = MESSAGE_FIELDS.map((field) => textOf(value[field])).find((text) => text !== undefined);
  const rawCodes = CODE_FIELDS.map((field) => textOf(value[field])).filter((text): text is string => text !== undefined);
  const code = rawCodes.flatMap(codesIn)[0] ?? (message ? codesIn(message)[0] : undefined);
  if (code) return [{ code, category: categoryOf(code), message: clip(message ?? '') }];
  // A code of another form (an HTTP status, a name) is kept beside the message rather than dropped.
  const other = rawCodes[0];
  const text = [other, message].filter(Boolean).join(': ');
  return text ? [{ code: '', category: undefined, message: clip(text) }] : [];
}

/**
 * The errors in an iPaaS.com error body, whatever its shape (the field names are not published): the
 * `CATEGORY-NNNN` code from `code`, `errorCode` (any casing), an `errors` array (of objects or strings), a nested
 * `error` object, or the text itself; the message beside it. ASP.NET's validation shape
 * `{ title, errors: { field: [messages] } }` gives its title and messages. [] when nothing readable is there
 * (empty, HTML, a number, ...).
 */
export function parseIpaasErrors(body: unknown): IpaasWireError[] {
  if (typeof body === 'string') return fromText(body);
  if (Array.isArray(body)) return dedupe(body.flatMap((item) => (typeof item === 'string' ? fromText(item) : isRecord(item) ? fromObject(item) : [])));
  if (!isRecord(body)) return [];
  const found: IpaasWireError[] = [];
  const errors = body.errors ?? body.Errors;
  if (Array.isArray(errors)) {
    for (const item of errors) found.push(...(typeof item === 'string' ? fromText(item) : isRecord(item) ? fromObject(item) : []));
  } else if (isRecord(errors)) {
    // ASP.NET model validation: { field: ["message", ...] }; any code in the messages is still found.
    const details = Object.entries(errors).map(([field, messages]) => {
      const list = Array.isArray(messages) ? messages.map(textOf).filter(Boolean) : [textOf(messages)].filter(Boolean);
      return `${field}: ${list.join(' ')}`;
    });
    const text = [textOf(body.title), ...details].filter(Boolean).join('; ');
    const codes = codesIn(text);
    found.push(...(codes.length > 0 ? codes.map((code) => ({ code, category: categoryOf(code), message: clip(text) })) : [{ code: '', category: undefined, message: clip(text) }]));
  }
  const nested = body.error ?? body.Error;
  if (isRecord(nested)) found.push(...fromObject(nested));
  else if (typeof nested === 'string') found.push(...fromText(nested));
  // The body itself, unless the errors above already carry its code and message.
  const own = fromObject(body);
  if (found.length === 0 || own.some((entry) => entry.code !== '' && !found.some((item) => item.code === entry.code))) found.push(...own);
  return dedupe(found);
}

function dedupe(errors: IpaasWireError[]): IpaasWireError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = `${error.code}\u0000${error.message}`;
    if (seen.has(key) || (error.code === '' && error.message === '')) return false;
    seen.add(key);
    return true;
  });
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
