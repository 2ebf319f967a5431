import { http, HttpResponse } from 'msw';
import { SyncError } from '../../shared/errors';
import { describeBusinessCentralError } from '../../shared/businessCentral/errors';
import { startMockServer } from '../support/msw';
import { TEST_SETTINGS } from '../support/settings';
import { collect, harness, NOTIFICATION_URL, rejectionOf } from './harness';

const server = startMockServer();
const COMPANY = TEST_SETTINGS.BC_COMPANY_ID;
const CUSTOMERS_URL = `${TEST_SETTINGS.BC_API_BASE_URL}/${TEST_SETTINGS.BC_TENANT_ID}/${TEST_SETTINGS.BC_ENVIRONMENT}/api/v2.0/companies(${COMPANY})/customers`;

/** msw reads parentheses in a URL pattern as groups: match OData URLs by their text instead. */
function at(url: string) {
  return ({ request }: { request: Request }) => request.url.split('?')[0] === url;
}

function asSyncError(error: unknown): SyncError {
  expect(error).toBeInstanceOf(SyncError);
  return error as SyncError;
}

/** The decoded query parameters of a URL the fake received. */
function queryOf(url: string): Array<[string, string]> {
  return [...new URL(url).searchParams.entries()];
}

describe('getCustomer', () => {
  test('returns the customer, validated and with every field the mapping reads', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({
      displayName: 'Robert Townes',
      type: 'Person',
      email: 'robert.townes@contoso.com',
      addressLine1: '192 Market Square',
      city: 'Atlanta',
      state: 'GA',
      country: 'US',
      postalCode: '31772',
    });
    const customer = await h.client().getCustomer(stored.id);
    expect(customer).toMatchObject({
      id: stored.id,
      number: stored.number,
      displayName: 'Robert Townes',
      type: 'Person',
      email: 'robert.townes@contoso.com',
      addressLine1: '192 Market Square',
      addressLine2: '',
      lastModifiedDateTime: '2026-11-25T08:00:00.000Z',
      '@odata.etag': stored['@odata.etag'],
    });
    expect(h.bc.requests.get).toBe(1);
  });

  test('accepts an upper-case or braced id and asks for the canonical one', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({ displayName: 'A' });
    const customer = await h.client().getCustomer(`{${stored.id.toUpperCase()}}`);
    expect(customer?.id).toBe(stored.id);
    expect(h.bc.requestLog[0]?.url).toBe(`${CUSTOMERS_URL}(${stored.id})`);
  });

  test('404 (deleted or never existed) is null', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({ displayName: 'Gone' });
    h.bc.deleteCustomer(stored.id);
    await expect(h.client().getCustomer(stored.id)).resolves.toBeNull();
    expect(h.bc.requestLog[0]?.status).toBe(404);
  });

  test.each(['not-a-guid', '', '1234', "00000000-0000-0000-0000-00000000000' or 1 eq 1", '../subscriptions'])(
    'refuses the non-GUID id %j without any request',
    async (id) => {
      const h = harness(server);
      const error = asSyncError(await rejectionOf(h.client().getCustomer(id)));
      expect(error.code).toBe('BusinessCentralError');
      expect(error.transient).toBe(false);
      expect(h.bc.requests.total).toBe(0);
      expect(h.entra.requests.total).toBe(0);
    },
  );

  test('a malformed customer is a final error naming the field, not its value', async () => {
    const h = harness(server);
    const id = '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3';
    server.use(http.get(at(`${CUSTOMERS_URL}(${id})`), () => HttpResponse.json({ id, number: '10000', email: 42, displayName: 'Secret Person' })));
    const error = asSyncError(await rejectionOf(h.client().getCustomer(id)));
    expect(error.code).toBe('BusinessCentralError');
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/field 'email'/u);
    expect(error.message).not.toContain('42');
    expect(error.message).not.toContain('Secret Person');
  });

  test('a reply for another customer id is refused', async () => {
    const h = harness(server);
    const id = '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3';
    server.use(http.get(at(`${CUSTOMERS_URL}(${id})`), () => HttpResponse.json({ id: '4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc' })));
    const error = asSyncError(await rejectionOf(h.client().getCustomer(id)));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/different customer/u);
  });

  test('a wrong company (resource not found for the segment) is a final error, not a missing customer', async () => {
    const h = harness(server);
    const client = h.client({ businessCentral: { companyId: 'f64eba74-dacd-4854-a584-1834f68cfc3a' } });
    const error = asSyncError(await rejectionOf(client.getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    expect(error).toMatchObject({ code: 'BusinessCentralError', transient: false, status: 404 });
    expect(error.message).toMatch(/BC_COMPANY_ID/u);
  });
});

