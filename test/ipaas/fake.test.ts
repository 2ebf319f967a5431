import { FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { startMockServer } from '../support/msw';

const { ipaas } = loadConfig(process.env);
let now = new Date('2026-11-25T08:00:01.250Z');
const fake = new FakeIpaas({ ...ipaas, pageSize: 2, clock: () => now });
startMockServer(...fake.handlers);

const base = `${ipaas.apiBaseUrl}/customers/v2`;
const auth = { Authorization: `Bearer ${ipaas.apiToken}` };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const validCustomer = { customer_number: '10000', first_name: 'Robert Townes', email_address: 'robert.townes@contoso.com' };

beforeEach(() => {
  fake.reset();
  now = new Date('2026-11-25T08:00:01.250Z');
});

describe('authentication', () => {
  test('a request without a bearer token gets 401 with an AUTH error and changes nothing', async () => {
    const reply = await call('POST', '/Customer', validCustomer, {});
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ errors: [{ code: expect.stringMatching(/^AUTH-\d{4}$/u), message: expect.any(String) }] });
    expect(fake.customers()).toHaveLength(0);
    expect(fake.requests.create).toBe(1);
  });

  test('a wrong token gets 401', async () => {
    const reply = await call('GET', '/Customers?action=equals&EmailAddress=a%40b.com', undefined, { Authorization: 'Bearer wrong-token' });
    expect(reply.status).toBe(401);
  });
});

describe('create', () => {
  test('a valid snake_case body creates a customer with a numeric id and timestamps', async () => {
    const reply = await call('POST', '/Customer', validCustomer);
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      id: expect.any(Number),
      customer_number: '10000',
      first_name: 'Robert Townes',
      last_name: '',
      email_address: 'robert.townes@contoso.com',
      external_ids: [],
      created_datetime: '2026-11-25T08:00:01Z',
      updated_datetime: '2026-11-25T08:00:01Z',
    });
    expect(fake.customers()).toEqual([expect.objectContaining({ customerNumber: '10000', emailAddress: 'robert.townes@contoso.com' })]);
  });

  test('a missing customer_number is a 422 VALD error naming the field', async () => {
    const reply = await call('POST', '/Customer', { first_name: 'A', email_address: 'a@contoso.com' });
    expect(reply.status).toBe(422);
    const [error] = (reply.body as { errors: Array<{ code: string; message: string }> }).errors;
    expect(error?.code).toMatch(/^VALD-\d{4}$/u);
    expect(error?.message).toContain('customer_number');
    expect(fake.customers()).toHaveLength(0);
  });

  test('a missing email_address, an unknown (camelCase) field and a bad email are rejected with 422', async () => {
    expect((await call('POST', '/Customer', { customer_number: '1', first_name: 'A' })).status).toBe(422);
    const camel = await call('POST', '/Customer', { ...validCustomer, customerNumber: '1' });
    expect(camel.status).toBe(422);
    expect(JSON.stringify(camel.body)).toContain('customerNumber');
    expect((await call('POST', '/Customer', { ...validCustomer, email_address: 'not-an-email' })).status).toBe(422);
    expect((await call('POST', '/Customer', '{not json')).status).toBe(400);
    expect(fake.customers()).toHaveLength(0);
  });

  test('a duplicate customer_number is a 409 BIZL error; a duplicate email is accepted', async () => {
    fake.seedCustomer({ customerNumber: '10000', emailAddress: 'robert.townes@contoso.com' });
    const duplicate = await call('POST', '/Customer', { ...validCustomer, email_address: 'other@contoso.com' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({ errors: [{ code: expect.stringMatching(/^BIZL-\d{4}$/u), message: expect.stringContaining('customer_number') }] });
    // The number compares like the service's SQL collation: case-insensitively.
    fake.seedCustomer({ customerNumber: 'C-1' });
    expect((await call('POST', '/Customer', { ...validCustomer, customer_number: 'c-1' })).status).toBe(409);
    const sameEmail = await call('POST', '/Customer', { ...validCustomer, customer_number: '20000' });
    expect(sameEmail.status).toBe(201);
    expect(fake.customers().filter((customer) => customer.emailAddress === validCustomer.email_address)).toHaveLength(2);
  });
});

