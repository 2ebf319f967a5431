import { http, HttpResponse } from 'msw';
import { FAKE_IPAAS_ROUTES, FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { createIpaasClient, type IpaasClientOptions } from '../../shared/ipaas/client';
import type { IpaasAddressInput } from '../../shared/ipaas/types';
import { startMockServer } from '../support/msw';

const config = loadConfig(process.env);
const fake = new FakeIpaas(config.ipaas);
const server = startMockServer(...fake.handlers);
/**
 * The documented paths as msw patterns: the fake's own route table (written from the API notes, never from the
 * client), so a client that builds a wrong URL finds no stub and fails.
 */
const IPAAS_PATHS = {
  searchCustomers: FAKE_IPAAS_ROUTES.customers,
  customer: FAKE_IPAAS_ROUTES.customer,
  createCustomer: FAKE_IPAAS_ROUTES.createCustomer,
  customerAddresses: FAKE_IPAAS_ROUTES.addresses,
  addCustomerAddress: FAKE_IPAAS_ROUTES.address,
  updateExternalId: FAKE_IPAAS_ROUTES.updateExternalId,
} as const;
const route = (pattern: (typeof IPAAS_PATHS)[keyof typeof IPAAS_PATHS]): string => `${config.ipaas.apiBaseUrl.replace(/\/+$/u, '')}${pattern}`;

const EMAIL = 'robert.townes@contoso.com';
const TOKEN = config.ipaas.apiToken;
const BC_ID = 'f2a5738a-44e3-ea11-bb43-000d3a2feca1';

let sleep: jest.Mock<Promise<void>, [number]>;
function client(options: IpaasClientOptions = {}, ipaas = config.ipaas, httpSettings = config.http) {
  return createIpaasClient(ipaas, httpSettings, { sleep, ...options });
}

/** The error a promise rejects with, failing the test when it resolves. */
async function failure(promise: Promise<unknown>): Promise<SyncError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(SyncError);
  return outcome.error as SyncError;
}

/** Records the JSON bodies sent to a route, then lets the fake answer (a resolver returning nothing falls through). */
function captureBodies(method: 'post' | 'put', template: (typeof IPAAS_PATHS)[keyof typeof IPAAS_PATHS]): unknown[] {
  const bodies: unknown[] = [];
  server.use(
    http[method](route(template), async ({ request }) => {
      bodies.push(await request.clone().json());
      return undefined;
    }),
  );
  return bodies;
}

const address: IpaasAddressInput = {
  address1: '192 Market Square',
  address2: '',
  city: 'Atlanta',
  region: 'GA',
  country: 'US',
  postalCode: '31772',
  phoneNumber: '',
  isPrimaryBilling: true,
  isPrimaryShipping: true,
};

beforeEach(() => {
  fake.reset();
  sleep = jest.fn((_ms: number) => Promise.resolve());
});
afterEach(() => server.resetHandlers());