describe('findCustomerByNumber', () => {
  test('finds the customer with exactly that number', async () => {
    const h = harness(server);
    h.bc.upsertCustomer({ number: '10000', displayName: 'First' });
    const second = h.bc.upsertCustomer({ number: '20000', displayName: 'Second' });
    const customer = await h.client().findCustomerByNumber('20000');
    expect(customer?.id).toBe(second.id);
    expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([['$filter', "number eq '20000'"]]);
  });

  test('null when no customer has the number', async () => {
    const h = harness(server);
    h.bc.upsertCustomer({ number: '10000' });
    await expect(h.client().findCustomerByNumber('99999')).resolves.toBeNull();
    expect(h.bc.requests.list).toBe(1);
  });

  test("a number containing quotes is found through the OData '' escape", async () => {
    const h = harness(server);
    h.bc.upsertCustomer({ number: 'X' });
    const obrien = h.bc.upsertCustomer({ number: "O'BRIEN" });
    await expect(h.client().findCustomerByNumber("O'BRIEN")).resolves.toMatchObject({ id: obrien.id });
    expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([['$filter', "number eq 'O''BRIEN'"]]);
  });

  const injections = [
    "x' or 1 eq 1 or '",
    "' or number ne '",
    "10000' and type eq '",
    "'",
    "''",
    '%27',
    '%2527',
    '&$top=1',
    '10000&$filter=1',
    'a/b',
    '../customers',
    '#10000',
    '10000?x=1',
    'Ünïcødé ✓ 日本',
    'a+b c',
    '\\',
  ];

  test.each(injections)('sends %j as one string literal and returns no other customer', async (input) => {
    const h = harness(server);
    const victims = ['10000', '20000', '%27', "'"].map((number) => h.bc.upsertCustomer({ number, displayName: `Customer ${number}` }));
    const result = await h.client().findCustomerByNumber(input);
    const expected = victims.find((customer) => customer.number === input);
    expect(result?.id).toBe(expected?.id);
    expect(h.bc.requests.total).toBe(1);
    const received = h.bc.requestLog[0]!;
    expect(received.status).toBe(200);
    expect(new URL(received.url).pathname).toBe(new URL(CUSTOMERS_URL).pathname);
    expect(queryOf(received.url)).toEqual([['$filter', `number eq '${input.replaceAll("'", "''")}'`]]);
  });

  test('a number longer than Code[20] matches nothing and is not sent (Business Central would reject the filter)', async () => {
    const h = harness(server);
    h.bc.upsertCustomer({ number: '10000' });
    await expect(h.client().findCustomerByNumber("x' or 1 eq 1 or number eq '")).resolves.toBeNull();
    await expect(h.client().findCustomerByNumber('')).resolves.toBeNull();
    expect(h.bc.requests.total).toBe(0);
  });

  test('text that cannot be encoded (a lone surrogate) is refused', async () => {
    const h = harness(server);
    const error = asSyncError(await rejectionOf(h.client().findCustomerByNumber('ab\uD800')));
    expect(error.transient).toBe(false);
    expect(h.bc.requests.total).toBe(0);
  });

  test('a server that ignored the filter cannot make it return another customer', async () => {
    const h = harness(server);
    const other = h.bc.upsertCustomer({ number: '10000' });
    server.use(http.get(at(CUSTOMERS_URL), () => HttpResponse.json({ value: [h.bc.getCustomer(other.id)] })));
    await expect(h.client().findCustomerByNumber('20000')).resolves.toBeNull();
  });
});