describe('get and update', () => {
  test('unknown or non-numeric ids are 404 NFND', async () => {
    for (const path of ['/Customer/999999', '/Customer/abc']) {
      const reply = await call('GET', path);
      expect(reply.status).toBe(404);
      expect(JSON.stringify(reply.body)).toMatch(/NFND-\d{4}/u);
    }
    expect((await call('PUT', '/Customer/999999', validCustomer)).status).toBe(404);
  });

  test('PUT replaces the writable fields, keeps created_datetime and moves updated_datetime', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '1', emailAddress: 'a@contoso.com', lastName: 'Townes' });
    now = new Date('2026-11-26T09:30:00Z');
    const reply = await call('PUT', `/Customer/${seeded.id}`, { customer_number: '1', email_address: 'b@contoso.com', first_name: 'Bea' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      email_address: 'b@contoso.com',
      first_name: 'Bea',
      last_name: '',
      created_datetime: '2026-11-25T08:00:01Z',
      updated_datetime: '2026-11-26T09:30:00Z',
    });
    expect(fake.customer(seeded.id)?.lastName).toBe('');
  });

  test('PUT with a number that belongs to another customer is 409 BIZL; its own number is fine', async () => {
    const first = fake.seedCustomer({ customerNumber: '1', emailAddress: 'a@contoso.com' });
    fake.seedCustomer({ customerNumber: '2', emailAddress: 'b@contoso.com' });
    expect((await call('PUT', `/Customer/${first.id}`, { customer_number: '2', email_address: 'a@contoso.com' })).status).toBe(409);
    expect((await call('PUT', `/Customer/${first.id}`, { customer_number: '1', email_address: 'a@contoso.com', id: Number(first.id) })).status).toBe(200);
    expect((await call('PUT', `/Customer/${first.id}`, { customer_number: '1', email_address: 'a@contoso.com', id: 1 })).status).toBe(422);
  });
});

describe('search and paging', () => {
  test('equals search on email is exact but case-insensitive, and + survives only when encoded', async () => {
    const plus = fake.seedCustomer({ customerNumber: '1', emailAddress: 'Robert.Townes+shop@Contoso.com' });
    fake.seedCustomer({ customerNumber: '2', emailAddress: 'robert.townes@contoso.com' });
    const encoded = await call('GET', `/Customers?action=equals&EmailAddress=${encodeURIComponent('robert.townes+shop@contoso.com')}`);
    expect(encoded.body).toEqual([expect.objectContaining({ id: Number(plus.id) })]);
    // A raw "+" is a space in a query string, so it matches nobody.
    const raw = await call('GET', '/Customers?action=equals&EmailAddress=robert.townes+shop@contoso.com');
    expect(raw.body).toEqual([]);
    expect(fake.requests.searchByEmail).toBe(2);
  });

  test('search needs action=equals', async () => {
    expect((await call('GET', '/Customers?action=contains&EmailAddress=a%40b.com')).status).toBe(422);
    expect((await call('GET', '/Customers?CustomerNumber=1')).status).toBe(422);
  });

  test('pages with pageNumber and X-Pagination', async () => {
    for (let index = 0; index < 5; index += 1) fake.seedCustomer({ customerNumber: `N${index}`, emailAddress: 'shared@contoso.com' });
    const first = await call('GET', '/Customers?action=equals&EmailAddress=shared%40contoso.com');
    expect(first.body).toHaveLength(2);
    expect(JSON.parse(first.headers.get('X-Pagination') ?? '{}')).toMatchObject({ current_Page: 1, total_Pages: 3, total_Count: 5 });
    const last = await call('GET', '/Customers?action=equals&EmailAddress=shared%40contoso.com&pageNumber=3');
    expect(last.body).toEqual([expect.objectContaining({ customer_number: 'N4' })]);
    expect((await call('GET', '/Customers?action=equals&EmailAddress=shared%40contoso.com&pageNumber=0')).status).toBe(422);
  });

  test('search by number is exact', async () => {
    fake.seedCustomer({ customerNumber: '100' });
    fake.seedCustomer({ customerNumber: '1000' });
    const reply = await call('GET', '/Customers?action=equals&CustomerNumber=100');
    expect(reply.body).toEqual([expect.objectContaining({ customer_number: '100' })]);
    expect(fake.requests.searchByNumber).toBe(1);
  });
});