describe('search', () => {
  test('by email: exact match, plus-addressing survives, case does not matter', async () => {
    const plus = fake.seedCustomer({ customerNumber: '1', firstName: 'Rob', emailAddress: 'Robert.Townes+shop@Contoso.com' });
    fake.seedCustomer({ customerNumber: '2', emailAddress: EMAIL });
    fake.seedCustomer({ customerNumber: '3', emailAddress: 'robert.townes shop@contoso.com' });

    const found = await client().findCustomersByEmail('robert.townes+shop@contoso.com');
    expect(found).toEqual([
      { id: plus.id, customerNumber: '1', firstName: 'Rob', lastName: '', emailAddress: 'Robert.Townes+shop@Contoso.com', company: '', comment: '' },
    ]);
    expect(await client().findCustomersByEmail(EMAIL)).toEqual([expect.objectContaining({ customerNumber: '2' })]);
    expect(await client().findCustomersByEmail('nobody@contoso.com')).toEqual([]);
    expect(fake.requests.searchByEmail).toBe(3);
  });

  test('a blank filter matches nobody and sends nothing', async () => {
    fake.seedCustomer({ customerNumber: '1', emailAddress: '' });
    expect(await client().findCustomersByEmail('  ')).toEqual([]);
    expect(await client().findCustomersByNumber('')).toEqual([]);
    expect(fake.requests.total).toBe(0);
  });

  test('follows pageNumber across several pages', async () => {
    for (let index = 0; index < 120; index += 1) fake.seedCustomer({ customerNumber: `P${index}`, emailAddress: 'shared@contoso.com' });
    fake.seedCustomer({ customerNumber: 'other', emailAddress: 'other@contoso.com' });
    const found = await client().findCustomersByEmail('shared@contoso.com');
    expect(found).toHaveLength(120);
    expect(new Set(found.map((customer) => customer.customerNumber)).size).toBe(120);
    expect(fake.requests.searchByEmail).toBe(3);
  });

  test('stops with a clear final error when the service ignores pageNumber or pages never end', async () => {
    server.use(
      http.get(route(IPAAS_PATHS.searchCustomers), () =>
        HttpResponse.json([{ id: 1, customer_number: '1' }], { headers: { 'X-Pagination': JSON.stringify({ current_Page: 1, total_Pages: 3 }) } }),
      ),
    );
    const ignored = await failure(client().findCustomersByEmail(EMAIL));
    expect(ignored).toMatchObject({ code: 'IpaasRejected', transient: false });
    expect(ignored.message).toMatch(/page 1 when page 2/u);

    server.resetHandlers();
    for (let index = 0; index < 120; index += 1) fake.seedCustomer({ customerNumber: `P${index}`, emailAddress: EMAIL });
    const capped = await failure(client({ maxPages: 2 }).findCustomersByEmail(EMAIL));
    expect(capped.message).toMatch(/more than the 2/u);
  });

  test('an unreadable X-Pagination header is a final error, not a silent single page', async () => {
    server.use(http.get(route(IPAAS_PATHS.searchCustomers), () => HttpResponse.json([], { headers: { 'X-Pagination': 'page 1 of 3' } })));
    expect(await failure(client().findCustomersByEmail(EMAIL))).toMatchObject({ code: 'IpaasRejected', transient: false });
  });

  test('by number: exact', async () => {
    const owner = fake.seedCustomer({ customerNumber: '100', emailAddress: EMAIL });
    fake.seedCustomer({ customerNumber: '1000', emailAddress: EMAIL });
    expect(await client().findCustomersByNumber('100')).toEqual([expect.objectContaining({ id: owner.id, customerNumber: '100' })]);
    expect(fake.requests.searchByNumber).toBe(1);
  });

  test('404 with an NFND body is an empty result; a bare 404 is a wrong route', async () => {
    server.use(
      http.get(route(IPAAS_PATHS.searchCustomers), () =>
        HttpResponse.json({ errors: [{ code: 'NFND-1001', message: 'No customers found' }] }, { status: 404 }),
      ),
    );
    expect(await client().findCustomersByEmail(EMAIL)).toEqual([]);
    server.resetHandlers();
    server.use(http.get(route(IPAAS_PATHS.searchCustomers), () => new HttpResponse(null, { status: 404 })));
    const error = await failure(client().findCustomersByEmail(EMAIL));
    expect(error).toMatchObject({ code: 'IpaasRejected', transient: false, status: 404 });
    expect(error.message).toContain('IPAAS_PATHS searchCustomers');
  });
});

