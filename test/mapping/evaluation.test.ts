import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { addressesToAdd, applyCustomerMapping, compileMapping, defaultCustomerMapping, type CustomerMapping, type MappingFile } from '../../shared/mapping';
import { createStorage } from '../../shared/storage';
import { syncCustomer, type SyncRequest } from '../../shared/sync/syncCustomer';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { createFakeWorld } from '../../dev/fakes/world';
import { startMockServer } from '../support/msw';
import { resetStorage } from '../support/storage';
import { syncDependencies } from '../support/sync';
import { bcCustomerEntity } from '../support/fixtures';

const DEFAULT_DOCUMENT = JSON.parse(readFileSync(path.resolve(__dirname, '../../mappings/customer-to-ipaas.json'), 'utf8')) as MappingFile;

/** The default file with some entries added (or replacing the entry of the same destination) and other keys changed. */
function mappingWith(entries: Array<Record<string, unknown>>, changes: Partial<MappingFile> = {}): CustomerMapping {
  const fields = [...DEFAULT_DOCUMENT.fields] as Array<Record<string, unknown>>;
  for (const entry of entries) {
    const index = fields.findIndex((field) => field.destination === entry.destination);
    if (index >= 0) fields[index] = entry;
    else fields.push(entry);
  }
  return compileMapping({ ...DEFAULT_DOCUMENT, fields, ...changes }, 'test.json');
}

const entity = bcCustomerEntity;

describe('Field, Static and Formula on the customer', () => {
  const mapping = mappingWith([
    { type: 'Formula', expression: '$substringBefore(Name, " ")', destination: 'FirstName', required: true },
    { type: 'Formula', expression: '$contains(Name, " ") ? $substringAfter(Name, " ") : ""', destination: 'LastName' },
    { type: 'Static', value: 'Synced from Business Central', destination: 'Comment' },
    { type: 'Field', source: 'Type', destination: 'Company' },
  ]);

  test('each kind writes its destination', () => {
    const outcome = applyCustomerMapping(entity(), mapping);
    expect(outcome.kind === 'mapped' && outcome.ipaasCustomer).toEqual({
      customerNumber: '10000',
      firstName: 'Robert',
      lastName: 'Townes',
      emailAddress: 'robert.townes@contoso.com',
      comment: 'Synced from Business Central',
      company: 'Person',
    });
  });

  test('formula results are trimmed and in NFC; numbers and true/false become text', () => {
    const numbers = mappingWith([
      { type: 'Formula', expression: '"  Jose\u0301 "', destination: 'LastName' },
      { type: 'Formula', expression: '$length(Name)', destination: 'Company' },
      { type: 'Formula', expression: 'Type = "Person"', destination: 'Comment' },
    ]);
    const outcome = applyCustomerMapping(entity(), numbers);
    expect(outcome.kind === 'mapped' && outcome.ipaasCustomer).toMatchObject({ lastName: 'Jos\u00e9', company: '13', comment: 'true' });
  });

  test('a formula reading a field that is missing gives ""', () => {
    const outcome = applyCustomerMapping(entity(), mappingWith([{ type: 'Formula', expression: 'Website', destination: 'Comment' }]));
    expect(outcome.kind === 'mapped' && outcome.ipaasCustomer.comment).toBe('');
  });

  test('destinations the mapping does not map are not sent', () => {
    const outcome = applyCustomerMapping(entity());
    expect(outcome.kind === 'mapped' && Object.keys(outcome.ipaasCustomer)).toEqual(['customerNumber', 'firstName', 'emailAddress']);
  });
});

describe('required destinations keep the seed\'s codes', () => {
  test.each([
    [{ number: ' ' }, 'MissingCustomerNumber', 'No is empty; CustomerNumber is required by iPaaS.com'],
    [{ displayName: '' }, 'MissingName', 'Name is empty; FirstName is required by iPaaS.com'],
    [{ email: '' }, 'MissingEmail', 'EMail is empty; EmailAddress is required by iPaaS.com'],
    [{ email: 'robert@contoso' }, 'InvalidEmail', 'EMail is not a valid email address (expected the form user@example.com)'],
  ])('%p → %s', (overrides, code, message) => {
    const outcome = applyCustomerMapping(entity(overrides));
    expect(outcome.kind === 'invalid' && outcome.problems[0]).toEqual({ code, message });
  });

  test('a required formula that gives nothing is MissingName for FirstName', () => {
    const mapping = mappingWith([{ type: 'Formula', expression: '$substringBefore(Name, " ")', destination: 'FirstName', required: true }]);
    const outcome = applyCustomerMapping(entity({ displayName: '' }), mapping);
    expect(outcome.kind === 'invalid' && outcome.problems).toEqual([{ code: 'MissingName', message: 'fields[1] (Formula) gave no value; FirstName is required by iPaaS.com' }]);
  });

  test('a required LastName that is empty is MissingRequiredField', () => {
    const mapping = mappingWith([{ type: 'Formula', expression: '$contains(Name, " ") ? $substringAfter(Name, " ") : ""', destination: 'LastName', required: true }]);
    const outcome = applyCustomerMapping(entity({ displayName: 'Cher' }), mapping);
    expect(outcome.kind === 'invalid' && outcome.problems.map((problem) => problem.code)).toEqual(['MissingRequiredField']);
  });

  test('InvalidEmail applies to whatever feeds EmailAddress', () => {
    const mapping = mappingWith([{ type: 'Formula', expression: '$lowercase(EMail) & ".invalid@"', destination: 'EmailAddress', required: true }]);
    const outcome = applyCustomerMapping(entity(), mapping);
    expect(outcome.kind === 'invalid' && outcome.problems).toEqual([
      { code: 'InvalidEmail', message: 'EmailAddress is not a valid email address (expected the form user@example.com)' },
    ]);
  });
});

