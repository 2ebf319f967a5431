import {
  addressesToAdd,
  applyCustomerMapping,
  defaultCustomerMapping,
  isValidEmail,
  mapAddresses,
  mapCustomer,
  normalizeCustomer,
  payloadHash,
  validateCustomer,
} from '../../shared/mapping';
import { bcCustomerEntity } from '../support/fixtures';

const entity = bcCustomerEntity;

// Removing a rule of the mapping collection turns these red (tried, see the list in test/sync/syncCustomer.test.ts):
// the filter → 'type "Company" is filtered out'; a field row → 'No → CustomerNumber, Name → FirstName, EMail → EmailAddress'
// and 'the field table is exactly the seed table'; PreventDuplicate → 'an address the customer already has is not added
// again'; the ParentOnly child filter → 'a ParentOnly address is not sent'.
describe('normalization to the seed-shaped record', () => {
  test('maps API v2.0 names to Customer-table names', () => {
    const customer = normalizeCustomer(entity());
    expect(customer).toMatchObject({
      Id: 'f2a5738a-44e3-ea11-bb43-000d3a2feca1',
      No: '10000',
      Name: 'Robert Townes',
      Type: 'Person',
      RecordType: 'Customer',
      EMail: 'robert.townes@contoso.com',
    });
    expect(customer.Addresses).toEqual([
      {
        SourceTypeName: 'Customer',
        Address: '192 Market Square',
        'Address 2': '',
        City: 'Atlanta',
        County: 'GA',
        CountryRegionCode: 'US',
        PostCode: '31772',
        PhoneNo: '',
      },
    ]);
  });

  test('an address whose fields are all empty is ParentOnly', () => {
    const customer = normalizeCustomer(
      entity({ addressLine1: '', addressLine2: '', city: '', state: '', country: '', postalCode: '', phoneNumber: '' }),
    );
    expect(customer.Addresses[0]?.SourceTypeName).toBe('ParentOnly');
  });

  test('a phone number alone makes the address a real one', () => {
    const customer = normalizeCustomer(
      entity({ addressLine1: '', addressLine2: '', city: '', state: '', country: '', postalCode: '', phoneNumber: '+1 555 0100' }),
    );
    expect(customer.Addresses[0]?.SourceTypeName).toBe('Customer');
  });

  test('surrounding white space is trimmed', () => {
    const customer = normalizeCustomer(entity({ number: ' 10000 ', email: ' robert.townes@contoso.com\t' }));
    expect(customer.No).toBe('10000');
    expect(customer.EMail).toBe('robert.townes@contoso.com');
  });
});

describe('mapping filter Type == "Person" && RecordType == "Customer"', () => {
  test('a Person customer passes', () => {
    expect(applyCustomerMapping(entity()).kind).toBe('mapped');
  });
  test.each(['Company', 'person', ''])('type %p is filtered out', (type) => {
    const outcome = applyCustomerMapping(entity({ type }));
    expect(outcome.kind).toBe('filtered');
  });
  test('the filters are the seed\'s, in JSONata', () => {
    const mapping = defaultCustomerMapping();
    expect(mapping.filter.text).toBe('Type = "Person" and RecordType = "Customer"');
    expect(mapping.addresses?.filter.text).toBe('SourceTypeName != "ParentOnly"');
    expect(mapping.addresses?.preventDuplicate).toBe(true);
  });
  test('the filtered reason names the filter and the type', () => {
    const outcome = applyCustomerMapping(entity({ type: 'Company' }));
    expect(outcome.kind === 'filtered' && outcome.reason).toBe('Mapping filter Type = "Person" and RecordType = "Customer" is false (Type is "Company")');
  });
});

describe('field mappings', () => {
  test('No → CustomerNumber, Name → FirstName, EMail → EmailAddress', () => {
    expect(mapCustomer(normalizeCustomer(entity()))).toEqual({
      customerNumber: '10000',
      firstName: 'Robert Townes',
      emailAddress: 'robert.townes@contoso.com',
    });
  });

  test('the field table is exactly the seed table', () => {
    const mapping = defaultCustomerMapping();
    const describe = (entry: (typeof mapping.fields)[number] | NonNullable<typeof mapping.addresses>['fields'][number]): string =>
      `${entry.type === 'Field' ? entry.source : entry.type}→${entry.destination}${entry.required ? ' (required)' : ''}`;
    expect(mapping.fields.map(describe)).toEqual([
      'No→CustomerNumber (required)',
      'Name→FirstName (required)',
      'EMail→EmailAddress (required)',
    ]);
    expect(mapping.addresses?.fields.map(describe)).toEqual([
      'Address→Address1',
      'Address 2→Address2',
      'City→City',
      'County→Region',
      'CountryRegionCode→Country',
      'PostCode→PostalCode',
      'PhoneNo→PhoneNumber',
    ]);
  });

  test('address child collection maps all seven fields', () => {
    expect(mapAddresses(normalizeCustomer(entity({ addressLine2: 'Suite 5', phoneNumber: '555-0100' })))).toEqual([
      {
        address1: '192 Market Square',
        address2: 'Suite 5',
        city: 'Atlanta',
        region: 'GA',
        country: 'US',
        postalCode: '31772',
        phoneNumber: '555-0100',
        isPrimaryBilling: true,
        isPrimaryShipping: true,
      },
    ]);
  });

  test('a ParentOnly address is not sent', () => {
    const blank = entity({ addressLine1: '', addressLine2: '', city: '', state: '', country: '', postalCode: '', phoneNumber: '' });
    const outcome = applyCustomerMapping(blank);
    expect(outcome.kind === 'mapped' && outcome.addresses).toEqual([]);
  });
});