describe('paths: the client follows IPAAS_PATHS, the fake keeps its own routes', () => {
  const withPaths = (overrides: Record<string, string>) => loadConfig({ ...process.env, IPAAS_PATHS: JSON.stringify(overrides) }).ipaas;
  const input = { customerNumber: '10000', firstName: 'Robert', emailAddress: EMAIL };

  test('a client path that differs from the service is caught: every operation with a wrong path fails', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    const wrong = client({}, withPaths({
      searchCustomers: '/customers/v2/CustomerSearch',
      getCustomer: '/customers/v2/Customers/{id}',
      createCustomer: '/customers/v2/Customers',
      updateCustomer: '/customers/v2/Customer/Update/{id}',
      listAddresses: '/customers/v2/Customer/Addresses/{id}',
      addAddress: '/customers/v2/Customer/Address/{id}',
      updateExternalId: '/customer/v2/External/UpdateExternalId',
      subscriptions: '/subscriptions/v2/Subscription',
    }));
    const known = { customer, wire: { id: customer.id, customer_number: '1', email_address: EMAIL } };
    const outcomes = await Promise.allSettled([
      wrong.findCustomersByEmail(EMAIL),
      wrong.readCustomer(customer.id).then((record) => {
        if (record === null) throw new Error('a wrong GET path reads as "no such customer"');
        return record;
      }),
      wrong.createCustomer(input),
      wrong.updateCustomer(customer.id, input, known),
      wrong.listAddresses(customer.id),
      wrong.addAddress(customer.id, address),
      wrong.linkExternalId({ systemId: 1207, internalId: customer.id, externalId: '1' }),
      wrong.listSubscriptions(),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array.from({ length: 8 }, () => 'rejected'));
    expect(fake.customers()).toEqual([customer]);
  });

  test('the same calls with the documented paths (as overrides) succeed', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    const right = client({}, withPaths({ createCustomer: '/customers/v2/Customer', getCustomer: '/customers/v2/Customer/{id}' }));
    expect(await right.findCustomersByEmail(EMAIL)).toHaveLength(1);
    expect(await right.getCustomer(customer.id)).toMatchObject({ id: customer.id });
    expect(await right.createCustomer({ ...input, customerNumber: '2' })).toMatchObject({ customerNumber: '2' });
  });
});

