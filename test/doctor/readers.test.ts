import { bcCustomerSchema } from '../../shared/businessCentral/types';
import { entityType, judgeMetadata, parseEdmx } from '../../shared/doctor/metadata';
import { parameterCount, readApiDescription, sameShape, type ApiDescription } from '../../shared/doctor/openapi';
import { compileMapping, defaultCustomerMapping, mappingSources, normalizeCustomer, SEED_FIELD_PROPERTIES, type SeedCustomer } from '../../shared/mapping';
import { edmx } from '../../dev/fakes/businessCentral/metadata';
import { CUSTOMER_ENTITY } from '../../dev/fakes/businessCentral/customerStore';

/** The doctor's readers of API descriptions and $metadata, and the table that maps the mapping's names to Business Central's. */

const read = (json: unknown, service = 'customers'): ApiDescription => {
  const result = readApiDescription(service, json);
  if ('problem' in result) throw new Error(result.problem);
  return result;
};

describe('readApiDescription', () => {
  test('OpenAPI 3: requestBody and the first 2xx reply through $ref and allOf; paths under the service', () => {
    const description = read({
      openapi: '3.0.1',
      paths: {
        '/v2/Customer/{customerId}': {
          parameters: [{ $ref: '#/components/parameters/Id' }],
          put: {
            requestBody: { $ref: '#/components/requestBodies/Customer' },
            responses: { 400: { description: 'bad' }, 200: { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: { $ref: '#/components/schemas/Reply' } } } } },
          },
        },
      },
      components: {
        parameters: { Id: { name: 'customerId', in: 'path', required: true } },
        requestBodies: { Customer: { content: { 'application/*+json': { schema: { $ref: '#/components/schemas/Request' } } } } },
        schemas: {
          Request: { type: 'object', required: ['customer_number'], properties: { customer_number: { type: 'string' }, first_name: { type: 'string' } } },
          Reply: { allOf: [{ $ref: '#/components/schemas/Request' }, { properties: { id: { type: 'integer' } } }] },
        },
      },
    });
    const [operation] = description.operations;
    expect(operation).toMatchObject({ method: 'PUT', path: '/customers/v2/Customer/{customerId}' });
    expect([...operation!.request!.properties.keys()]).toEqual(['customer_number', 'first_name']);
    expect([...operation!.request!.required]).toEqual(['customer_number']);
    expect(operation!.reply!.kind).toBe('object');
    expect([...operation!.reply!.properties.keys()].sort()).toEqual(['customer_number', 'first_name', 'id']);
    expect(description.version).toBe('OpenAPI 3.0.1');
  });

  test('Swagger 2.0: the body parameter, definitions, a basePath, query parameters, list replies', () => {
    const description = read(
      {
        swagger: '2.0',
        basePath: '/subscriptions',
        paths: { '/v2/Subscriptions': { get: { parameters: [{ name: 'pageNumber', in: 'query', type: 'integer' }], responses: { 200: { schema: { type: 'array', items: { $ref: '#/definitions/S' } } } } } } },
        definitions: { S: { type: 'object', properties: { id: { type: 'integer', format: 'int64' }, type: { type: 'integer', format: 'int64' }, name: { type: 'string' } } } },
      },
      'subscriptions',
    );
    const [operation] = description.operations;
    expect(operation).toMatchObject({ method: 'GET', path: '/subscriptions/v2/Subscriptions', query: ['pageNumber'] });
    expect(operation!.reply!.kind).toBe('array');
    expect([...operation!.reply!.items!.properties.keys()]).toEqual(['id', 'type', 'name']);
  });

  test('references that loop or lead nowhere are unknown schemas, never a crash; a document without paths is refused', () => {
    const description = read({
      openapi: '3.0.0',
      paths: { '/v2/A': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Loop' } } } }, responses: { 201: { content: { 'application/json': { schema: { $ref: '#/nowhere' } } } } } } } },
      components: { schemas: { Loop: { $ref: '#/components/schemas/Loop' } } },
    });
    expect(description.operations[0]!.request!.unknown).toBe(true);
    expect(description.operations[0]!.reply!.unknown).toBe(true);
    expect(readApiDescription('customers', { openapi: '3.0.0' })).toEqual({ problem: expect.stringContaining('paths') });
    expect(readApiDescription('customers', '<html>')).toEqual({ problem: expect.any(String) });
    expect(readApiDescription('customers', { paths: {} })).toEqual({ problem: expect.stringContaining('neither') });
  });

  test('a self-referencing model (a customer with child customers) is walked lazily', () => {
    const description = read({
      openapi: '3.0.1',
      paths: { '/v2/Customer': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/C' } } } }, responses: {} } } },
      components: { schemas: { C: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/C' } }, name: { type: 'string' } } } } },
    });
    const request = description.operations[0]!.request!;
    expect(request.properties.get('children')!.items!.properties.get('children')!.items!.properties.has('name')).toBe(true);
  });

  test('path shapes ignore parameter names and case', () => {
    expect(sameShape('/customers/v2/Customer/{id}', '/customers/v2/customer/{customerId}')).toBe(true);
    expect(sameShape('/customers/v2/Customer/{id}/Address', '/customers/v2/Customer/{id}/Addresses')).toBe(false);
    expect(parameterCount('/customers/v2/External/LookupExternal/{a}/{b}/{c}')).toBe(3);
  });
});

describe('$metadata', () => {
  test('the fake environment parses into its entity types and sets', () => {
    const model = parseEdmx(edmx(CUSTOMER_ENTITY));
    expect(entityType(model, 'customer')?.properties.has('displayName')).toBe(true);
    expect(model.entitySets.get('subscriptions')).toBe('subscription');
    expect(judgeMetadata(model, defaultCustomerMapping(), true).status).toBe('pass');
  });

  test('a formula entry names the properties its expression reads', () => {
    const mapping = compileMapping(
      {
        name: 'm',
        filter: 'Type = "Person"',
        fields: [
          { type: 'Field', source: 'No', destination: 'CustomerNumber', required: true },
          { type: 'Formula', expression: '$uppercase(Name) & " " & Blocked', destination: 'FirstName' },
          { type: 'Field', source: 'EMail', destination: 'EmailAddress', required: true },
        ],
      },
      'm.json',
    );
    expect(mappingSources(mapping)).toEqual([
      { entry: 'filter', sources: ['Type'], properties: ['type'] },
      { entry: 'fields[0]', sources: ['No'], properties: ['number'] },
      { entry: 'fields[1]', sources: ['Name', 'Blocked'], properties: ['displayName', 'blocked'] },
      { entry: 'fields[2]', sources: ['EMail'], properties: ['email'] },
    ]);
    const verdict = judgeMetadata(parseEdmx(edmx(CUSTOMER_ENTITY, { omit: ['blocked'] })), mapping, true);
    expect(verdict).toMatchObject({ status: 'fail', detail: expect.stringContaining('mapping fields[1] (Name, Blocked) reads blocked') });
  });

  test('a document that is no EDMX is an error, not an empty model', () => {
    expect(() => parseEdmx('{"value":[]}')).toThrow(/not an EDMX document/u);
  });
});

test('SEED_FIELD_PROPERTIES is what normalizeCustomer reads: changing exactly those properties changes the field', () => {
  const entity = bcCustomerSchema.parse({
    id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', number: '10000', displayName: 'Robert', type: 'Person', email: 'r@contoso.example', addressLine1: 'a1',
    addressLine2: 'a2', city: 'c', state: 's', country: 'US', postalCode: 'p', phoneNumber: '1', blocked: ' ', lastModifiedDateTime: '2026-11-25T00:00:00Z',
  });
  const seedValue = (customer: SeedCustomer, field: string): unknown => (field in customer ? customer[field as keyof SeedCustomer] : customer.Addresses[0]?.[field as keyof SeedCustomer['Addresses'][number]]);
  const before = normalizeCustomer(entity);
  for (const [field, properties] of Object.entries(SEED_FIELD_PROPERTIES)) {
    for (const property of Object.keys(entity).filter((key) => key !== 'id')) {
      const emptied = field === 'SourceTypeName' ? Object.fromEntries(properties.map((name) => [name, ''])) : { [property]: property === 'id' ? entity.id : 'x-changed' };
      const after = normalizeCustomer({ ...entity, ...emptied });
      const changed = seedValue(after, field) !== seedValue(before, field);
      if (field === 'SourceTypeName') {
        expect(changed).toBe(true);
        break;
      }
      expect([field, property, changed]).toEqual([field, property, properties.includes(property)]);
    }
  }
});
