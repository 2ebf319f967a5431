import { FakeIpaas, FAKE_IPAAS_ADDRESS_APIS, type FakeIpaasAddressApi, type FakeIpaasDescriptionFormat } from '../../../dev/fakes/ipaas';
import { startMockServer } from '../../support/msw';

/**
 * The iPaaS.com fake serves its own API descriptions, written from its own route table: every documented operation
 * is a route it answers, in each address variant and both formats; every `$ref` resolves; no description at all is
 * a bare 404 like any unknown route. The nested variant keeps addresses in the customer's own bodies.
 */
const TOKEN = 'fake-token-0001';
const base = (api: FakeIpaasAddressApi, format: FakeIpaasDescriptionFormat): string => `https://api.${api}-${format}.ipaas.test`;
const fakes = new Map<string, FakeIpaas>();
for (const api of FAKE_IPAAS_ADDRESS_APIS) {
  for (const format of ['openapi3', 'swagger2', 'none'] as const) fakes.set(base(api, format), new FakeIpaas({ apiBaseUrl: base(api, format), apiToken: TOKEN, addressApi: api, description: format }));
}
startMockServer(...[...fakes.values()].flatMap((fake) => fake.handlers));
const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

type Json = Record<string, unknown>;
async function description(url: string, service: string): Promise<Json> {
  const response = await fetch(`${url}/${service}/swagger/v2/swagger.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refs(item, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}
function resolve(document: Json, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Json)[key] : undefined), document);
}

/** Every operation of a description as [method, full path]; `{param}` filled with an existing record's id. */
function operations(document: Json, service: string): Array<[string, string]> {
  const prefix = typeof document.basePath === 'string' ? document.basePath : `/${service}`;
  return Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) => Object.keys(item).map((method) => [method.toUpperCase(), `${prefix}${path}`] as [string, string]));
}

describe.each(FAKE_IPAAS_ADDRESS_APIS.flatMap((api) => (['openapi3', 'swagger2'] as const).map((format) => [api, format] as const)))('%s addresses, %s', (api, format) => {
  const url = base(api, format);
  const fake = fakes.get(url)!;

  test('each service describes itself in its format, paths relative to the service, every $ref resolving', async () => {
    for (const service of ['customers', 'subscriptions']) {
      const document = await description(url, service);
      if (format === 'openapi3') {
        expect(document.openapi).toBe('3.0.1');
        expect(document).toHaveProperty('components.schemas');
      } else {
        expect(document.swagger).toBe('2.0');
        expect(document.basePath).toBe(`/${service}`);
        expect(document).toHaveProperty('definitions');
      }
      const paths = Object.keys(document.paths as Json);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) expect(path).toMatch(/^\/v2\//u);
      for (const ref of refs(document)) expect(resolve(document, ref)).toBeDefined();
    }
  });

  test('every documented operation is a route the fake answers (never a bare 404 or a 405)', async () => {
    fake.reset();
    const customer = fake.seedCustomer({ customerNumber: 'C-1', emailAddress: 'a@contoso.example' });
    const values: Record<string, string> = { customerId: customer.id, internalId: customer.id, systemId: '1207', tableName: 'customer', externalId: 'C-1' };
    for (const service of ['customers', 'subscriptions']) {
      const document = await description(url, service);
      for (const [method, path] of operations(document, service)) {
        const filled = path.replace(/\{(\w+)\}/gu, (_match, name: string) => values[name] ?? '1');
        const response = await fetch(`${url}${filled}`, { method, headers: auth, ...(method === 'GET' ? {} : { body: '{}' }) });
        // A 404 with an NFND body is an answer of the route (nothing linked); a bare one would be no route.
        const body = await response.text();
        const label = `${method} ${path} → ${response.status}${body === '' ? ' (bare)' : ''}`;
        expect(label).not.toMatch(/→ (404 \(bare\)|405)/u);
      }
    }
  });

  test('the address operations are those of the variant', async () => {
    const document = await description(url, 'customers');
    const ops = operations(document, 'customers').map(([method, path]) => `${method} ${path}`);
    const expected: Record<FakeIpaasAddressApi, string[]> = {
      separate: ['GET /customers/v2/Customer/{customerId}/Addresses', 'POST /customers/v2/Customer/{customerId}/Address'],
      elsewhere: ['GET /customers/v2/Customer/{customerId}/Addresses', 'POST /customers/v2/Customer/{customerId}/Addresses'],
      nested: [],
      none: [],
    };
    expect(ops.filter((op) => /Address/u.test(op)).sort()).toEqual(expected[api].sort());
    const schemas = (format === 'openapi3' ? (document.components as Json).schemas : document.definitions) as Record<string, { properties?: Json }>;
    expect(Object.hasOwn(schemas.CustomerRequest?.properties ?? {}, 'addresses')).toBe(api === 'nested');
  });
});

test('no description: the swagger path is a bare 404 like any unknown route, and the API still answers', async () => {
  const url = base('separate', 'none');
  const response = await fetch(`${url}/customers/swagger/v2/swagger.json`);
  expect(response.status).toBe(404);
  expect(await response.text()).toBe('');
  expect((await fetch(`${url}/subscriptions/v2/Subscriptions`, { headers: auth })).status).toBe(200);
});

describe('nested addresses in the customer bodies', () => {
  const url = base('nested', 'openapi3');
  const fake = fakes.get(url)!;
  const send = (method: string, path: string, body: unknown) => fetch(`${url}${path}`, { method, headers: auth, body: JSON.stringify(body) });
  const customer = { customer_number: 'C-1', email_address: 'a@contoso.example', first_name: 'A' };
  const address = (city: string) => ({ address_1: '1 Main St', city, country: 'US' });

  beforeEach(() => fake.reset());

  test('a create takes the collection; the reply and every GET carry it', async () => {
    const created = (await (await send('POST', '/customers/v2/Customer', { ...customer, addresses: [address('Atlanta')] })).json()) as { id: number; addresses: Array<{ id: number; city: string }> };
    expect(created.addresses).toEqual([expect.objectContaining({ city: 'Atlanta', id: expect.any(Number) })]);
    const read = (await (await fetch(`${url}/customers/v2/Customer/${created.id}`, { headers: auth })).json()) as { addresses: unknown[] };
    expect(read.addresses).toHaveLength(1);
  });

  test('a PUT replaces the collection: an address sent with its id is kept, one without added, one left out removed', async () => {
    const created = (await (await send('POST', '/customers/v2/Customer', { ...customer, addresses: [address('Atlanta'), address('Macon')] })).json()) as {
      id: number;
      addresses: Array<{ id: number; city: string }>;
    };
    const [atlanta] = created.addresses;
    const response = await send('PUT', `/customers/v2/Customer/${created.id}`, { ...customer, addresses: [atlanta, address('Savannah')] });
    expect(response.status).toBe(200);
    expect(fake.addresses(String(created.id)).map((row) => [row.id, row.city])).toEqual([
      [String(atlanta!.id), 'Atlanta'],
      [expect.any(String), 'Savannah'],
    ]);
    // Without the collection the customer keeps none: a client must send the whole collection it wants.
    await send('PUT', `/customers/v2/Customer/${created.id}`, customer);
    expect(fake.addresses(String(created.id))).toEqual([]);
  });

  test("an address id of another customer is refused; the separate variant refuses a collection as an unknown field", async () => {
    const first = (await (await send('POST', '/customers/v2/Customer', { ...customer, addresses: [address('Atlanta')] })).json()) as { id: number; addresses: Array<{ id: number }> };
    const second = (await (await send('POST', '/customers/v2/Customer', { ...customer, customer_number: 'C-2' })).json()) as { id: number };
    const stolen = await send('PUT', `/customers/v2/Customer/${second.id}`, { ...customer, customer_number: 'C-2', addresses: [first.addresses[0]] });
    expect(stolen.status).toBe(422);
    expect(await stolen.json()).toEqual({ errors: [{ code: 'VALD-1006', message: expect.stringContaining('does not belong') }] });
    const separate = base('separate', 'openapi3');
    const refused = await fetch(`${separate}/customers/v2/Customer`, { method: 'POST', headers: auth, body: JSON.stringify({ ...customer, addresses: [address('Atlanta')] }) });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toContain('unknown field(s) addresses');
  });
});