describe('addresses', () => {
  test('POST validates fields and assigns ids; the customer must exist', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const address = { address_1: '192 Market Square', city: 'Atlanta', region: 'GA', country: 'US', postal_code: '31772', is_primary_billing: true };
    const created = await call('POST', `/Customer/${customer.id}/Address`, address);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(Number), customer_id: Number(customer.id), ...address, address_2: '', is_primary_shipping: false });
    expect((await call('POST', '/Customer/999999/Address', address)).status).toBe(404);
    expect((await call('POST', `/Customer/${customer.id}/Address`, { address1: 'camel' })).status).toBe(422);
    expect((await call('POST', `/Customer/${customer.id}/Address`, { phone_number: '555' })).status).toBe(422);
    expect((await call('POST', `/Customer/${customer.id}/Address`, { ...address, is_primary_billing: 'yes' })).status).toBe(422);
    const listed = await call('GET', `/Customer/${customer.id}/Addresses`);
    expect(listed.body).toEqual([created.body]);
    expect(fake.addresses(customer.id)).toEqual([expect.objectContaining({ address1: '192 Market Square', customerId: customer.id })]);
    expect((await call('GET', '/Customer/999999/Addresses')).status).toBe(404);
  });
});

describe('external ids', () => {
  test('UpdateExternalId validates, requires the customer, upserts, and shows in the customer', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const body = { table_name: 'customer', system_id: 1207, external_id: '10000', internal_id: customer.id };
    expect((await call('POST', '/External/UpdateExternalId', body)).status).toBe(200);
    expect((await call('POST', '/External/UpdateExternalId', { ...body, external_id: 'second' })).status).toBe(200);
    expect(fake.externalIds()).toEqual([{ tableName: 'customer', systemId: 1207, externalId: 'second', internalId: customer.id }]);
    expect((await call('GET', `/Customer/${customer.id}`)).body).toMatchObject({ external_ids: [{ system_id: 1207, external_id: 'second' }] });
    expect((await call('GET', `/External/LookupExternal/${customer.id}/1207/customer`)).body).toBe('second');
    expect((await call('GET', '/External/LookupSpaceport/1207/customer/second')).body).toBe(customer.id);
    expect((await call('GET', '/External/LookupSpaceport/1207/customer/other')).status).toBe(404);
    const missing = await call('POST', '/External/UpdateExternalId', { ...body, internal_id: '999999' });
    expect(missing).toMatchObject({ status: 404, body: { errors: [{ code: 'NFND-1005' }] } });
    expect((await call('POST', '/External/UpdateExternalId', { ...body, tableName: 'customer' })).status).toBe(422);
    expect((await call('POST', '/External/UpdateExternalId', { ...body, external_id: undefined })).status).toBe(422);
  });

  test('system_id must be the integer id of one of the tenant\'s subscriptions; ids are strings', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const body = { table_name: 'customer', system_id: 1207, external_id: '10000', internal_id: customer.id };
    for (const systemId of ['BusinessCentral', '1207', 0, -3, 1.5, null]) {
      const reply = await call('POST', '/External/UpdateExternalId', { ...body, system_id: systemId });
      expect(reply).toMatchObject({ status: 422, body: { errors: [{ code: 'VALD-1023' }] } });
    }
    expect(await call('POST', '/External/UpdateExternalId', { ...body, system_id: 4242 })).toMatchObject({
      status: 422,
      body: { errors: [{ code: 'VALD-1017' }] },
    });
    expect((await call('POST', '/External/UpdateExternalId', { ...body, internal_id: Number(customer.id) })).status).toBe(422);
    expect(fake.externalIds()).toEqual([]);
  });

  test('an external id already linked to another record is a BIZL error', async () => {
    const first = fake.seedCustomer({ customerNumber: '1' });
    const second = fake.seedCustomer({ customerNumber: '2' });
    const body = { table_name: 'customer', system_id: 1207, external_id: '10000' };
    expect((await call('POST', '/External/UpdateExternalId', { ...body, internal_id: first.id })).status).toBe(200);
    expect(await call('POST', '/External/UpdateExternalId', { ...body, internal_id: second.id })).toMatchObject({
      status: 409,
      body: { errors: [{ code: 'BIZL-1003' }] },
    });
  });

  test('GET /subscriptions/v2/Subscriptions lists the tenant\'s systems', async () => {
    const response = await fetch(`${ipaas.apiBaseUrl}/subscriptions/v2/Subscriptions`, { headers: auth });
    expect(response.status).toBe(200);
    // As iPaaS.com's SubscriptionGetAllResponse: id and type are int64.
    expect(await response.json()).toEqual([
      expect.objectContaining({ id: 1207, type: 41, name: 'Business Central', description: 'Microsoft Dynamics 365 Business Central' }),
      expect.objectContaining({ id: 1311, type: 17, name: 'Web shop' }),
    ]);
  });
});