describe('customers', () => {
  test('create sends snake_case and maps the reply to camelCase with a string id', async () => {
    const bodies = captureBodies('post', IPAAS_PATHS.createCustomer);
    const created = await client().createCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL });
    expect(bodies).toEqual([{ customer_number: '10000', first_name: 'Robert Townes', email_address: EMAIL }]);
    expect(created).toEqual({ id: expect.stringMatching(/^\d+$/u), customerNumber: '10000', firstName: 'Robert Townes', lastName: '', emailAddress: EMAIL, company: '', comment: '' });
    expect(fake.customer(created.id)).toMatchObject({ customerNumber: '10000', emailAddress: EMAIL });
  });

  test('create sends last_name, company and comment when the mapping maps them', async () => {
    const bodies = captureBodies('post', IPAAS_PATHS.createCustomer);
    const created = await client().createCustomer({ customerNumber: '10000', firstName: 'Robert', lastName: 'Townes', emailAddress: EMAIL, company: 'Contoso', comment: 'From Business Central' });
    expect(bodies).toEqual([{ customer_number: '10000', first_name: 'Robert', email_address: EMAIL, last_name: 'Townes', company: 'Contoso', comment: 'From Business Central' }]);
    expect(created).toMatchObject({ lastName: 'Townes', company: 'Contoso', comment: 'From Business Central' });
    expect(fake.customer(created.id)).toMatchObject({ lastName: 'Townes', company: 'Contoso', comment: 'From Business Central' });
  });

  test('update lays last_name, company and comment over the current record only when mapped', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '10000', firstName: 'Rob', lastName: 'Old', emailAddress: EMAIL, company: 'Contoso', comment: 'VIP' });
    const bodies = captureBodies('put', IPAAS_PATHS.customer);
    const updated = await client().updateCustomer(seeded.id, { customerNumber: '10000', firstName: 'Robert', emailAddress: EMAIL, lastName: 'Townes', comment: '' });
    expect(bodies[0]).toMatchObject({ first_name: 'Robert', last_name: 'Townes', company: 'Contoso', comment: '' });
    expect(updated).toMatchObject({ firstName: 'Robert', lastName: 'Townes', company: 'Contoso', comment: '' });
  });

  test('get maps every field; 404 is null', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '10000', firstName: 'Robert', lastName: 'Townes', emailAddress: EMAIL, company: 'Contoso', comment: 'VIP' });
    expect(await client().getCustomer(seeded.id)).toEqual({
      id: seeded.id,
      customerNumber: '10000',
      firstName: 'Robert',
      lastName: 'Townes',
      emailAddress: EMAIL,
      company: 'Contoso',
      comment: 'VIP',
    });
    expect(await client().getCustomer('999999')).toBeNull();
  });

  test('null or missing text fields become "" and digit-string ids are accepted', async () => {
    server.use(
      http.get(route(IPAAS_PATHS.customer), () => HttpResponse.json({ id: '4512', customer_number: '1', first_name: null, email_address: EMAIL })),
    );
    expect(await client().getCustomer('4512')).toEqual({ id: '4512', customerNumber: '1', firstName: '', lastName: '', emailAddress: EMAIL, company: '', comment: '' });
  });

  test('update sends the current record with our fields over it, keeping fields the sync does not own', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '10000', firstName: 'Rob', lastName: 'Townes', emailAddress: 'old@contoso.com', company: 'Contoso' });
    const bodies = captureBodies('put', IPAAS_PATHS.customer);
    const updated = await client().updateCustomer(seeded.id, { customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL });
    expect(updated).toEqual({ id: seeded.id, customerNumber: '10000', firstName: 'Robert Townes', lastName: 'Townes', emailAddress: EMAIL, company: 'Contoso', comment: '' });
    expect(bodies[0]).toMatchObject({ customer_number: '10000', first_name: 'Robert Townes', email_address: EMAIL, last_name: 'Townes', company: 'Contoso' });
    expect(bodies[0]).not.toHaveProperty('id');
    expect(bodies[0]).not.toHaveProperty('created_datetime');
    expect(fake.requests).toMatchObject({ get: 1, update: 1 });
  });

  test('readCustomer returns our view and the whole wire record as received', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '10000', firstName: 'Rob', lastName: 'Townes', emailAddress: EMAIL, comment: 'VIP' });
    const read = await client().readCustomer(seeded.id);
    expect(read?.customer).toEqual({ id: seeded.id, customerNumber: '10000', firstName: 'Rob', lastName: 'Townes', emailAddress: EMAIL, company: '', comment: 'VIP' });
    expect(read?.wire).toMatchObject({ id: Number(seeded.id), comment: 'VIP', custom_fields: [], created_datetime: expect.any(String) });
    expect(await client().readCustomer('999999')).toBeNull();
    expect(fake.requests.get).toBe(2);
  });

  test('update with the record just read sends it back without reading again', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '10000', firstName: 'Rob', lastName: 'Townes', emailAddress: 'old@contoso.com', comment: 'VIP' });
    const api = client();
    const read = await api.readCustomer(seeded.id);
    const bodies = captureBodies('put', IPAAS_PATHS.customer);
    const updated = await api.updateCustomer(seeded.id, { customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL }, read!);
    expect(updated).toMatchObject({ id: seeded.id, firstName: 'Robert Townes', lastName: 'Townes', emailAddress: EMAIL });
    expect(bodies[0]).toMatchObject({ first_name: 'Robert Townes', email_address: EMAIL, last_name: 'Townes', comment: 'VIP' });
    expect(bodies[0]).not.toHaveProperty('id');
    expect(fake.requests).toMatchObject({ get: 1, update: 1 });
    expect(fake.customer(seeded.id)?.comment).toBe('VIP');
  });

  test("update ignores a record read for another customer and reads this one's", async () => {
    const other = fake.seedCustomer({ customerNumber: '1', lastName: 'Other', emailAddress: 'other@contoso.com' });
    const mine = fake.seedCustomer({ customerNumber: '2', lastName: 'Mine', emailAddress: EMAIL });
    const api = client();
    const wrong = await api.readCustomer(other.id);
    const bodies = captureBodies('put', IPAAS_PATHS.customer);
    await api.updateCustomer(mine.id, { customerNumber: '2', firstName: 'A', emailAddress: EMAIL }, wrong!);
    expect(bodies[0]).toMatchObject({ customer_number: '2', last_name: 'Mine' });
    expect(fake.requests).toMatchObject({ get: 2, update: 1 });
    expect(fake.customer(other.id)?.customerNumber).toBe('1');
  });

  test('update of a deleted customer is null without a PUT; a 404 on the PUT itself is null too', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    fake.deleteCustomer(seeded.id);
    expect(await client().updateCustomer(seeded.id, { customerNumber: '1', firstName: 'A', emailAddress: EMAIL })).toBeNull();
    expect(fake.requests.update).toBe(0);

    const racing = fake.seedCustomer({ customerNumber: '2', emailAddress: EMAIL });
    server.use(
      http.put(route(IPAAS_PATHS.customer), () => HttpResponse.json({ errors: [{ code: 'NFND-1001', message: 'Customer was not found' }] }, { status: 404 })),
    );
    expect(await client().updateCustomer(racing.id, { customerNumber: '2', firstName: 'A', emailAddress: EMAIL })).toBeNull();

    // After a successful GET, a bare 404 on the PUT is a wrong route, not a deleted customer (which would lead to a create).
    server.resetHandlers();
    server.use(http.put(route(IPAAS_PATHS.customer), () => new HttpResponse(null, { status: 404 })));
    const error = await failure(client().updateCustomer(racing.id, { customerNumber: '2', firstName: 'A', emailAddress: EMAIL }));
    expect(error).toMatchObject({ code: 'IpaasRejected', transient: false, status: 404 });
  });

  test('a duplicate number on create is a final BIZL rejection, not retried', async () => {
    fake.seedCustomer({ customerNumber: '10000', emailAddress: 'someone.else@contoso.com' });
    const error = await failure(client().createCustomer({ customerNumber: '10000', firstName: 'Robert', emailAddress: EMAIL }));
    expect(error).toMatchObject({ code: 'IpaasRejected', transient: false, status: 409, remoteCodes: ['BIZL-1001'] });
    expect(error.message).not.toContain(EMAIL);
    expect(fake.requests.create).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(fake.customers()).toHaveLength(1);
  });

  test('a duplicate number on update is a final rejection carrying the BIZL code (the sync confirms it by reading)', async () => {
    const mine = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    fake.seedCustomer({ customerNumber: '2', emailAddress: 'b@contoso.com' });
    const error = await failure(client().updateCustomer(mine.id, { customerNumber: '2', firstName: 'A', emailAddress: EMAIL }));
    expect(error).toMatchObject({ code: 'IpaasRejected', transient: false, remoteCodes: ['BIZL-1001'] });
    expect(fake.customer(mine.id)?.customerNumber).toBe('1');
  });

  test('the single-object error shape is understood; no business rule is read from the message text', async () => {
    server.use(
      http.post(route(IPAAS_PATHS.createCustomer), () =>
        HttpResponse.json({ code: 'BIZL-2002', message: 'CustomerNumber 10000 is already in use' }, { status: 422 }),
      ),
    );
    const duplicate = await failure(client().createCustomer({ customerNumber: '10000', firstName: 'A', emailAddress: EMAIL }));
    expect(duplicate).toMatchObject({ code: 'IpaasRejected', transient: false, status: 422, remoteCodes: ['BIZL-2002'] });
    expect(duplicate.message).toContain('BIZL-2002');

    server.resetHandlers();
    server.use(
      http.post(route(IPAAS_PATHS.createCustomer), () =>
        HttpResponse.json({ code: 'BIZL-3001', message: 'Customer limit of the subscription reached' }, { status: 409 }),
      ),
    );
    const other = await failure(client().createCustomer({ customerNumber: '10000', firstName: 'A', emailAddress: EMAIL }));
    expect(other).toMatchObject({ code: 'IpaasRejected', transient: false, remoteCodes: ['BIZL-3001'] });
    expect(other.message).toContain('BIZL-3001');
  });

  test('concurrent failures are classified by their own error bodies', async () => {
    fake.seedCustomer({ customerNumber: '1', emailAddress: 'taken@contoso.com' });
    fake.faults.latencyMs = 5;
    const api = client();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        index % 2 === 0
          ? api.createCustomer({ customerNumber: '1', firstName: 'A', emailAddress: EMAIL })
          : api.createCustomer({ customerNumber: `n${index}`, firstName: 'A', emailAddress: 'not-an-email' }),
      ),
    );
    const codes = outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as SyncError).remoteCodes.join() : 'ok'));
    expect(codes).toEqual(Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? 'BIZL-1001' : 'VALD-1004')));
  });

  test('a VALD rejection is final IpaasRejected and its message never carries the email or the token', async () => {
    server.use(
      http.post(route(IPAAS_PATHS.createCustomer), () =>
        HttpResponse.json(
          { errors: [{ code: 'VALD-1004', message: `email_address ${EMAIL} is not valid for key ${TOKEN} (Bearer ${TOKEN})` }] },
          { status: 422 },
        ),
      ),
    );
    const error = await failure(client().createCustomer({ customerNumber: '1', firstName: 'A', emailAddress: EMAIL }));
    expect(error).toMatchObject({ code: 'IpaasRejected', transient: false, status: 422 });
    expect(error.message).toContain('VALD-1004');
    expect(error.message).not.toContain(EMAIL);
    expect(error.message).not.toContain(TOKEN);
  });

  test('INTL in the body is transient whatever the status', async () => {
    server.use(
      http.post(route(IPAAS_PATHS.createCustomer), () =>
        HttpResponse.json({ errors: [{ code: 'INTL-1000', message: 'Unexpected error' }] }, { status: 400 }),
      ),
    );
    expect(await failure(client().createCustomer({ customerNumber: '1', firstName: 'A', emailAddress: EMAIL }))).toMatchObject({
      code: 'IpaasUnavailable',
      transient: true,
    });
  });
});