describe('listCustomers', () => {
  test('follows @odata.nextLink with Prefer: odata.maxpagesize across 2500 customers in 3 requests', async () => {
    const h = harness(server);
    for (let index = 0; index < 2500; index += 1) h.bc.upsertCustomer({ displayName: `Customer ${index}` });
    const pages = await collect(h.client().listCustomers({ pageSize: 1000 }));
    expect(pages.map((page) => page.length)).toEqual([1000, 1000, 500]);
    const ids = new Set(pages.flat().map((customer) => customer.id));
    expect(ids.size).toBe(2500);
    expect(h.bc.requests.list).toBe(3);
    expect(h.bc.requestLog.map((request) => request.prefer)).toEqual(Array(3).fill('odata.maxpagesize=1000'));
    expect(h.bc.requestLog[1]!.url).toMatch(/\$skiptoken=/u);
  });

  test('asks for 1000 per page by default', async () => {
    const h = harness(server);
    h.bc.upsertCustomer({});
    await collect(h.client().listCustomers());
    expect(h.bc.requestLog[0]?.prefer).toBe('odata.maxpagesize=1000');
    expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([]);
  });

  test('an empty collection yields no page', async () => {
    const h = harness(server);
    await expect(collect(h.client().listCustomers())).resolves.toEqual([]);
    expect(h.bc.requests.list).toBe(1);
  });

  test('modifiedSince sends lastModifiedDateTime gt <UTC ISO> and returns only later changes', async () => {
    const h = harness(server);
    h.clock.now = new Date('2026-11-25T09:00:00.000Z');
    h.bc.upsertCustomer({ number: '10000' });
    h.clock.now = new Date('2026-11-25T11:30:00.000Z');
    const later = h.bc.upsertCustomer({ number: '20000' });
    const pages = await collect(h.client().listCustomers({ modifiedSince: '2026-11-25T12:00:00+01:00' }));
    expect(pages.flat().map((customer) => customer.id)).toEqual([later.id]);
    expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([['$filter', 'lastModifiedDateTime gt 2026-11-25T11:00:00.000Z']]);
  });

  test('an unparseable modifiedSince is refused at the call', () => {
    const h = harness(server);
    expect(() => h.client().listCustomers({ modifiedSince: "2026' or 1 eq 1" })).toThrow(SyncError);
  });

  test.each([0, -1, 1.5, 20_001])('page size %p is refused', (pageSize) => {
    const h = harness(server);
    expect(() => h.client().listCustomers({ pageSize })).toThrow(/page size/u);
  });

  describe('collection resource from a notification', () => {
    function seed(h: ReturnType<typeof harness>): { early: string; late: string } {
      h.clock.now = new Date('2026-11-25T10:00:00.000Z');
      const early = h.bc.upsertCustomer({ number: '10000' }).id;
      h.clock.now = new Date('2026-11-25T12:00:00.000Z');
      const late = h.bc.upsertCustomer({ number: '20000' }).id;
      return { early, late };
    }

    test.each([
      `/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`,
      `api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`,
      `/api/v2.0/companies(${COMPANY.toUpperCase()})/customers?$filter=lastModifiedDateTime gt 2026-11-25T11:00:00Z`,
      `${TEST_SETTINGS.BC_API_BASE_URL}/${TEST_SETTINGS.BC_TENANT_ID}/${TEST_SETTINGS.BC_ENVIRONMENT}/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`,
    ])('keeps the $filter of %s', async (resource) => {
      const h = harness(server);
      const { late } = seed(h);
      const pages = await collect(h.client().listCustomers({ collectionResource: resource }));
      expect(pages.flat().map((customer) => customer.id)).toEqual([late]);
      expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([['$filter', 'lastModifiedDateTime gt 2026-11-25T11:00:00Z']]);
      expect(new URL(h.bc.requestLog[0]!.url).pathname).toBe(new URL(CUSTOMERS_URL).pathname);
    });

    test.each([`/api/v2.0/companies(${COMPANY})/customers`, `api/v2.0/companies(${COMPANY})/customers`])(
      'the bare collection %s reads everything',
      async (resource) => {
        const h = harness(server);
        const { early, late } = seed(h);
        const pages = await collect(h.client().listCustomers({ collectionResource: resource, pageSize: 1 }));
        expect(pages.flat().map((customer) => customer.id)).toEqual([early, late]);
        expect(h.bc.requests.list).toBe(2);
      },
    );

    test('combines with modifiedSince', async () => {
      const h = harness(server);
      seed(h);
      await collect(
        h.client().listCustomers({
          collectionResource: `/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`,
          modifiedSince: '2026-11-25T13:00:00Z',
        }),
      );
      expect(queryOf(h.bc.requestLog[0]!.url)).toEqual([
        ['$filter', 'lastModifiedDateTime gt 2026-11-25T11:00:00Z and lastModifiedDateTime gt 2026-11-25T13:00:00.000Z'],
      ]);
    });

    test.each([
      ['another company', '/api/v2.0/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers'],
      ['another entity set', `/api/v2.0/companies(${COMPANY})/items`],
      ['one customer', `/api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`],
      ['the subscriptions', '/api/v2.0/subscriptions'],
      ['a path escaping the collection', `/api/v2.0/companies(${COMPANY})/customers/../../../subscriptions`],
      ['another host', `https://evil.test/v2.0/${TEST_SETTINGS.BC_TENANT_ID}/production/api/v2.0/companies(${COMPANY})/customers`],
      ['another environment', `${TEST_SETTINGS.BC_API_BASE_URL}/${TEST_SETTINGS.BC_TENANT_ID}/sandbox/api/v2.0/companies(${COMPANY})/customers`],
      ['a protocol-relative URL', `//evil.test/api/v2.0/companies(${COMPANY})/customers`],
      ['extra query options', `/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z&$top=1`],
      ['two filters', `/api/v2.0/companies(${COMPANY})/customers?$filter=a&$filter=b`],
    ])('refuses %s without any request', async (_label, resource) => {
      const h = harness(server);
      let error: unknown;
      try {
        await collect(h.client().listCustomers({ collectionResource: resource }));
      } catch (caught) {
        error = caught;
      }
      expect(asSyncError(error)).toMatchObject({ code: 'BusinessCentralError', transient: false });
      expect(h.bc.requests.total).toBe(0);
    });
  });

  test('refuses a nextLink to another origin after the first page, never sending the token there', async () => {
    const h = harness(server);
    const stolen: string[] = [];
    const customer = h.bc.upsertCustomer({});
    server.use(
      http.get(at(CUSTOMERS_URL), () =>
        HttpResponse.json({ value: [h.bc.getCustomer(customer.id)], '@odata.nextLink': `https://evil.test/v2.0/customers?$skiptoken=1` }),
      ),
      http.all('https://evil.test/*', ({ request }) => {
        stolen.push(request.headers.get('authorization') ?? '');
        return HttpResponse.json({ value: [] });
      }),
    );
    const pages: unknown[][] = [];
    let error: unknown;
    try {
      for await (const page of h.client().listCustomers()) pages.push(page);
    } catch (caught) {
      error = caught;
    }
    expect(pages).toHaveLength(1);
    expect(asSyncError(error)).toMatchObject({ code: 'BusinessCentralError', transient: false });
    expect((error as Error).message).toMatch(/nextLink/u);
    expect(stolen).toEqual([]);
  });

  test('refuses a nextLink on the same host that leaves the customers collection', async () => {
    const h = harness(server);
    server.use(
      http.get(at(CUSTOMERS_URL), () =>
        HttpResponse.json({ value: [], '@odata.nextLink': CUSTOMERS_URL.replace(/companies\(.*$/u, 'subscriptions') }),
      ),
    );
    await expect(collect(h.client().listCustomers())).rejects.toThrow(/nextLink/u);
  });

  test('a nextLink that repeats a page stops instead of looping forever', async () => {
    const h = harness(server);
    server.use(http.get(at(CUSTOMERS_URL), () => HttpResponse.json({ value: [], '@odata.nextLink': CUSTOMERS_URL })));
    await expect(collect(h.client().listCustomers())).rejects.toThrow(/repeats/u);
  });

  test('a malformed page is a final error naming the item and field', async () => {
    const h = harness(server);
    server.use(http.get(at(CUSTOMERS_URL), () => HttpResponse.json({ value: [{ id: 'f2a5738a-44e3-ea11-bb43-000d3a2feca1' }, { id: 'nope' }] })));
    const error = asSyncError(await rejectionOf(collect(h.client().listCustomers())));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/item 1 .*field 'id'/u);
  });
});

