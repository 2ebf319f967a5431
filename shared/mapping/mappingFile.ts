import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jsonata from 'jsonata';
import { z } from 'zod';

/**
 * The mapping collection file (`mappings/customer-to-ipaas.json` by default, or the file CUSTOMER_MAPPING_FILE
 * names): its shape (zod, from which `mappings/customer-mapping.schema.json` is generated), and its loading:
 * every entry checked, every JSONata expression compiled once and tried on sample records, so that a bad file
 * is refused at start with one message naming the entry, never at the first customer.
 */

/** Fields of the seed-shaped customer record (Business Central's Customer table names) a Field entry may copy. */
export const CUSTOMER_SOURCES = ['No', 'Name', 'EMail', 'Type', 'RecordType', 'Blocked', 'Id', 'LastModifiedDateTime'] as const;
/** Fields of one seed-shaped address record. */
export const ADDRESS_SOURCES = ['Address', 'Address 2', 'City', 'County', 'CountryRegionCode', 'PostCode', 'PhoneNo', 'SourceTypeName'] as const;
/** iPaaS.com customer fields this sync can write (the client's names in upper camel case, as iPaaS.com's mapping shows them). */
export const CUSTOMER_DESTINATIONS = ['CustomerNumber', 'FirstName', 'LastName', 'EmailAddress', 'Company', 'Comment'] as const;
export const ADDRESS_DESTINATIONS = ['Address1', 'Address2', 'City', 'Region', 'Country', 'PostalCode', 'PhoneNumber'] as const;
/** Destinations every mapping must map: iPaaS.com needs them, and the sync matches customers by number and email. */
export const REQUIRED_DESTINATIONS = ['CustomerNumber', 'FirstName', 'EmailAddress'] as const;
/** Destinations that must also be marked required: without a value the sync cannot match the customer. */
const ALWAYS_REQUIRED: readonly CustomerDestination[] = ['CustomerNumber', 'EmailAddress'];

export type CustomerSource = (typeof CUSTOMER_SOURCES)[number];
export type AddressSource = (typeof ADDRESS_SOURCES)[number];
export type CustomerDestination = (typeof CUSTOMER_DESTINATIONS)[number];
export type AddressDestination = (typeof ADDRESS_DESTINATIONS)[number];

/** Where the default file lives, relative to the app's root folder (the one holding host.json). */
export const DEFAULT_MAPPING_FILE = 'mappings/customer-to-ipaas.json';

const list = (names: readonly string[]): string => names.map((name) => `"${name}"`).join(', ');
const oneOf = <T extends readonly [string, ...string[]]>(names: T, what: string) =>
  z.enum(names, { error: (issue) => `unknown ${what} ${JSON.stringify(issue.input)}; expected one of ${list(names)}` });

function entrySchema<S extends readonly [string, ...string[]], D extends readonly [string, ...string[]]>(sources: S, destinations: D, record: string, withRequired: boolean) {
  const destination = oneOf(destinations, 'destination').meta({ description: 'The iPaaS.com field this entry writes.' });
  const description = z.string().optional().meta({ description: 'Free text for people; ignored by the sync.' });
  const required = z
    .boolean()
    .optional()
    .meta({ description: 'When true, a customer whose value is empty fails (MissingCustomerNumber, MissingName, MissingEmail, or MissingRequiredField).' });
  const common = withRequired ? { destination, required, description } : { destination, description };
  return z.discriminatedUnion(
    'type',
    [
      z
        .strictObject({ type: z.literal('Field'), source: oneOf(sources, 'source').meta({ description: `A field of the ${record} record.` }), ...common })
        .meta({ title: 'Field', description: `Copies one field of the ${record} record.` }),
      z
        .strictObject({ type: z.literal('Static'), value: z.string().meta({ description: 'The text written for every record.' }), ...common })
        .meta({ title: 'Static', description: 'Writes the same text for every record.' }),
      z
        .strictObject({
          type: z.literal('Formula'),
          expression: z.string().min(1, 'must not be empty').meta({ description: `A JSONata expression over the ${record} record; its result (text, number or true/false) is written.` }),
          ...common,
        })
        .meta({ title: 'Formula', description: 'Computes the value with a JSONata expression (https://docs.jsonata.org).' }),
    ],
    { error: 'type must be "Field", "Static" or "Formula"' },
  );
}

const customerEntrySchema = entrySchema(CUSTOMER_SOURCES, CUSTOMER_DESTINATIONS, 'customer', true);
// Addresses have no `required`: an address that should not be sent is left out by the address filter.
const addressEntrySchema = entrySchema(ADDRESS_SOURCES, ADDRESS_DESTINATIONS, 'address', false);