describe('validation rules', () => {
  test.each([
    [{ number: '' }, 'MissingCustomerNumber'],
    [{ displayName: '  ' }, 'MissingName'],
    [{ email: '' }, 'MissingEmail'],
    [{ email: 'not-an-email' }, 'InvalidEmail'],
    [{ email: 'robert@contoso' }, 'InvalidEmail'],
    [{ email: 'Robert <robert@contoso.com>' }, 'InvalidEmail'],
  ])('%p fails with %s', (overrides, code) => {
    const outcome = applyCustomerMapping(entity(overrides));
    expect(outcome.kind).toBe('invalid');
    expect(outcome.kind === 'invalid' && outcome.problems[0]?.code).toBe(code);
  });

  test('every problem is reported, in checklist order', () => {
    const problems = validateCustomer(normalizeCustomer(entity({ number: '', displayName: '', email: '' })));
    expect(problems.map((problem) => problem.code)).toEqual(['MissingCustomerNumber', 'MissingName', 'MissingEmail']);
  });

  test('problem messages carry no personal data', () => {
    const problems = validateCustomer(normalizeCustomer(entity({ email: 'robert.townes@contoso' })));
    expect(JSON.stringify(problems)).not.toContain('robert');
  });
});

describe('email format', () => {
  test.each([
    'a@b.co',
    'first.last+tag@sub.example.co.uk',
    'x@example.museum',
    'x@example.photography',
    'user@bücher.de',
    'user@xn--bcher-kva.de',
    'üser@example.com',
    'o\'brien@example.ie',
  ])('accepts %s', (email) => expect(isValidEmail(email)).toBe(true));

  test.each(['a@b', 'a@@b.com', 'a b@c.com', 'Robert <r@c.com>', 'a@-b.com', '.a@b.com', 'a..b@c.com', 'a@[127.0.0.1]', 'a@b.c', `${'x'.repeat(65)}@a.com`, ''])(
    'rejects %p',
    (email) => expect(isValidEmail(email)).toBe(false),
  );
});

describe('PreventDuplicate', () => {
  const [address] = mapAddresses(normalizeCustomer(entity()));
  test('an address the customer already has is not added again', () => {
    expect(addressesToAdd([address!], [{ ...address!, city: 'ATLANTA ', isPrimaryBilling: false }])).toEqual([]);
  });
  test('a different address is added', () => {
    expect(addressesToAdd([address!], [{ ...address!, postalCode: '30301' }])).toEqual([address]);
  });
});

describe('payload hash', () => {
  test('is stable and changes with any mapped value', () => {
    const customer = normalizeCustomer(entity());
    const base = payloadHash(mapCustomer(customer), mapAddresses(customer));
    expect(payloadHash(mapCustomer(customer), mapAddresses(customer))).toBe(base);
    const moved = normalizeCustomer(entity({ city: 'Savannah' }));
    expect(payloadHash(mapCustomer(moved), mapAddresses(moved))).not.toBe(base);
  });
  test('ignores fields that are not mapped', () => {
    const a = applyCustomerMapping(entity());
    const b = applyCustomerMapping(entity({ lastModifiedDateTime: '2026-11-26T00:00:00Z', blocked: 'All' }));
    expect(a.kind === 'mapped' && b.kind === 'mapped' && a.hash === b.hash).toBe(true);
  });
});

describe('Unicode', () => {
  test.each(['jo\u200Bhn@example.com', '\u202Euser@example.com', 'user@ex\u00ADample.com', '\uFEFFa@b.co'])('an invisible character makes %j invalid', (email) => {
    expect(isValidEmail(email)).toBe(false);
  });
  test('names and emails are compared in NFC', () => {
    const decomposed = normalizeCustomer(entity({ displayName: 'Jose\u0301', email: 'jose\u0301@example.com' }));
    expect(decomposed.Name).toBe('Jos\u00e9');
    expect(decomposed.EMail).toBe('jos\u00e9@example.com');
  });
});