describe('listCustomerPages', () => {
  test('hands each page over in parts of sliceSize customers; the last part of a page carries its nextLink', async () => {
    const h = harness(server);
    for (let index = 0; index < 25; index += 1) h.bc.upsertCustomer({ displayName: `Customer ${index}` });
    const parts: Array<{ count: number; nextLink: boolean; pageComplete: boolean | undefined }> = [];
    const ids = new Set<string>();
    for await (const part of h.client().listCustomerPages({ pageSize: 10, sliceSize: 4 })) {
      parts.push({ count: part.customers.length, nextLink: part.nextLink !== undefined, pageComplete: part.pageComplete });
      part.customers.forEach((customer) => ids.add(customer.id));
    }
    expect(ids.size).toBe(25);
    expect(h.bc.requests.list).toBe(3);
    expect(parts).toEqual([
      { count: 4, nextLink: false, pageComplete: false },
      { count: 4, nextLink: false, pageComplete: false },
      { count: 2, nextLink: true, pageComplete: true },
      { count: 4, nextLink: false, pageComplete: false },
      { count: 4, nextLink: false, pageComplete: false },
      { count: 2, nextLink: true, pageComplete: true },
      { count: 4, nextLink: false, pageComplete: false },
      { count: 1, nextLink: false, pageComplete: true },
    ]);
  });

  test('a nextLink written before the items is found all the same', async () => {
    const h = harness(server);
    const first = h.bc.upsertCustomer({ displayName: 'First' });
    const second = h.bc.upsertCustomer({ displayName: 'Second' });
    const next = `${CUSTOMERS_URL}?$skiptoken=2`;
    server.use(
      http.get(at(CUSTOMERS_URL), ({ request }) => {
        const body = new URL(request.url).searchParams.has('$skiptoken')
          ? `{"value":[${JSON.stringify(h.bc.getCustomer(second.id))}]}`
          : `{"@odata.nextLink":${JSON.stringify(next)},"value":[${JSON.stringify(h.bc.getCustomer(first.id))}]}`;
        return new HttpResponse(body, { headers: { 'Content-Type': 'application/json' } });
      }),
    );
    const pages = [];
    for await (const page of h.client().listCustomerPages({ sliceSize: 1 })) pages.push(page);
    expect(pages.map((page) => [page.customers.map((customer) => customer.displayName), page.nextLink, page.pageComplete])).toEqual([
      [['First'], next, true],
      [['Second'], undefined, true],
    ]);
  });

  test('a page cut short is a final error after the good parts before it', async () => {
    const h = harness(server);
    const customer = h.bc.upsertCustomer({});
    server.use(
      http.get(at(CUSTOMERS_URL), () => new HttpResponse(`{"value":[${JSON.stringify(h.bc.getCustomer(customer.id))},{"id":"f2a5`, { headers: { 'Content-Type': 'application/json' } })),
    );
    const received: number[] = [];
    let error: unknown;
    try {
      for await (const page of h.client().listCustomerPages({ sliceSize: 1 })) received.push(page.customers.length);
    } catch (caught) {
      error = caught;
    }
    expect(received).toEqual([1]);
    expect(asSyncError(error)).toMatchObject({ code: 'BusinessCentralError', transient: false });
    expect((error as Error).message).toMatch(/page that ends before its JSON is complete/u);
  });

  test('readCustomerPage: one page in parts, then the next from its nextLink; a nextLink naming the same page throws instead of its last part', async () => {
    const h = harness(server);
    for (let index = 0; index < 7; index += 1) h.bc.upsertCustomer({ displayName: `Customer ${index}` });
    const client = h.client();
    const partsOf = async (nextLink?: string) => {
      const parts = [];
      for await (const part of client.readCustomerPage({ pageSize: 5, sliceSize: 2 }, nextLink)) parts.push(part);
      return parts;
    };
    const first = await partsOf();
    expect(first.map((part) => [part.customers.length, part.pageComplete])).toEqual([[2, false], [2, false], [1, true]]);
    expect(h.bc.requests.list).toBe(1);
    const second = await partsOf(first.at(-1)!.nextLink);
    expect(second.map((part) => [part.customers.length, part.pageComplete, part.nextLink])).toEqual([[2, true, undefined]]);

    server.use(http.get(at(CUSTOMERS_URL), () => HttpResponse.json({ value: [h.bc.getCustomer(first[0]!.customers[0]!.id)], '@odata.nextLink': CUSTOMERS_URL })));
    const received: number[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const part of client.readCustomerPage({ pageSize: 5 })) received.push(part.customers.length);
      })(),
    );
    expect(received).toEqual([]);
    expect((error as Error).message).toMatch(/repeats the page just read/u);
  });

  test.each([0, 1.5])('slice size %p is refused', (sliceSize) => {
    const h = harness(server);
    expect(() => h.client().listCustomerPages({ sliceSize })).toThrow(/slice size/u);
  });
});