describe('addresses', () => {
  test('add sends snake_case and maps the created address; list returns them', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    const bodies = captureBodies('post', IPAAS_PATHS.addCustomerAddress);
    const added = await client().addAddress(customer.id, address);
    expect(bodies).toEqual([
      {
        address_1: '192 Market Square',
        address_2: '',
        city: 'Atlanta',
        region: 'GA',
        country: 'US',
        postal_code: '31772',
        phone_number: '',
        is_primary_billing: true,
        is_primary_shipping: true,
      },
    ]);
    expect(added).toEqual({ id: expect.stringMatching(/^\d+$/u), customerId: customer.id, ...address });
    expect(await client().listAddresses(customer.id)).toEqual([added]);
    expect(fake.addresses(customer.id)).toEqual([added]);
  });

  test('list follows pages; an unknown customer is a final error for list and add', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    for (let index = 0; index < 51; index += 1) fake.seedAddress(customer.id, { address1: `${index} Main St` });
    expect(await client().listAddresses(customer.id)).toHaveLength(51);
    expect(fake.requests.listAddresses).toBe(2);
    expect(await failure(client().listAddresses('999999'))).toMatchObject({ code: 'IpaasRejected', transient: false, status: 404 });
    expect(await failure(client().addAddress('999999', address))).toMatchObject({ code: 'IpaasRejected', transient: false, status: 404 });
  });

  test('a missing customer_id in a listed address falls back to the customer asked about', async () => {
    server.use(http.get(route(IPAAS_PATHS.customerAddresses), () => HttpResponse.json([{ id: 981, address_1: 'A', is_primary_billing: null }])));
    expect(await client().listAddresses('4512')).toEqual([
      expect.objectContaining({ id: '981', customerId: '4512', address1: 'A', city: '', isPrimaryBilling: false }),
    ]);
  });
});