const filterSchema = (record: string) =>
  z.string().min(1, 'must not be empty (write "true" to take every record)').meta({
    description: `A JSONata expression over the ${record} record that gives true or false, e.g. Type = "Person" and RecordType = "Customer".`,
  });

export const mappingFileSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'The JSON Schema of this file, for editors.' }),
    name: z.string().min(1, 'must not be empty').meta({ description: 'Name of the mapping collection.' }),
    description: z.string().optional(),
    filter: filterSchema('customer'),
    fields: z.array(customerEntrySchema).min(1, 'must list at least CustomerNumber, FirstName and EmailAddress'),
    addresses: z
      .strictObject({
        name: z.string().min(1, 'must not be empty').meta({ description: 'Name of the child collection.' }),
        description: z.string().optional(),
        filter: filterSchema('address'),
        preventDuplicate: z.boolean().meta({ description: 'When true, an address equal to one the iPaaS.com customer already has is not added again.' }),
        fields: z.array(addressEntrySchema),
      })
      .optional()
      .meta({ description: 'The address child collection; without it no addresses are sent.' }),
  })
  .meta({
    title: 'Customer mapping collection: Business Central to iPaaS.com',
    description:
      'Which Business Central customers are transferred and what each iPaaS.com field receives. The sync also checks, at start: ' +
      'CustomerNumber, FirstName and EmailAddress are mapped, CustomerNumber and EmailAddress are required, no destination is mapped twice, ' +
      'and every expression compiles and runs on sample records.',
  });

export type MappingFile = z.infer<typeof mappingFileSchema>;
type CustomerEntry = z.infer<typeof customerEntrySchema>;
type AddressEntry = z.infer<typeof addressEntrySchema>;

/** A mapping file that cannot be used; the message names the file, the entry and, for an expression, the position. */
export class MappingFileError extends Error {
  constructor(
    readonly file: string,
    readonly entry: string,
    readonly problem: string,
  ) {
    super(`${file}: ${entry ? `${entry}: ` : ''}${problem}`);
    this.name = 'MappingFileError';
  }
}

// ---- Compiled form ------------------------------------------------------------------------------------------

/** One JSONata expression, compiled once. */
export interface CompiledExpression {
  /** Where it is in the file, e.g. `fields[3].expression`. */
  entry: string;
  text: string;
  expression: jsonata.Expression;
}

export type CompiledEntry<Source extends string, Destination extends string> = {
  /** Where it is in the file, e.g. `fields[3]`. */
  entry: string;
  destination: Destination;
  /** The client's field name: the destination in lower camel case. */
  key: Uncapitalize<Destination>;
  required: boolean;
} & ({ type: 'Field'; source: Source } | { type: 'Static'; value: string } | { type: 'Formula'; formula: CompiledExpression });

export type CompiledCustomerEntry = CompiledEntry<CustomerSource, CustomerDestination>;
export type CompiledAddressEntry = CompiledEntry<AddressSource, AddressDestination>;

/** A mapping collection ready to evaluate: checked, expressions compiled. */
export interface CustomerMapping {
  /** The file it came from (or a label for one built in memory). */
  file: string;
  name: string;
  filter: CompiledExpression;
  fields: CompiledCustomerEntry[];
  addresses: {
    name: string;
    filter: CompiledExpression;
    preventDuplicate: boolean;
    fields: CompiledAddressEntry[];
  } | null;
  /**
   * Hash of everything that decides what is written (filters, entries, preventDuplicate; not names or
   * descriptions). Part of each customer's payload hash, so a mapping change makes every customer "changed".
   */
  fingerprint: string;
  /** The checked file content. */
  document: MappingFile;
}

const lowerFirst = <T extends string>(name: T): Uncapitalize<T> => (name.charAt(0).toLowerCase() + name.slice(1)) as Uncapitalize<T>;

/** Trimmed and in Unicode NFC, as every value the sync compares, hashes and sends. */
export const cleanText = (value: string | undefined): string => (value ?? '').normalize('NFC').trim();

// ---- Evaluation guard rails ---------------------------------------------------------------------------------

/** Nesting and step limits for one evaluation: a runaway formula (endless recursion) fails instead of hanging. */
const MAX_DEPTH = 250;
const MAX_STEPS = 20_000;

export interface ExpressionFailure {
  code: string;
  position: number | undefined;
  message: string;
}