describe('errors and retries', () => {
  test('429 with Retry-After waits the asked time, then succeeds', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({});
    h.bc.faults.add({ status: 429, retryAfterSeconds: 1, times: 1 });
    await expect(h.client().getCustomer(stored.id)).resolves.toMatchObject({ id: stored.id });
    expect(h.sleep).toHaveBeenCalledTimes(1);
    expect(h.sleep).toHaveBeenCalledWith(1000);
    expect(h.bc.requests.get).toBe(2);
  });

  test('503 on every attempt is a transient error after HTTP_MAX_ATTEMPTS requests', async () => {
    const h = harness(server);
    h.bc.faults.add({ status: 503 });
    const error = asSyncError(await rejectionOf(h.client().getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    expect(error).toMatchObject({ code: 'BusinessCentralUnavailable', transient: true, status: 503 });
    expect(h.bc.requests.get).toBe(h.config.http.maxAttempts);
    expect(h.sleep).toHaveBeenCalledTimes(h.config.http.maxAttempts - 1);
  });

  test('400 is final and not retried', async () => {
    const h = harness(server);
    h.bc.faults.add({ status: 400 });
    const error = asSyncError(await rejectionOf(h.client().findCustomerByNumber('10000')));
    expect(error).toMatchObject({ code: 'BusinessCentralError', transient: false, status: 400 });
    expect(error.message).toMatch(/BadRequest/u);
    expect(h.bc.requests.total).toBe(1);
    expect(h.sleep).not.toHaveBeenCalled();
  });

  test('a request that hangs times out as a transient error', async () => {
    const h = harness(server);
    h.bc.faults.add({ status: 'hang' });
    const client = h.client({ http: { timeoutMs: 150, maxAttempts: 2 } });
    const error = asSyncError(await rejectionOf(client.getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    expect(error).toMatchObject({ code: 'BusinessCentralUnavailable', transient: true });
    expect(error.message).toMatch(/timed out|TimeoutError/u);
    expect(h.bc.requests.get).toBe(2);
    // Whether the fake hears the abort is the interceptor's affair (it forwards the signal through a weakly held
    // controller, lost after a garbage collection); the client gives up at its own deadline either way.
  });

  test('never more than 5 requests in flight', async () => {
    const h = harness(server);
    const customers = Array.from({ length: 20 }, () => h.bc.upsertCustomer({}));
    const client = h.client();
    await client.getCustomer(customers[0]!.id);
    h.bc.faults.latencyMs = 30;
    const results = await Promise.all(customers.map((customer) => client.getCustomer(customer.id)));
    expect(results.map((customer) => customer?.id)).toEqual(customers.map((customer) => customer.id));
    expect(h.config.http.bcMaxConcurrent).toBe(5);
    expect(h.bc.maxInFlight).toBe(5);
  });

  test('a wrong client secret is a final Configuration error that names no secret', async () => {
    const h = harness(server);
    const secret = 'wrong-secret-value-123456';
    const client = h.client({ businessCentral: { clientSecret: secret } });
    const error = asSyncError(await rejectionOf(client.getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    // Refused credentials (an expired secret) hold every customer's work rather than failing each one for good.
    expect(error).toMatchObject({ code: 'Configuration', transient: true, outage: { service: 'businessCentral', kind: 'auth' } });
    expect(error.message).toMatch(/invalid_client, AADSTS7000215/u);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(TEST_SETTINGS.BC_CLIENT_SECRET);
    expect(error.cause).toBeUndefined();
    expect(h.bc.requests.total).toBe(0);
  });

  test('a wrong client id is a final Configuration error', async () => {
    const h = harness(server);
    const client = h.client({ businessCentral: { clientId: '00000000-1111-2222-3333-444444444444' } });
    const error = asSyncError(await rejectionOf(client.getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    expect(error).toMatchObject({ code: 'Configuration', transient: true, outage: { service: 'businessCentral', kind: 'auth' } });
    expect(error.message).toMatch(/unauthorized_client, AADSTS700016/u);
  });

  test('an unreachable authority (unknown tenant) is transient and names no secret', async () => {
    const h = harness(server);
    const client = h.client({ businessCentral: { tenantId: '11111111-2222-3333-4444-555555555555' } });
    const error = asSyncError(await rejectionOf(client.getCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')));
    expect(error).toMatchObject({ code: 'BusinessCentralUnavailable', transient: true });
    expect(error.message).not.toContain(TEST_SETTINGS.BC_CLIENT_SECRET);
  });

  test('the token is requested once and reused, also by concurrent first requests', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({});
    const client = h.client();
    await Promise.all(Array.from({ length: 8 }, () => client.getCustomer(stored.id)));
    for (let index = 0; index < 10; index += 1) await client.getCustomer(stored.id);
    expect(h.entra.tokensIssued).toBe(1);
    expect(h.entra.requests.token).toBe(1);
    expect(h.bc.requests.get).toBe(18);
  });

  test('a token Business Central rejects (401) is an auth outage of Business Central, without the token in it', async () => {
    const h = harness(server);
    const stored = h.bc.upsertCustomer({});
    const tokens: string[] = [];
    // A token the fake authority never issued, as after a revoked consent.
    const credential = {
      getToken: async () => {
        const token = `tok-${tokens.length}-abcdef`;
        tokens.push(token);
        return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const client = h.client({ options: { credential } });
    const error = asSyncError(await rejectionOf(client.getCustomer(stored.id)));
    expect(error).toMatchObject({ code: 'BusinessCentralUnavailable', transient: true, status: 401, outage: { service: 'businessCentral', kind: 'auth' } });
    expect(error.message).toMatch(/Authentication_InvalidCredentials/u);
    for (const token of tokens) expect(error.message).not.toContain(token);
  });

  test('emails in Business Central error messages are masked', () => {
    const text = describeBusinessCentralError({ error: { code: 'BadRequest', message: "Email 'robert.townes@contoso.com' is not valid" } });
    expect(text).toMatch(/^BadRequest: /u);
    expect(text).not.toContain('robert.townes@contoso.com');
    expect(describeBusinessCentralError('<html>Bad gateway</html>')).toBeUndefined();
  });

  test('every exchange is reported to onExchange without the query string leaking into errors', async () => {
    const h = harness(server);
    const exchanges: Array<{ method: string; status: number | 'error' }> = [];
    h.bc.faults.add({ status: 400 });
    const client = h.client({ options: { onExchange: (exchange) => exchanges.push(exchange) } });
    const error = asSyncError(await rejectionOf(client.findCustomerByNumber('person@example.com')));
    expect(exchanges).toEqual([expect.objectContaining({ method: 'GET', status: 400 })]);
    expect(error.message).not.toContain('person@example.com');
    expect(error.message).not.toContain('$filter');
  });
});

describe('subscriptions', () => {
  const input = () => ({
    notificationUrl: NOTIFICATION_URL,
    resource: `/api/v2.0/companies(${COMPANY})/customers`,
    clientState: TEST_SETTINGS.WEBHOOK_CLIENT_STATE,
  });

  test('customersResource is the company customers collection', () => {
    const h = harness(server);
    expect(h.client().customersResource).toBe(`/api/v2.0/companies(${COMPANY})/customers`);
  });

  test('create performs the handshake and returns the subscription with its ETag and 3-day expiry', async () => {
    const h = harness(server);
    const client = h.client();
    const subscription = await client.createSubscription({ ...input(), resource: client.customersResource });
    expect(h.webhook.tokens).toHaveLength(1);
    expect(h.bc.handshakes).toEqual([{ url: NOTIFICATION_URL, ok: true }]);
    expect(subscription).toMatchObject({
      notificationUrl: NOTIFICATION_URL,
      resource: client.customersResource,
      clientState: TEST_SETTINGS.WEBHOOK_CLIENT_STATE,
      expirationDateTime: '2026-11-28T08:00:00Z',
    });
    expect(subscription['@odata.etag']).toMatch(/^W\/"/u);
    await expect(client.listSubscriptions()).resolves.toEqual([expect.objectContaining({ subscriptionId: subscription.subscriptionId })]);
    expect(h.bc.requests.subscription).toBe(2);
  });

  test('create fails (final, 400) when the endpoint does not echo the token, and nothing is stored', async () => {
    const h = harness(server);
    server.use(http.all(NOTIFICATION_URL, () => new HttpResponse('nope', { status: 200 })));
    const error = asSyncError(await rejectionOf(h.client().createSubscription(input())));
    expect(error).toMatchObject({ code: 'BusinessCentralError', transient: false, status: 400 });
    expect(h.bc.subscriptions()).toEqual([]);
  });

  test('renew sends If-Match and the same values, handshakes again and extends the expiry', async () => {
    const h = harness(server);
    const client = h.client();
    const created = await client.createSubscription(input());
    h.clock.now = new Date('2026-11-26T08:00:00.000Z');
    const renewed = await client.renewSubscription(created);
    expect(renewed.subscriptionId).toBe(created.subscriptionId);
    expect(renewed.expirationDateTime).toBe('2026-11-29T08:00:00Z');
    expect(renewed['@odata.etag']).not.toBe(created['@odata.etag']);
    expect(renewed.clientState).toBe(TEST_SETTINGS.WEBHOOK_CLIENT_STATE);
    expect(h.webhook.tokens).toHaveLength(2);
    const patch = h.bc.requestLog.find((request) => request.method === 'PATCH');
    expect(patch?.url).toBe(`${CUSTOMERS_URL.replace(/companies\(.*$/u, '')}subscriptions('${created.subscriptionId}')`);
  });

  test('renew of a subscription read back without its clientState keeps the stored secret', async () => {
    const h = harness(server);
    const client = h.client();
    const created = await client.createSubscription(input());
    const renewed = await client.renewSubscription({ ...created, clientState: '' });
    expect(renewed.clientState).toBe(TEST_SETTINGS.WEBHOOK_CLIENT_STATE);
  });

  test.each([409, 412] as const)('renew with a stale ETag is a final error with status %p', async (staleEtagStatus) => {
    const h = harness(server, { staleEtagStatus });
    const client = h.client();
    const created = await client.createSubscription(input());
    await client.renewSubscription(created);
    const error = asSyncError(await rejectionOf(client.renewSubscription(created)));
    expect(error).toMatchObject({ code: 'BusinessCentralError', transient: false, status: staleEtagStatus });
    expect(error.message).toMatch(/Request_EntityChanged/u);
    expect(h.bc.requests.subscription).toBe(3);
  });

  test('renew of an expired (silently deleted) subscription is a final error with status 404', async () => {
    const h = harness(server);
    const client = h.client();
    const created = await client.createSubscription(input());
    h.bc.expireSubscription(created.subscriptionId);
    const error = asSyncError(await rejectionOf(client.renewSubscription(created)));
    expect(error).toMatchObject({ transient: false, status: 404 });
  });

  test('delete removes it with If-Match; deleting it again is not an error', async () => {
    const h = harness(server);
    const client = h.client();
    const created = await client.createSubscription(input());
    await client.deleteSubscription(created);
    expect(h.bc.subscriptions()).toEqual([]);
    await expect(client.deleteSubscription(created)).resolves.toBeUndefined();
    await expect(client.listSubscriptions()).resolves.toEqual([]);
  });

  test('delete with a stale ETag is refused', async () => {
    const h = harness(server);
    const client = h.client();
    const created = await client.createSubscription(input());
    await client.renewSubscription(created);
    await expect(client.deleteSubscription(created)).rejects.toMatchObject({ status: 409, transient: false });
    expect(h.bc.subscriptions()).toHaveLength(1);
  });

  test('a subscription id with a quote is escaped in the key', async () => {
    const h = harness(server);
    const seen: string[] = [];
    server.use(
      http.delete(/subscriptions/u, ({ request }) => {
        seen.push(new URL(request.url).pathname);
        return new HttpResponse(null, { status: 204 });
      }),
    );
    await h.client().deleteSubscription({
      '@odata.etag': 'W/"x"',
      subscriptionId: "a'b/c",
      notificationUrl: NOTIFICATION_URL,
      resource: 'r',
      clientState: '',
      expirationDateTime: '2026-11-28T08:00:00Z',
    });
    expect(seen).toHaveLength(1);
    expect(decodeURIComponent(seen[0]!)).toMatch(/subscriptions\('a''b\/c'\)$/u);
    expect(seen[0]).toMatch(/subscriptions\('a''b%2Fc'\)$/u);
  });
});