describe('external ids', () => {
  test('link sends table_name customer, the integer system_id and both ids as strings', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const bodies = captureBodies('post', IPAAS_PATHS.updateExternalId);
    await client().linkExternalId({ systemId: 1207, internalId: customer.id, externalId: '10000' });
    expect(bodies).toEqual([{ table_name: 'customer', system_id: 1207, external_id: '10000', internal_id: customer.id }]);
    expect(fake.externalIds()).toEqual([{ tableName: 'customer', systemId: 1207, externalId: '10000', internalId: customer.id }]);
  });

  test('a system id that is not one of the tenant\'s subscriptions is refused with VALD; an unknown customer with NFND', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    const wrong = await failure(client().linkExternalId({ systemId: 99, internalId: customer.id, externalId: BC_ID }));
    expect(wrong).toMatchObject({ code: 'IpaasRejected', transient: false, remoteCodes: ['VALD-1017'] });
    const missing = await failure(client().linkExternalId({ systemId: 1207, internalId: '999999', externalId: BC_ID }));
    expect(missing).toMatchObject({ code: 'IpaasRejected', transient: false });
    expect(missing.message).toContain('does not exist');
    expect(fake.externalIds()).toEqual([]);
  });

  test('the subscriptions list reads id and name only: an int64 type and the other fields pass whatever they are', async () => {
    expect(await client().listSubscriptions()).toEqual([
      { id: '1207', name: 'Business Central' },
      { id: '1311', name: 'Web shop' },
    ]);
  });
});