/** JSONata errors are plain objects `{ code, position, token, message }`; anything else is reported as is. */
export function expressionFailure(error: unknown): ExpressionFailure {
  if (typeof error === 'object' && error !== null) {
    const { code, position, message } = error as { code?: unknown; position?: unknown; message?: unknown };
    return {
      code: typeof code === 'string' ? code : 'Error',
      position: typeof position === 'number' ? position : undefined,
      message: typeof message === 'string' ? message : String(error),
    };
  }
  return { code: 'Error', position: undefined, message: String(error) };
}

/** Evaluates a compiled expression with guard rails; throws the JSONata error (or a guard-rail one). */
export function runExpression(compiled: CompiledExpression, input: unknown, bindings: Record<string, unknown> = {}): unknown {
  let depth = 0;
  let steps = 0;
  return compiled.expression.evaluate(input, {
    ...bindings,
    __evaluate_entry: () => {
      depth += 1;
      steps += 1;
      if (depth > MAX_DEPTH) throw { code: 'U1001', message: `nested more than ${MAX_DEPTH} levels deep (endless recursion?)` };
      if (steps > MAX_STEPS) throw { code: 'U1002', message: `took more than ${MAX_STEPS} evaluation steps (an endless loop?)` };
    },
    __evaluate_exit: () => {
      depth -= 1;
    },
  });
}

/** What an expression reads from its record: the field names it mentions, or `anything` when it may read any field. */
export interface ExpressionReads {
  names: ReadonlySet<string>;
  /** The record as a whole (`$`, `$$`), a wildcard or descendant step, or `$eval`: any field may be read. */
  anything: boolean;
}

/**
 * The field names a compiled expression mentions, from its syntax tree: every name step (`Name`, `Addresses.City`),
 * over-approximated (a name is counted even where it is not a field of the record). Used to read no more of Business
 * Central than the mapping needs, without ever reading less.
 */
export function expressionReads(compiled: CompiledExpression): ExpressionReads {
  const names = new Set<string>();
  let anything = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const { type, value } = node as { type?: unknown; value?: unknown };
    if (type === 'name' && typeof value === 'string') names.add(value);
    else if (type === 'wildcard' || type === 'descendant') anything = true;
    else if (type === 'variable' && (value === '' || value === '$' || value === 'eval')) anything = true;
    for (const child of Object.values(node)) if (typeof child === 'object') visit(child);
  };
  visit(compiled.expression.ast());
  return { names, anything };
}

export type TextResult = { ok: true; text: string } | { ok: false; problem: string };

/** A formula's result as the text a destination takes: text, numbers and true/false; nothing means "". */
export function resultText(value: unknown): TextResult {
  if (value === undefined || value === null) return { ok: true, text: '' };
  if (typeof value === 'string') return { ok: true, text: cleanText(value) };
  if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, text: String(value) } : { ok: false, problem: 'gave a number that is not finite' };
  if (typeof value === 'boolean') return { ok: true, text: String(value) };
  if (Array.isArray(value)) return { ok: false, problem: `gave a list of ${value.length} values; a destination takes one text (use $join(...) to combine them)` };
  if (typeof value === 'function') return { ok: false, problem: 'gave a function; a destination takes one text' };
  return { ok: false, problem: 'gave an object; a destination takes one text' };
}

// ---- Sample records (every expression must run on them at start) --------------------------------------------

const SAMPLE_ADDRESS = {
  SourceTypeName: 'Customer',
  Address: '192 Market Square',
  'Address 2': 'Suite 5',
  City: 'Atlanta',
  County: 'GA',
  CountryRegionCode: 'US',
  PostCode: '31772',
  PhoneNo: '+1 404 555 0100',
};
const EMPTY_ADDRESS = { SourceTypeName: 'ParentOnly', Address: '', 'Address 2': '', City: '', County: '', CountryRegionCode: '', PostCode: '', PhoneNo: '' };

/** Sample customers, seed-shaped: a complete Person, and a Company with only what Business Central insists on. */
export const SAMPLE_CUSTOMERS = [
  {
    label: 'the sample Person customer',
    record: {
      Id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      No: '10000',
      Name: 'Robert Townes',
      Type: 'Person',
      RecordType: 'Customer',
      EMail: 'robert.townes@contoso.example',
      Blocked: ' ',
      LastModifiedDateTime: '2026-11-25T07:38:44.293Z',
      Addresses: [SAMPLE_ADDRESS],
    },
  },
  {
    label: 'the sample Company customer with empty fields',
    record: {
      Id: '5a1c8b2e-1d3f-4e5a-9b6c-7d8e9f0a1b20',
      No: '10010',
      Name: '',
      Type: 'Company',
      RecordType: 'Customer',
      EMail: '',
      Blocked: 'All',
      LastModifiedDateTime: '2026-11-25T07:38:44.293Z',
      Addresses: [EMPTY_ADDRESS],
    },
  },
] as const;