describe('a formula that fails for one customer', () => {
  // Passes the sample records at start, fails for a customer whose number is not numeric.
  const mapping = mappingWith([{ type: 'Formula', expression: '$string($number(No) + 1)', destination: 'Comment' }]);

  test('is MappingFailed for that customer, naming the entry, without the value', () => {
    expect(applyCustomerMapping(entity({ number: '10000' }), mapping).kind).toBe('mapped');
    const outcome = applyCustomerMapping(entity({ number: 'C-Robert' }), mapping);
    expect(outcome.kind).toBe('invalid');
    const [problem] = outcome.kind === 'invalid' ? outcome.problems : [];
    expect(problem?.code).toBe('MappingFailed');
    expect(problem?.message).toBe(
      'Mapping collection "Dynamics Add/Update Customer TO iPaaS": fields[3].expression failed for this customer: JSONata D3030 at position 16: Unable to cast value to a number: "…"',
    );
    expect(problem?.message).not.toContain('Robert');
  });

  test('a filter that fails is MappingFailed too', () => {
    const failing = mappingWith([], { filter: '$number(No) > 5' });
    const outcome = applyCustomerMapping(entity({ number: 'ABC' }), failing);
    expect(outcome.kind === 'invalid' && outcome.problems[0]?.code).toBe('MappingFailed');
  });

  test('a formula that gives a list for one customer is MappingFailed', () => {
    const listy = mappingWith([{ type: 'Formula', expression: 'Name = "Many" ? ["a", "b"] : Name', destination: 'Comment' }]);
    const outcome = applyCustomerMapping(entity({ displayName: 'Many' }), listy);
    expect(outcome.kind === 'invalid' && outcome.problems[0]).toMatchObject({ code: 'MappingFailed', message: expect.stringContaining('fields[3].expression gave a list of 2 values') });
  });
});

describe('the address collection', () => {
  const addresses = (fields: Array<Record<string, unknown>>, filter = 'SourceTypeName != "ParentOnly"', preventDuplicate = true): Partial<MappingFile> => ({
    addresses: { name: 'Addresses', filter, preventDuplicate, fields } as MappingFile['addresses'],
  });

  test('Field, Static and Formula, with the parent customer as $customer; unmapped destinations are sent empty', () => {
    const mapping = mappingWith(
      [],
      addresses([
        { type: 'Formula', expression: '$uppercase(Address)', destination: 'Address1' },
        { type: 'Static', value: 'Reception', destination: 'Address2' },
        { type: 'Field', source: 'City', destination: 'City' },
        { type: 'Formula', expression: '$customer.No & "-" & PostCode', destination: 'PostalCode' },
      ]),
    );
    const outcome = applyCustomerMapping(entity(), mapping);
    expect(outcome.kind === 'mapped' && outcome.addresses).toEqual([
      { address1: '192 MARKET SQUARE', address2: 'Reception', city: 'Atlanta', region: '', country: '', postalCode: '10000-31772', phoneNumber: '', isPrimaryBilling: true, isPrimaryShipping: true },
    ]);
  });

  test('the address filter decides which addresses are sent', () => {
    const onlyUs = mappingWith([], addresses([{ type: 'Field', source: 'City', destination: 'City' }], 'CountryRegionCode = "US"'));
    const us = applyCustomerMapping(entity(), onlyUs);
    const fr = applyCustomerMapping(entity({ country: 'FR' }), onlyUs);
    expect(us.kind === 'mapped' && us.addresses).toHaveLength(1);
    expect(fr.kind === 'mapped' && fr.addresses).toEqual([]);
  });

  test('without an address collection no addresses are sent', () => {
    const { addresses: _none, ...withoutAddresses } = DEFAULT_DOCUMENT;
    const outcome = applyCustomerMapping(entity(), compileMapping(withoutAddresses, 'no-addresses.json'));
    expect(outcome.kind === 'mapped' && outcome.addresses).toEqual([]);
  });

  test('preventDuplicate false adds an address again; true does not', () => {
    const outcome = applyCustomerMapping(entity());
    const wanted = outcome.kind === 'mapped' ? outcome.addresses : [];
    const off = mappingWith([], { addresses: { ...DEFAULT_DOCUMENT.addresses!, preventDuplicate: false } });
    expect(addressesToAdd(wanted, wanted, defaultCustomerMapping())).toEqual([]);
    expect(addressesToAdd(wanted, wanted, off)).toEqual(wanted);
  });
});