describe('transport failures', () => {
  test('429 with Retry-After is retried after the asked delay, then succeeds', async () => {
    const seeded = fake.seedCustomer({ customerNumber: '1', emailAddress: EMAIL });
    fake.faults.add({ match: fake.matches('searchByEmail'), status: 429, retryAfterSeconds: 1, times: 1 });
    expect(await client().findCustomersByEmail(EMAIL)).toEqual([expect.objectContaining({ id: seeded.id })]);
    expect(sleep).toHaveBeenCalledTimes(1);
    expect(sleep).toHaveBeenCalledWith(1000);
    expect(fake.requests.searchByEmail).toBe(2);
  });

  test('500 INTL is transient IpaasUnavailable after the configured attempts; the message holds no email', async () => {
    fake.faults.add({ status: 500 });
    const error = await failure(client().findCustomersByEmail(EMAIL));
    expect(error).toMatchObject({ code: 'IpaasUnavailable', transient: true, status: 500 });
    expect(error.message).toContain('INTL-');
    expect(error.message).not.toContain(EMAIL);
    expect(error.message).not.toContain('contoso');
    expect(fake.requests.searchByEmail).toBe(config.http.maxAttempts);
    expect(sleep).toHaveBeenCalledTimes(config.http.maxAttempts - 1);
  });

  test('401 with a wrong token is an outage of iPaaS.com (auth, not final per customer), sent once, and names neither token', async () => {
    const wrongToken = 'wrong-token-value-0002';
    const error = await failure(client({}, { ...config.ipaas, apiToken: wrongToken }).getCustomer('4501'));
    expect(error).toMatchObject({ code: 'IpaasUnavailable', transient: true, status: 401, outage: { service: 'ipaas', kind: 'auth' } });
    expect(error.message).toContain('IPAAS_API_TOKEN');
    expect(error.message).not.toContain(wrongToken);
    expect(error.message).not.toContain(TOKEN);
    expect(fake.requests.get).toBe(1);
  });

  test('a reply of an unexpected shape is a clear error that counts against the service, not the customer', async () => {
    server.use(http.get(route(IPAAS_PATHS.searchCustomers), () => HttpResponse.json([{ customer_number: '1', email_address: EMAIL }])));
    const error = await failure(client().findCustomersByEmail(EMAIL));
    expect(error).toMatchObject({ code: 'IpaasUnavailable', transient: true, outage: { service: 'ipaas', kind: 'unavailable' } });
    expect(error.message).toMatch(/unexpected shape \(0\.id: /u);
    expect(error.message).not.toContain(EMAIL);

    server.resetHandlers();
    server.use(http.post(route(IPAAS_PATHS.createCustomer), () => new HttpResponse('<html>ok</html>', { status: 200 })));
    expect(await failure(client().createCustomer({ customerNumber: '1', firstName: 'A', emailAddress: EMAIL }))).toMatchObject({
      code: 'IpaasUnavailable',
      transient: true,
      outage: { service: 'ipaas', kind: 'unavailable' },
    });
  });

  test('requests beyond ipaasMaxConcurrent wait for a free slot', async () => {
    const customer = fake.seedCustomer({ customerNumber: '1' });
    let inFlight = 0;
    let peak = 0;
    server.use(
      http.get(route(IPAAS_PATHS.customer), async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight -= 1;
        return undefined;
      }),
    );
    const limited = client({}, config.ipaas, { ...config.http, ipaasMaxConcurrent: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, () => limited.getCustomer(customer.id)));
    expect(results.every((result) => result?.id === customer.id)).toBe(true);
    expect(peak).toBe(2);
  });

  test('onExchange sees every exchange, with URLs that encode the plus sign', async () => {
    const urls: string[] = [];
    await client({ onExchange: (exchange) => urls.push(exchange.url) }).findCustomersByEmail('a+b@contoso.com');
    expect(urls).toEqual([`${config.ipaas.apiBaseUrl}/customers/v2/Customers?action=equals&EmailAddress=a%2Bb%40contoso.com`]);
  });
});