// ---- Compiling ----------------------------------------------------------------------------------------------

/** "fields.3.expression" → "fields[3].expression". */
function entryPath(pathParts: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const part of pathParts) text += typeof part === 'number' ? `[${part}]` : `${text ? '.' : ''}${String(part)}`;
  return text;
}

const SEED_SYNTAX = /==|&&|\|\||!==/u;

function compileExpression(file: string, entry: string, text: string): CompiledExpression {
  try {
    return { entry, text, expression: jsonata(text) };
  } catch (error) {
    const failure = expressionFailure(error);
    const hint = SEED_SYNTAX.test(text) ? ' (JSONata writes = for ==, and for &&, or for ||, != for !==)' : '';
    throw new MappingFileError(file, entry, `JSONata ${failure.code} at position ${failure.position ?? '?'}: ${failure.message}${hint}; in ${JSON.stringify(text)}`);
  }
}

function compileEntries<Source extends string, Destination extends string>(
  file: string,
  prefix: string,
  entries: ReadonlyArray<(CustomerEntry | AddressEntry) & { source?: string }>,
): Array<CompiledEntry<Source, Destination>> {
  const seen = new Map<string, string>();
  return entries.map((raw, index) => {
    const entry = `${prefix}[${index}]`;
    const destination = raw.destination as Destination;
    const earlier = seen.get(destination);
    if (earlier) throw new MappingFileError(file, `${entry}.destination`, `${destination} is already mapped by ${earlier}; map each destination once`);
    seen.set(destination, entry);
    const base = { entry, destination, key: lowerFirst(destination), required: 'required' in raw && raw.required === true };
    if (raw.type === 'Field') return { ...base, type: 'Field', source: raw.source as Source };
    if (raw.type === 'Static') {
      const value = cleanText(raw.value);
      if (base.required && value === '') throw new MappingFileError(file, `${entry}.value`, `is empty but ${destination} is required; every customer would fail`);
      return { ...base, type: 'Static', value };
    }
    return { ...base, type: 'Formula', formula: compileExpression(file, `${entry}.expression`, raw.expression) };
  });
}

function fingerprintOf(document: MappingFile): string {
  const strip = <T extends { description?: string }>(entry: T): Omit<T, 'description'> => {
    const { description: _ignored, ...rest } = entry;
    return rest;
  };
  const semantic = {
    filter: document.filter,
    fields: document.fields.map(strip),
    addresses: document.addresses
      ? { filter: document.addresses.filter, preventDuplicate: document.addresses.preventDuplicate, fields: document.addresses.fields.map(strip) }
      : null,
  };
  return createHash('sha256').update(JSON.stringify(semantic)).digest('hex').slice(0, 16);
}