describe('change detection', () => {
  test('the mapping is part of the payload hash; names and descriptions are not', () => {
    const base = applyCustomerMapping(entity());
    const renamed = applyCustomerMapping(entity(), compileMapping({ ...DEFAULT_DOCUMENT, name: 'Renamed', description: 'other words' }, 'renamed.json'));
    const refiltered = applyCustomerMapping(entity(), mappingWith([], { filter: 'RecordType = "Customer"' }));
    const hash = (outcome: ReturnType<typeof applyCustomerMapping>): string => (outcome.kind === 'mapped' ? outcome.hash : '');
    expect(hash(base)).not.toBe('');
    expect(hash(renamed)).toBe(hash(base));
    // Same values written, but another mapping decided them: the next sync writes again.
    expect(hash(refiltered)).not.toBe(hash(base));
  });
});

describe('through the sync, against the fakes', () => {
  const config = loadConfig(process.env);
  const world = createFakeWorld(config);
  startMockServer(...world.handlers);
  const { businessCentral: bc, ipaas } = world;
  const storage = createStorage(config.storage);
  const request = (customerId: string): SyncRequest => ({ customerId, source: 'manual', correlationId: 'test', attempt: 1 });
  const person = (overrides: FakeBcCustomerInput = {}) =>
    bc.upsertCustomer({ number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example', ...overrides });

  beforeEach(async () => {
    await resetStorage();
    ipaas.reset();
    for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
  });

  test('LastName, Company and Comment reach iPaaS.com on create', async () => {
    const mapping = mappingWith([
      { type: 'Formula', expression: '$substringBefore(Name, " ")', destination: 'FirstName', required: true },
      { type: 'Formula', expression: '$substringAfter(Name, " ")', destination: 'LastName' },
      { type: 'Static', value: 'Contoso Ltd', destination: 'Company' },
      { type: 'Static', value: 'Synced from Business Central', destination: 'Comment' },
    ]);
    const customer = person();
    const transfer = await syncCustomer(syncDependencies(config, storage, { mapping }), request(customer.id));
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created' });
    expect(ipaas.customers()).toEqual([
      expect.objectContaining({ firstName: 'Robert', lastName: 'Townes', company: 'Contoso Ltd', comment: 'Synced from Business Central' }),
    ]);
  });

  test('a formula failing for one customer is a final MappingFailed transfer: nothing written, nothing thrown, the next customer transfers', async () => {
    const mapping = mappingWith([{ type: 'Formula', expression: '$string($number(No) + 1)', destination: 'Comment' }]);
    const deps = syncDependencies(config, storage, { mapping });
    const bad = person({ number: 'C-100' });
    const good = person({ number: '10001', email: 'other@contoso.example' });
    const failed = await syncCustomer(deps, request(bad.id));
    expect(failed).toMatchObject({ status: 'Failed', errorCode: 'MappingFailed', customerNumber: 'C-100' });
    expect(failed.errorMessage).toContain('fields[3].expression failed for this customer');
    expect(ipaas.requests.total).toBe(0);
    expect(await syncCustomer(deps, request(good.id))).toMatchObject({ status: 'Succeeded', action: 'Created' });
    expect(ipaas.customers()).toEqual([expect.objectContaining({ customerNumber: '10001', comment: '10002' })]);
  });

  test('after a mapping change the next sync of an unchanged customer writes the new values', async () => {
    const customer = person();
    const before = syncDependencies(config, storage);
    expect(await syncCustomer(before, request(customer.id))).toMatchObject({ action: 'Created' });
    expect(await syncCustomer(before, request(customer.id))).toMatchObject({ status: 'Skipped', action: 'Unchanged' });

    const after = syncDependencies(config, storage, { mapping: mappingWith([{ type: 'Static', value: 'Key account', destination: 'Comment' }]) });
    expect(await syncCustomer(after, request(customer.id))).toMatchObject({ status: 'Succeeded', action: 'Updated' });
    expect(ipaas.customers()).toEqual([expect.objectContaining({ firstName: 'Robert Townes', comment: 'Key account' })]);
    expect(await syncCustomer(after, request(customer.id))).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
  });
});