describe('faults, unknown routes and reset', () => {
  test('injected 5xx faults carry an INTL error body and are counted', async () => {
    fake.faults.add({ match: fake.matches('get'), status: 503, retryAfterSeconds: 2, times: 1 });
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const faulted = await call('GET', `/Customer/${customer.id}`);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('Retry-After')).toBe('2');
    expect(JSON.stringify(faulted.body)).toMatch(/INTL-\d{4}/u);
    expect((await call('GET', `/Customer/${customer.id}`)).status).toBe(200);
    expect(fake.requests).toMatchObject({ total: 2, get: 2 });
  });

  test('an unknown route under the base URL is a bare 404; a missing record a 404 with NFND', async () => {
    expect(await call('GET', '/Nope')).toMatchObject({ status: 404, body: undefined });
    expect(await call('GET', '/Customer/4501/Adresses')).toMatchObject({ status: 404, body: undefined });
    expect(await call('GET', '/Customer/999999')).toMatchObject({ status: 404, body: { errors: [{ code: expect.stringMatching(/^NFND-/u) }] } });
  });

  test('a known route asked with another method answers 405 and names the allowed ones', async () => {
    const onCreate = await call('GET', '/Customer');
    expect(onCreate).toMatchObject({ status: 405, body: undefined });
    expect(onCreate.headers.get('Allow')).toBe('POST');
    expect((await call('GET', '/External/UpdateExternalId')).status).toBe(405);
    expect((await call('DELETE', '/Customer/4501')).headers.get('Allow')).toBe('GET, PUT');
  });

  test('reset empties the stores, counters and faults', async () => {
    fake.seedCustomer({ customerNumber: '1' });
    fake.faults.add({ status: 500 });
    await call('GET', '/Customers');
    fake.reset();
    expect(fake.customers()).toEqual([]);
    expect(fake.requests.total).toBe(0);
    expect((await call('GET', '/Customers')).status).toBe(200);
    expect(fake.seedCustomer().id).toBe('4501');
  });

  test('seeding keeps numbers unique but allows shared emails', () => {
    fake.seedCustomer({ customerNumber: '1', emailAddress: 'same@contoso.com' });
    expect(() => fake.seedCustomer({ customerNumber: '1' })).toThrow(/exists already/u);
    expect(() => fake.seedCustomer({ customerNumber: '2', emailAddress: 'same@contoso.com' })).not.toThrow();
    expect(() => fake.seedAddress('999999')).toThrow(/no customer/u);
  });
});