/** Checks a parsed file and compiles it; throws MappingFileError naming the first problem. */
export function compileMapping(content: unknown, file: string): CustomerMapping {
  const parsed = mappingFileSchema.safeParse(content);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem${parsed.error.issues.length > 2 ? 's' : ''})` : '';
    throw new MappingFileError(file, entryPath(issue?.path ?? []), `${issue?.message ?? 'is not a mapping collection'}${more}`);
  }
  const document = parsed.data;
  const filter = compileExpression(file, 'filter', document.filter);
  const fields = compileEntries<CustomerSource, CustomerDestination>(file, 'fields', document.fields);
  for (const destination of REQUIRED_DESTINATIONS) {
    const entry = fields.find((candidate) => candidate.destination === destination);
    if (!entry) throw new MappingFileError(file, 'fields', `${destination} is not mapped; every mapping must map ${REQUIRED_DESTINATIONS.join(', ')}`);
    if (ALWAYS_REQUIRED.includes(destination) && !entry.required) {
      throw new MappingFileError(file, `${entry.entry}.required`, `must be true: the sync matches customers by ${destination}, so it cannot be empty`);
    }
  }
  const addresses = document.addresses
    ? {
        name: document.addresses.name,
        filter: compileExpression(file, 'addresses.filter', document.addresses.filter),
        preventDuplicate: document.addresses.preventDuplicate,
        fields: compileEntries<AddressSource, AddressDestination>(file, 'addresses.fields', document.addresses.fields),
      }
    : null;
  const mapping: CustomerMapping = { file, name: document.name, filter, fields, addresses, fingerprint: fingerprintOf(document), document };
  trySamples(mapping);
  return mapping;
}

/** Every expression on the sample records: one that throws, or gives what its destination cannot take, is refused now. */
function trySamples(mapping: CustomerMapping): void {
  const fail = (compiled: CompiledExpression, sample: string, problem: string): never => {
    throw new MappingFileError(mapping.file, compiled.entry, `${problem} on ${sample}; in ${JSON.stringify(compiled.text)}`);
  };
  const run = (compiled: CompiledExpression, input: unknown, sample: string, bindings?: Record<string, unknown>): unknown => {
    try {
      return runExpression(compiled, input, bindings);
    } catch (error) {
      const failure = expressionFailure(error);
      return fail(compiled, sample, `fails with JSONata ${failure.code}${failure.position === undefined ? '' : ` at position ${failure.position}`}: ${failure.message}`);
    }
  };
  const checkFilter = (compiled: CompiledExpression, input: unknown, sample: string, bindings?: Record<string, unknown>): void => {
    const result = run(compiled, input, sample, bindings);
    if (result !== undefined && typeof result !== 'boolean') fail(compiled, sample, `gives ${describeValue(result)}, not true or false`);
  };
  const checkEntry = (entry: CompiledCustomerEntry | CompiledAddressEntry, input: unknown, sample: string, complete: boolean, bindings?: Record<string, unknown>): void => {
    if (entry.type !== 'Formula') return;
    const result = resultText(run(entry.formula, input, sample, bindings));
    if (!result.ok) fail(entry.formula, sample, result.problem);
    else if (complete && entry.required && result.text === '') fail(entry.formula, sample, `gives no value though ${entry.destination} is required (every customer would fail)`);
  };
  for (const [index, { label, record }] of SAMPLE_CUSTOMERS.entries()) {
    const complete = index === 0;
    checkFilter(mapping.filter, record, label);
    for (const entry of mapping.fields) checkEntry(entry, record, label, complete);
    if (!mapping.addresses) continue;
    for (const address of record.Addresses) {
      const sample = `the address of ${label}`;
      const bindings = { customer: record };
      checkFilter(mapping.addresses.filter, address, sample, bindings);
      for (const entry of mapping.addresses.fields) checkEntry(entry, address, sample, false, bindings);
    }
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return 'a text';
  if (typeof value === 'number') return 'a number';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'function' ? 'a function' : 'an object';
}

// ---- Loading ------------------------------------------------------------------------------------------------

/** JSON.parse's error with the line and column instead of the offset. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/u, ''));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = /position (\d+)/u.exec(message)?.[1];
    let where = '';
    if (offset !== undefined) {
      const before = text.slice(0, Number(offset)).split('\n');
      where = ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
    }
    throw new MappingFileError(file, '', `is not valid JSON${where}: ${message}`);
  }
}

const cache = new Map<string, { content: string; mapping: CustomerMapping }>();

/**
 * Reads, checks and compiles a mapping file. Compiled once per file content: loading the same file again
 * (each settings load does) only reads it. Throws MappingFileError.
 */
export function loadMappingFile(file: string, label: string = file): CustomerMapping {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MappingFileError(label, '', code === 'ENOENT' ? `no such file (looked at ${file})` : `cannot be read (${code ?? String(error)})`);
  }
  const cached = cache.get(file);
  if (cached && cached.content === content && cached.mapping.file === label) return cached.mapping;
  const mapping = compileMapping(parseJson(content, label), label);
  cache.set(file, { content, mapping });
  return mapping;
}

/**
 * The app's root folder: the nearest folder above this code holding host.json (the repository when run from
 * source, the deployment package when run from dist/index.js). Relative mapping paths are taken from there.
 */
export function appRoot(start: string = moduleDirectory()): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'host.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start, '..');
    dir = parent;
  }
}

/**
 * The folder of this code: `__dirname` when run from source (CommonJS); in the ES module bundle, where there is
 * no `__dirname`, the folder of the bundle file, from the `require` its banner creates for it (scripts/bundle.ts).
 */
function moduleDirectory(): string {
  // A CommonJS module's own `__dirname` is absolute; `node -e` puts a global "." that an ES module would see.
  if (typeof __dirname === 'string' && path.isAbsolute(__dirname)) return __dirname;
  const [first] = require.resolve.paths('jsonata') ?? [];
  return first ? path.dirname(first) : process.cwd();
}

let defaultMapping: CustomerMapping | undefined;

/** The shipped default mapping (the seed's collection), loaded once. */
export function defaultCustomerMapping(): CustomerMapping {
  defaultMapping ??= loadMappingFile(path.join(appRoot(), DEFAULT_MAPPING_FILE), DEFAULT_MAPPING_FILE);
  return defaultMapping;
}
