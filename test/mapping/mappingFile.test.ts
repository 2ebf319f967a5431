import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { ConfigError, loadConfig, loadMappingConfig } from '../../shared/config';
import { compileMapping, defaultCustomerMapping, mappingFileSchema, MappingFileError, type MappingFile } from '../../shared/mapping';
import { mappingJsonSchemaText, SCHEMA_FILE } from '../../scripts/mappingSchema';
import { startSystem } from '../../dev/system';
import { runDoctor } from '../../shared/doctor/doctor';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_FILE = path.join(ROOT, 'mappings', 'customer-to-ipaas.json');
const defaultDocument = (): MappingFile => JSON.parse(readFileSync(DEFAULT_FILE, 'utf8')) as MappingFile;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mapping-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes a mapping file and returns its path. */
function writeMapping(content: unknown): string {
  counter += 1;
  const file = path.join(dir, `mapping-${counter}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The one message loading the file at start gives (the same text stops the host and the doctor). */
function startMessage(content: unknown): string {
  const file = writeMapping(content);
  try {
    loadMappingConfig({ CUSTOMER_MAPPING_FILE: file });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]?.setting).toBe('CUSTOMER_MAPPING_FILE');
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

const withFields = (change: (fields: MappingFile['fields']) => MappingFile['fields']): MappingFile => {
  const document = defaultDocument();
  return { ...document, fields: change(document.fields) };
};
const formula = (expression: string, destination: string, extra: Record<string, unknown> = {}) => ({ type: 'Formula', expression, destination, ...extra });

describe('the default file', () => {
  test('is the seed collection and refers to the published JSON Schema', () => {
    const document = defaultDocument();
    expect(document.$schema).toBe('./customer-mapping.schema.json');
    expect(path.resolve(path.dirname(DEFAULT_FILE), document.$schema ?? '')).toBe(SCHEMA_FILE);
    expect(document.name).toBe('Dynamics Add/Update Customer TO iPaaS');
    expect(document.addresses?.name).toBe('Dynamics Add Customer Address TO iPaaS');
    expect(document.addresses?.preventDuplicate).toBe(true);
  });

  test('is what the settings load when CUSTOMER_MAPPING_FILE is unset or blank', () => {
    for (const env of [{}, { CUSTOMER_MAPPING_FILE: '  ' }]) {
      const loaded = loadMappingConfig(env);
      expect(loaded).toMatchObject({ file: DEFAULT_FILE, isDefault: true });
      expect(loaded.mapping.fingerprint).toBe(defaultCustomerMapping().fingerprint);
    }
    expect(loadConfig(process.env).mapping.file).toBe(DEFAULT_FILE);
  });

  test('a relative CUSTOMER_MAPPING_FILE is taken from the app folder (the one holding host.json)', () => {
    expect(loadMappingConfig({ CUSTOMER_MAPPING_FILE: 'mappings/customer-to-ipaas.json' })).toMatchObject({ file: DEFAULT_FILE, isDefault: false });
  });

  test('is compiled once: loading the same content again returns the same compiled mapping', () => {
    const file = writeMapping(defaultDocument());
    expect(loadMappingConfig({ CUSTOMER_MAPPING_FILE: file }).mapping).toBe(loadMappingConfig({ CUSTOMER_MAPPING_FILE: file }).mapping);
  });
});

describe('the JSON Schema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);

  test('is the one generated from the zod schema (npm run mapping:schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(mappingJsonSchemaText());
  });

  test('accepts the default file', () => {
    expect(validate(defaultDocument())).toBe(true);
  });

  // Each document is judged by the JSON Schema (editors) and by the zod schema (the sync): they must agree.
  const base = defaultDocument();
  const cases: Array<[string, unknown]> = [
    ['the default', base],
    ['without addresses', { ...base, addresses: undefined }],
    ['a Static and a Formula', withFields((fields) => [...fields, { type: 'Static', value: 'x', destination: 'Comment' }, formula('Name', 'LastName')] as MappingFile['fields'])],
    ['an unknown destination', withFields((fields) => [...fields, { type: 'Field', source: 'Name', destination: 'MiddleName' }] as unknown as MappingFile['fields'])],
    ['an unknown source', withFields((fields) => [...fields, { type: 'Field', source: 'Nmae', destination: 'LastName' }] as unknown as MappingFile['fields'])],
    ['an unknown type', withFields((fields) => [...fields, { type: 'Lookup', source: 'Name', destination: 'LastName' }] as unknown as MappingFile['fields'])],
    ['an unknown key', { ...base, filters: 'true' }],
    ['a Field without source', withFields((fields) => [...fields, { type: 'Field', destination: 'LastName' }] as unknown as MappingFile['fields'])],
    ['an empty expression', withFields((fields) => [...fields, formula('', 'LastName')] as MappingFile['fields'])],
    ['required on an address entry', { ...base, addresses: { ...base.addresses, fields: [{ type: 'Field', source: 'City', destination: 'City', required: true }] } }],
    ['a missing filter', { ...base, filter: undefined }],
    ['no fields', { ...base, fields: [] }],
    ['preventDuplicate as text', { ...base, addresses: { ...base.addresses, preventDuplicate: 'true' } }],
    ['a numeric Static', withFields((fields) => [...fields, { type: 'Static', value: 5, destination: 'Comment' }] as unknown as MappingFile['fields'])],
  ];
  test.each(cases)('agrees with the zod schema on %s', (_name, document) => {
    const clean = JSON.parse(JSON.stringify(document)) as unknown;
    expect(validate(clean)).toBe(mappingFileSchema.safeParse(clean).success);
  });
  test('the agreement cases include both verdicts', () => {
    const verdicts = cases.map(([, document]) => mappingFileSchema.safeParse(JSON.parse(JSON.stringify(document))).success);
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
  });
});

describe('a bad file is refused at start with one message naming the entry', () => {
  test('not JSON: the line and column', () => {
    const message = startMessage('{\n  "name": "x",\n  "filter": true,,\n}');
    expect(message).toMatch(/CUSTOMER_MAPPING_FILE \(.*mapping-\d+\.json: is not valid JSON \(line 3, column 18\): Expected double-quoted property name/u);
  });

  test('a missing file', () => {
    expect(() => loadMappingConfig({ CUSTOMER_MAPPING_FILE: path.join(dir, 'nowhere.json') })).toThrow(/nowhere\.json: no such file/u);
  });

  test('an unknown destination', () => {
    const message = startMessage(withFields((fields) => [...fields, { type: 'Field', source: 'Name', destination: 'MiddleName' }] as unknown as MappingFile['fields']));
    expect(message).toContain('fields[3].destination: unknown destination "MiddleName"; expected one of "CustomerNumber", "FirstName", "LastName", "EmailAddress", "Company", "Comment"');
  });

  test('an unknown address destination', () => {
    const document = defaultDocument();
    const addresses = { ...document.addresses!, fields: [{ type: 'Field', source: 'City', destination: 'Town' }] };
    expect(startMessage({ ...document, addresses })).toContain('addresses.fields[0].destination: unknown destination "Town"');
  });

  test('an unknown source', () => {
    const message = startMessage(withFields((fields) => [...fields, { type: 'Field', source: 'Nmae', destination: 'LastName' }] as unknown as MappingFile['fields']));
    expect(message).toContain('fields[3].source: unknown source "Nmae"; expected one of "No", "Name", "EMail"');
  });

  test('an unknown type', () => {
    const message = startMessage(withFields((fields) => [...fields, { type: 'Lookup', destination: 'LastName' }] as unknown as MappingFile['fields']));
    expect(message).toContain('fields[3].type: type must be "Field", "Static" or "Formula"');
  });

  test('an unknown key', () => {
    expect(startMessage({ ...defaultDocument(), filters: 'true' })).toContain(': Unrecognized key: "filters"');
  });

  test.each(['CustomerNumber', 'FirstName', 'EmailAddress'])('a missing required destination: %s', (destination) => {
    const message = startMessage(withFields((fields) => fields.filter((field) => field.destination !== destination)));
    expect(message).toContain(`: fields: ${destination} is not mapped; every mapping must map CustomerNumber, FirstName, EmailAddress`);
  });

  test('EmailAddress that is not required', () => {
    const message = startMessage(withFields((fields) => fields.map((field) => (field.destination === 'EmailAddress' ? { ...field, required: false } : field))));
    expect(message).toContain('fields[2].required: must be true: the sync matches customers by EmailAddress');
  });

  test('a destination mapped twice', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('Name', 'FirstName')] as MappingFile['fields']));
    expect(message).toContain('fields[3].destination: FirstName is already mapped by fields[1]; map each destination once');
  });

  test('an expression that does not compile: the position and the error', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('$substringBefore(Name, ', 'LastName')] as MappingFile['fields']));
    expect(message).toContain('fields[3].expression: JSONata S0203 at position 23: Expected ")" before end of expression; in "$substringBefore(Name, "');
  });

  test('the seed\'s own filter syntax gets a hint', () => {
    const message = startMessage({ ...defaultDocument(), filter: 'Type == "Person" && RecordType == "Customer"' });
    expect(message).toContain('filter: JSONata S0211 at position 7: The symbol "=" cannot be used as a unary operator (JSONata writes = for ==, and for &&, or for ||');
  });

  test('an address filter that does not compile', () => {
    const document = defaultDocument();
    expect(startMessage({ ...document, addresses: { ...document.addresses!, filter: 'SourceTypeName !=' } })).toContain('addresses.filter: JSONata S0207 at position 17');
  });

  test('a formula that fails on a sample record', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('$number(Name)', 'Comment')] as MappingFile['fields']));
    expect(message).toContain(
      'fields[3].expression: fails with JSONata D3030 at position 8: Unable to cast value to a number: "Robert Townes" on the sample Person customer; in "$number(Name)"',
    );
  });

  test('a formula calling a function that does not exist', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('$lowercase(Name) & $titlecase(Name)', 'Comment')] as MappingFile['fields']));
    expect(message).toContain('fields[3].expression: fails with JSONata T1006 at position 30: Attempted to invoke a non-function on the sample Person customer');
  });

  test('a formula that gives a list', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('$split(Name, " ")', 'LastName')] as MappingFile['fields']));
    expect(message).toContain('fields[3].expression: gave a list of 2 values; a destination takes one text (use $join(...) to combine them) on the sample Person customer');
  });

  test('a formula that never ends', () => {
    const message = startMessage(withFields((fields) => [...fields, formula('($loop := function($n) { $loop($n + 1) }; $loop(0))', 'Comment')] as MappingFile['fields']));
    expect(message).toMatch(/fields\[3\]\.expression: fails with JSONata U100[12] at position \d+: .*(endless recursion|endless loop)/u);
  });

  test('a required formula that gives nothing for a complete customer', () => {
    const message = startMessage(withFields((fields) => fields.map((field) => (field.destination === 'FirstName' ? formula('FirstName', 'FirstName', { required: true }) : field)) as MappingFile['fields']));
    expect(message).toContain('fields[1].expression: gives no value though FirstName is required (every customer would fail) on the sample Person customer');
  });

  test('a required Static that is empty', () => {
    const message = startMessage(withFields((fields) => [...fields, { type: 'Static', value: ' ', destination: 'Comment', required: true }]));
    expect(message).toContain('fields[3].value: is empty but Comment is required; every customer would fail');
  });

  test('a filter that does not give true or false', () => {
    expect(startMessage({ ...defaultDocument(), filter: 'Name' })).toContain('filter: gives a text, not true or false on the sample Person customer; in "Name"');
  });

  test('required on an address entry', () => {
    const document = defaultDocument();
    const addresses = { ...document.addresses!, fields: [{ type: 'Field', source: 'City', destination: 'City', required: true }] };
    expect(startMessage({ ...document, addresses })).toContain('addresses.fields[0]: Unrecognized key: "required"');
  });

  test('the message ends with what to do', () => {
    expect(startMessage({ ...defaultDocument(), filter: '' })).toMatch(
      /^Invalid configuration: CUSTOMER_MAPPING_FILE \(.*: filter: must not be empty \(write "true" to take every record\)\)\. Fix the mapping file/u,
    );
  });

  test('loadConfig reports it among the other settings', () => {
    const file = writeMapping({ ...defaultDocument(), filter: 'Type ==' });
    expect(() => loadConfig({ ...process.env, CUSTOMER_MAPPING_FILE: file })).toThrow(/CUSTOMER_MAPPING_FILE \(.*: filter: JSONata/u);
  });

  test('compileMapping throws MappingFileError carrying the entry', () => {
    try {
      compileMapping(withFields((fields) => [...fields, formula('(', 'Comment')] as MappingFile['fields']), 'inline.json');
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(MappingFileError);
      expect((error as MappingFileError).entry).toBe('fields[3].expression');
      expect((error as MappingFileError).file).toBe('inline.json');
    }
  });
});

describe('the host', () => {
  test('npm run doctor fails its settings check with the same message', async () => {
    const file = writeMapping(withFields((fields) => [...fields, formula('$substringBefore(Name, ', 'LastName')] as MappingFile['fields']));
    const report = await runDoctor({ ...process.env, CUSTOMER_MAPPING_FILE: file }, { timeoutMs: 2_000 });
    expect(report.ok).toBe(false);
    const settings = report.checks.find((check) => check.id === 'settings');
    expect(settings).toMatchObject({ status: 'fail', fix: expect.stringContaining('CUSTOMER_MAPPING_FILE') });
    expect(settings?.detail).toContain('fields[3].expression: JSONata S0203 at position 23: Expected ")" before end of expression');
  });

  test('npm start refuses a bad file before starting anything, with the same message', async () => {
    const file = writeMapping(withFields((fields) => fields.filter((field) => field.destination !== 'EmailAddress')));
    const saved = { ...process.env };
    try {
      await expect(startSystem({ port: 0, sandbox: true, startAzurite: false, seedDemo: false, overrides: { CUSTOMER_MAPPING_FILE: file } })).rejects.toThrow(
        /CUSTOMER_MAPPING_FILE \(.*: fields: EmailAddress is not mapped/u,
      );
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
