import { http, HttpResponse } from 'msw';
import { FakeBusinessCentral } from '../../dev/fakes/businessCentral';
import { FakeEntraId } from '../../dev/fakes/entraId';
import { startMockServer } from '../support/msw';
import { TEST_SETTINGS } from '../support/settings';
import { harness, NOTIFICATION_URL, tokenFrom, type Harness } from './harness';

const server = startMockServer();
const COMPANY = TEST_SETTINGS.BC_COMPANY_ID;
const ENV_ROOT = `${TEST_SETTINGS.BC_API_BASE_URL}/${TEST_SETTINGS.BC_TENANT_ID}/${TEST_SETTINGS.BC_ENVIRONMENT}`;
const ROOT = `${ENV_ROOT}/api/v2.0`;
const CUSTOMERS = `${ROOT}/companies(${COMPANY})/customers`;
const SUBSCRIPTIONS = `${ROOT}/subscriptions`;
const RESOURCE = `/api/v2.0/companies(${COMPANY})/customers`;

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Raw requests to the fake, authenticated with a token from the fake authority unless told otherwise. */
async function call(h: Harness, url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; token?: string | null } = {}): Promise<Reply> {
  const token = init.token === undefined ? await tokenFrom(h.config) : init.token;
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function filterUrl(filter: string): string {
  return `${CUSTOMERS}?$filter=${encodeURIComponent(filter)}`;
}

function ids(reply: Reply): string[] {
  return (reply.body.value as Array<{ id: string }>).map((customer) => customer.id);
}

function errorCode(reply: Reply): unknown {
  return (reply.body.error as { code?: unknown } | undefined)?.code;
}

describe('state API', () => {
  test('upsertCustomer fills every API v2.0 field with Business Central defaults', () => {
    const h = harness(server);
    const customer = h.bc.upsertCustomer({ displayName: 'Robert Townes', type: 'Person' });
    // Spelled out here on purpose, not taken from the fake's own defaults: the test states what Business Central returns.
    expect(customer).toEqual({
      '@odata.etag': expect.stringMatching(/^W\/"[A-Za-z0-9+/=]+"$/u),
      id: expect.stringMatching(/^[0-9a-f-]{36}$/u),
      number: '10000',
      displayName: 'Robert Townes',
      type: 'Person',
      addressLine1: '',
      addressLine2: '',
      city: '',
      state: '',
      country: '',
      postalCode: '',
      phoneNumber: '',
      email: '',
      website: '',
      salespersonCode: '',
      balanceDue: 0,
      creditLimit: 0,
      taxLiable: false,
      taxAreaId: '00000000-0000-0000-0000-000000000000',
      taxAreaDisplayName: '',
      taxRegistrationNumber: '',
      currencyId: '00000000-0000-0000-0000-000000000000',
      currencyCode: '',
      paymentTermsId: '00000000-0000-0000-0000-000000000000',
      shipmentMethodId: '00000000-0000-0000-0000-000000000000',
      paymentMethodId: '00000000-0000-0000-0000-000000000000',
      blocked: ' ',
      lastModifiedDateTime: '2026-11-25T08:00:00.000Z',
    });
    expect(h.bc.upsertCustomer({}).number).toBe('10010');
  });

  test('updates stamp lastModifiedDateTime and change the ETag; upsert with a known id updates', () => {
    const h = harness(server);
    const created = h.bc.upsertCustomer({ displayName: 'A' });
    h.clock.now = new Date('2026-11-25T09:00:00.000Z');
    const updated = h.bc.updateCustomer(created.id, { email: 'a@example.com' });
    expect(updated.lastModifiedDateTime).toBe('2026-11-25T09:00:00.000Z');
    expect(updated['@odata.etag']).not.toBe(created['@odata.etag']);
    expect(updated.displayName).toBe('A');
    const again = h.bc.upsertCustomer({ id: created.id.toUpperCase(), city: 'Atlanta' });
    expect(again).toMatchObject({ id: created.id, city: 'Atlanta', email: 'a@example.com' });
    expect(h.bc.customers()).toHaveLength(1);
  });

  test('refuses what Business Central refuses: duplicate number, bad type, non-GUID id', () => {
    const h = harness(server);
    h.bc.upsertCustomer({ number: 'C001' });
    expect(() => h.bc.upsertCustomer({ number: 'c001' })).toThrow(/already exists/u);
    expect(() => h.bc.upsertCustomer({ type: 'Robot' as 'Person' })).toThrow(/type/u);
    expect(() => h.bc.upsertCustomer({ id: 'abc' })).toThrow(/GUID/u);
    expect(() => h.bc.upsertCustomer({ number: 'X'.repeat(21) })).toThrow(/20/u);
    expect(() => h.bc.upsertCustomer({ '@odata.etag': 'W/"x"' } as never)).toThrow(/not a writable/u);
    expect(() => h.bc.updateCustomer('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3', {})).toThrow(/no customer/u);
  });

  test('deleteCustomer and getCustomer', () => {
    const h = harness(server);
    const created = h.bc.upsertCustomer({});
    expect(h.bc.getCustomer(created.id)).toEqual(created);
    expect(h.bc.deleteCustomer(created.id)).toBe(true);
    expect(h.bc.getCustomer(created.id)).toBeUndefined();
    expect(h.bc.deleteCustomer(created.id)).toBe(false);
  });
});

describe('authentication and addressing', () => {
  test('a missing bearer token is 401 with a Business Central error body and a challenge', async () => {
    const h = harness(server);
    const reply = await call(h, CUSTOMERS, { token: null });
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('Authentication_InvalidCredentials');
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/u);
    expect(h.bc.requests).toMatchObject({ total: 1, list: 1 });
  });

  test('a token the authority did not issue is 401', async () => {
    const h = harness(server);
    expect((await call(h, CUSTOMERS, { token: 'forged-token' })).status).toBe(401);
  });

  test('a token for another resource is 401', async () => {
    const h = harness(server);
    const graph = 'https://graph.microsoft.com/.default';
    const entra = new FakeEntraId({ ...h.config.businessCentral, allowedScopes: [graph, 'https://api.businesscentral.dynamics.com/.default'] });
    const bc = new FakeBusinessCentral({ ...h.config.businessCentral, entra });
    server.resetHandlers(...entra.handlers, ...bc.handlers);
    expect((await call(h, CUSTOMERS, { token: await tokenFrom(h.config, graph) })).status).toBe(401);
    expect((await call(h, CUSTOMERS, { token: await tokenFrom(h.config) })).status).toBe(200);
  });

  test('an expired or revoked token is 401', async () => {
    const h = harness(server);
    const token = await tokenFrom(h.config);
    expect((await call(h, CUSTOMERS, { token })).status).toBe(200);
    h.entra.revokeAll();
    expect((await call(h, CUSTOMERS, { token })).status).toBe(401);
  });

  test.each([
    ['another tenant', `${TEST_SETTINGS.BC_API_BASE_URL}/11111111-2222-3333-4444-555555555555/production/api/v2.0/companies(${COMPANY})/customers`],
    ['another environment', `${TEST_SETTINGS.BC_API_BASE_URL}/${TEST_SETTINGS.BC_TENANT_ID}/sandbox/api/v2.0/companies(${COMPANY})/customers`],
    ['another company', `${ROOT}/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers`],
    ['another API version', `${ENV_ROOT}/api/v1.0/companies(${COMPANY})/customers`],
    ['an unknown entity set', `${ROOT}/companies(${COMPANY})/vendors`],
    ['a path outside the API', 'https://api.businesscentral.test/other'],
  ])('%s is 404', async (_label, url) => {
    const h = harness(server);
    const reply = await call(h, url);
    expect(reply.status).toBe(404);
    expect(errorCode(reply)).toMatch(/^BadRequest_ResourceNotFound$/u);
  });

  test('a non-GUID customer key is 400; an unknown customer is 404', async () => {
    const h = harness(server);
    expect((await call(h, `${CUSTOMERS}(abc)`)).status).toBe(400);
    expect((await call(h, `${CUSTOMERS}('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')`)).status).toBe(400);
    const missing = await call(h, `${CUSTOMERS}(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`);
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('Internal_RecordNotFound');
  });

  test('GET one customer returns the entity with @odata.context and honours $select', async () => {
    const h = harness(server);
    const created = h.bc.upsertCustomer({ displayName: 'A', email: 'a@example.com' });
    const full = await call(h, `${CUSTOMERS}(${created.id.toUpperCase()})`);
    expect(full.status).toBe(200);
    expect(full.body).toEqual({ '@odata.context': `${ROOT}/$metadata#companies(${COMPANY})/customers/$entity`, ...created });
    const trimmed = await call(h, `${CUSTOMERS}(${created.id})?$select=id,email`);
    expect(trimmed.body).toEqual({ '@odata.context': expect.any(String), '@odata.etag': created['@odata.etag'], id: created.id, email: 'a@example.com' });
  });

  test('companies lists the one company', async () => {
    const h = harness(server);
    const reply = await call(h, `${ROOT}/companies`);
    expect(reply.body.value).toEqual([expect.objectContaining({ id: COMPANY })]);
  });

  test('customers cannot be changed over HTTP (405)', async () => {
    const h = harness(server);
    expect((await call(h, CUSTOMERS, { method: 'POST', body: { displayName: 'x' } })).status).toBe(405);
  });
});

describe('$filter', () => {
  function seed(h: Harness): Record<string, string> {
    h.clock.now = new Date('2026-11-25T10:00:00.000Z');
    const company = h.bc.upsertCustomer({ number: '10000', type: 'Company' }).id;
    const obrien = h.bc.upsertCustomer({ number: "O'BRIEN", type: 'Person' }).id;
    h.clock.now = new Date('2026-11-25T12:00:00.000Z');
    const person = h.bc.upsertCustomer({ number: '20000', type: 'Person' }).id;
    return { company, obrien, person };
  }

  test("number eq '<literal>' with '' unescaping", async () => {
    const h = harness(server);
    const { obrien } = seed(h);
    expect(ids(await call(h, filterUrl("number eq 'O''BRIEN'")))).toEqual([obrien]);
    expect(ids(await call(h, filterUrl("number eq 'O'")))).toEqual([]);
  });

  test('lastModifiedDateTime gt <datetime> (any offset, any precision)', async () => {
    const h = harness(server);
    const { person } = seed(h);
    expect(ids(await call(h, filterUrl('lastModifiedDateTime gt 2026-11-25T11:00:00Z')))).toEqual([person]);
    expect(ids(await call(h, filterUrl('lastModifiedDateTime gt 2026-11-25T12:30:00.1234567+01:00')))).toEqual([person]);
    expect(ids(await call(h, filterUrl('lastModifiedDateTime gt 2026-11-25T12:00:00.000Z')))).toEqual([]);
  });

  test("type eq 'Person' and lastModifiedDateTime combined with and", async () => {
    const h = harness(server);
    const { obrien, person } = seed(h);
    expect(ids(await call(h, filterUrl("type eq 'Person'"))).sort()).toEqual([obrien, person].sort());
    expect(ids(await call(h, filterUrl("type eq 'Person' and lastModifiedDateTime gt 2026-11-25T11:00:00Z")))).toEqual([person]);
  });

  test('a filter on the same query string with %20 or + for spaces', async () => {
    const h = harness(server);
    const { person } = seed(h);
    expect(ids(await call(h, `${CUSTOMERS}?$filter=number%20eq%20'20000'`))).toEqual([person]);
    expect(ids(await call(h, `${CUSTOMERS}?$filter=number+eq+'20000'`))).toEqual([person]);
  });

  test.each([
    "number eq 'x' or number eq 'y'",
    "contains(displayName,'x')",
    "not number eq 'x'",
    "(number eq 'x')",
    "foo eq 'x'",
    "number eq 'unterminated",
    'number eq 10000',
    "lastModifiedDateTime gt '2026-11-25T11:00:00Z'",
    'lastModifiedDateTime gt yesterday',
    "number like 'x'",
    "number eq 'x' and",
    "number eq 'x' 1 eq 1",
    "number eq 'x' or 1 eq 1 or number eq ''",
    '',
  ])('rejects %j with 400', async (filter) => {
    const h = harness(server);
    seed(h);
    const reply = await call(h, filterUrl(filter));
    expect(reply.status).toBe(400);
    expect(typeof (reply.body.error as { message?: unknown }).message).toBe('string');
  });

  test('a value longer than the Code[20] number field is Application_FilterErrorException', async () => {
    const h = harness(server);
    const reply = await call(h, filterUrl(`number eq '${'9'.repeat(21)}'`));
    expect(reply.status).toBe(400);
    expect(errorCode(reply)).toBe('Application_FilterErrorException');
  });

  test.each(['$orderby=number', '$expand=paymentTerm', '$count=true', '$select=nope', '$top=-1'])('rejects unsupported or invalid %s with 400', async (query) => {
    const h = harness(server);
    expect((await call(h, `${CUSTOMERS}?${query}`)).status).toBe(400);
  });
});

describe('paging', () => {
  test('honours Prefer: odata.maxpagesize, in primary-key order, with an absolute nextLink carrying $skiptoken', async () => {
    const h = harness(server);
    for (const number of ['30000', '10000', '20000', '40000', '50000']) h.bc.upsertCustomer({ number });
    const first = await call(h, CUSTOMERS, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect(first.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
    expect((first.body.value as Array<{ number: string }>).map((customer) => customer.number)).toEqual(['10000', '20000']);
    const nextLink = first.body['@odata.nextLink'] as string;
    expect(nextLink.startsWith(`${CUSTOMERS}?`)).toBe(true);
    expect(new URL(nextLink).searchParams.get('$skiptoken')).toBeTruthy();

    // A customer inserted between pages lands in its key position without shifting or repeating anyone.
    h.bc.upsertCustomer({ number: '15000' });
    const second = await call(h, nextLink, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect((second.body.value as Array<{ number: string }>).map((customer) => customer.number)).toEqual(['30000', '40000']);
    const third = await call(h, second.body['@odata.nextLink'] as string, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect((third.body.value as Array<{ number: string }>).map((customer) => customer.number)).toEqual(['50000']);
    expect(third.body['@odata.nextLink']).toBeUndefined();
  });

  test('the nextLink keeps the $filter', async () => {
    const h = harness(server);
    for (let index = 0; index < 5; index += 1) h.bc.upsertCustomer({ type: index % 2 === 0 ? 'Person' : 'Company' });
    const first = await call(h, filterUrl("type eq 'Person'"), { headers: { Prefer: 'odata.maxpagesize=2' } });
    const nextLink = first.body['@odata.nextLink'] as string;
    expect(new URL(nextLink).searchParams.get('$filter')).toBe("type eq 'Person'");
    const second = await call(h, nextLink, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect(ids(second)).toHaveLength(1);
  });

  test('caps the page size at 20000', async () => {
    const h = harness(server);
    h.bc.upsertCustomer({});
    const reply = await call(h, CUSTOMERS, { headers: { Prefer: 'odata.maxpagesize=50000' } });
    expect(reply.headers.get('preference-applied')).toBe('odata.maxpagesize=20000');
  });

  test('$top limits the whole result across pages', async () => {
    const h = harness(server);
    for (let index = 0; index < 5; index += 1) h.bc.upsertCustomer({});
    const first = await call(h, `${CUSTOMERS}?$top=3`, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect(ids(first)).toHaveLength(2);
    const second = await call(h, first.body['@odata.nextLink'] as string, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect(ids(second)).toHaveLength(1);
    expect(second.body['@odata.nextLink']).toBeUndefined();
  });

  test('a forged $skiptoken is 400', async () => {
    const h = harness(server);
    expect((await call(h, `${CUSTOMERS}?$skiptoken=garbage`)).status).toBe(400);
  });
});

describe('faults', () => {
  test('injected faults answer with the Business Central error body and Retry-After', async () => {
    const h = harness(server);
    h.bc.faults.add({ status: 429, retryAfterSeconds: 7, times: 1 });
    const throttled = await call(h, CUSTOMERS);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    expect((await call(h, CUSTOMERS)).status).toBe(200);
  });

  test('the fake counts requests by kind and tracks requests in flight', async () => {
    const h = harness(server);
    const created = h.bc.upsertCustomer({});
    h.bc.faults.latencyMs = 20;
    const token = await tokenFrom(h.config);
    await Promise.all([call(h, CUSTOMERS, { token }), call(h, `${CUSTOMERS}(${created.id})`, { token }), call(h, SUBSCRIPTIONS, { token })]);
    expect(h.bc.requests).toEqual({ total: 3, get: 1, list: 1, subscription: 1, other: 0 });
    expect(h.bc.maxInFlight).toBe(3);
    expect(h.bc.inFlight).toBe(0);
    h.bc.resetRequests();
    expect(h.bc.requests.total).toBe(0);
    expect(h.bc.requestLog).toEqual([]);
  });
});

describe('subscriptions', () => {
  const body = (overrides: Record<string, unknown> = {}) => ({
    notificationUrl: NOTIFICATION_URL,
    resource: RESOURCE,
    clientState: TEST_SETTINGS.WEBHOOK_CLIENT_STATE,
    ...overrides,
  });

  test('POST handshakes with POST notificationUrl?validationToken=... before answering 201', async () => {
    const h = harness(server);
    const reply = await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() });
    expect(reply.status).toBe(201);
    expect(h.webhook.methods).toEqual(['POST']);
    expect(h.webhook.tokens).toHaveLength(1);
    expect(h.webhook.tokens[0]!.length).toBeGreaterThan(16);
    expect(reply.body).toMatchObject({
      subscriptionId: expect.stringMatching(/^[0-9a-f]{32}$/u),
      resource: RESOURCE,
      expirationDateTime: '2026-11-28T08:00:00Z',
      lastModifiedDateTime: '2026-11-25T08:00:00Z',
      '@odata.etag': expect.any(String),
    });
  });

  test.each([
    ['api/v2.0 without a slash', `api/v2.0/companies(${COMPANY})/customers`],
    ['relative to the API root', `companies(${COMPANY})/customers`],
    ['absolute', `${ENV_ROOT}/api/v2.0/companies(${COMPANY})/customers`],
  ])('accepts the resource %s and stores the canonical form', async (_label, resource) => {
    const h = harness(server);
    const reply = await call(h, SUBSCRIPTIONS, { method: 'POST', body: body({ resource }) });
    expect(reply.status).toBe(201);
    expect(reply.body.resource).toBe(RESOURCE);
  });

  test.each([
    ['http to a public host', { notificationUrl: 'http://sync.test/hook' }],
    ['not a URL', { notificationUrl: 'sync' }],
    ['no resource', { resource: undefined }],
    ['no notificationUrl', { notificationUrl: undefined }],
    ['another company', { resource: '/api/v2.0/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers' }],
    ['a single customer', { resource: `${RESOURCE}(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)` }],
    ['an unknown property', { foo: 1 }],
    ['a clientState over 2048 characters', { clientState: 'x'.repeat(2049) }],
  ])('POST with %s is 400 without a handshake', async (_label, overrides) => {
    const h = harness(server);
    const reply = await call(h, SUBSCRIPTIONS, { method: 'POST', body: body(overrides) });
    expect(reply.status).toBe(400);
    expect(h.webhook.tokens).toEqual([]);
    expect(h.bc.subscriptions()).toEqual([]);
  });

  test('POST with a body that is not JSON is 400', async () => {
    const h = harness(server);
    expect((await call(h, SUBSCRIPTIONS, { method: 'POST', body: '{not json' })).status).toBe(400);
  });

  test.each([
    ['a wrong body', () => new HttpResponse('wrong', { status: 200 })],
    ['status 202', ({ request }: { request: Request }) => new HttpResponse(new URL(request.url).searchParams.get('validationToken'), { status: 202 })],
    ['a 500', () => new HttpResponse(null, { status: 500 })],
    ['a network error', () => HttpResponse.error()],
  ])('a handshake answered with %s rejects the subscription with 400', async (_label, answer) => {
    const h = harness(server);
    server.use(http.all(NOTIFICATION_URL, answer));
    const reply = await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() });
    expect(reply.status).toBe(400);
    expect(h.bc.subscriptions()).toEqual([]);
    expect(h.bc.handshakes).toEqual([{ url: NOTIFICATION_URL, ok: false }]);
  });

  test('a handshake that does not answer in time fails', async () => {
    const h = harness(server, { handshakeTimeoutMs: 100 });
    server.use(http.all(NOTIFICATION_URL, () => new Promise<Response>(() => undefined)));
    const reply = await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() });
    expect(reply.status).toBe(400);
  });

  test('the handshake is pluggable through deliver', async () => {
    const delivered: string[] = [];
    const h = harness(server, {
      deliver: async (url) => {
        delivered.push(url);
        return new Response(new URL(url).searchParams.get('validationToken'), { status: 200 });
      },
    });
    expect((await call(h, SUBSCRIPTIONS, { method: 'POST', body: body({ notificationUrl: 'http://localhost:7071/api/webhooks/business-central' }) })).status).toBe(201);
    expect(delivered).toEqual([expect.stringMatching(/^http:\/\/localhost:7071\/api\/webhooks\/business-central\?validationToken=/u)]);
    expect(h.webhook.tokens).toEqual([]);
  });

  test('PATCH needs If-Match (400 without, 409 when stale, * accepted), handshakes and extends the expiry', async () => {
    const h = harness(server);
    const created = (await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() })).body;
    const url = `${SUBSCRIPTIONS}('${String(created.subscriptionId)}')`;
    const missing = await call(h, url, { method: 'PATCH', body: body() });
    expect(missing.status).toBe(400);
    expect(errorCode(missing)).toBe('BadRequest_InvalidToken');
    expect((await call(h, url, { method: 'PATCH', body: body(), headers: { 'If-Match': 'W/"stale"' } })).status).toBe(409);

    h.clock.now = new Date('2026-11-27T08:00:00.000Z');
    const renewed = await call(h, url, { method: 'PATCH', body: body(), headers: { 'If-Match': String(created['@odata.etag']) } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.expirationDateTime).toBe('2026-11-30T08:00:00Z');
    expect(h.webhook.tokens).toHaveLength(2);
    expect((await call(h, url, { method: 'PATCH', body: {}, headers: { 'If-Match': '*' } })).status).toBe(200);
    expect(h.webhook.tokens).toHaveLength(3);
  });

  test('GET one, GET all, DELETE with If-Match, 404 afterwards', async () => {
    const h = harness(server);
    const created = (await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() })).body;
    const url = `${SUBSCRIPTIONS}('${String(created.subscriptionId)}')`;
    expect((await call(h, url)).body.subscriptionId).toBe(created.subscriptionId);
    expect((await call(h, SUBSCRIPTIONS)).body.value).toHaveLength(1);
    expect((await call(h, `${SUBSCRIPTIONS}(${String(created.subscriptionId)})`)).status).toBe(400);
    expect((await call(h, url, { method: 'DELETE' })).status).toBe(400);
    expect((await call(h, url, { method: 'DELETE', headers: { 'If-Match': String(created['@odata.etag']) } })).status).toBe(204);
    expect((await call(h, url)).status).toBe(404);
  });

  test('expires after 3 days and is then gone without notice', async () => {
    const h = harness(server);
    await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() });
    h.clock.now = new Date('2026-11-28T07:59:59.000Z');
    expect(h.bc.subscriptions()).toHaveLength(1);
    h.clock.now = new Date('2026-11-28T08:00:00.000Z');
    expect(h.bc.subscriptions()).toEqual([]);
    expect((await call(h, SUBSCRIPTIONS)).body.value).toEqual([]);
  });

  test('expireSubscription removes it at once', async () => {
    const h = harness(server);
    const created = (await call(h, SUBSCRIPTIONS, { method: 'POST', body: body() })).body;
    expect(h.bc.expireSubscription(String(created.subscriptionId))).toBe(true);
    expect(h.bc.subscriptions()).toEqual([]);
  });

  test('at most 200 subscriptions per environment, even when created concurrently', async () => {
    const h = harness(server, {
      deliver: async (url) => new Response(new URL(url).searchParams.get('validationToken'), { status: 200 }),
    });
    const token = await tokenFrom(h.config);
    const replies = await Promise.all(Array.from({ length: 201 }, () => call(h, SUBSCRIPTIONS, { method: 'POST', body: body(), token })));
    expect(replies.filter((reply) => reply.status === 201)).toHaveLength(200);
    expect(replies.filter((reply) => reply.status === 400)).toHaveLength(1);
    expect(h.bc.subscriptions()).toHaveLength(200);
  });
});

describe('FakeEntraId', () => {
  async function tokenRequest(h: Harness, form: Record<string, string>, tenant: string = TEST_SETTINGS.BC_TENANT_ID): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${TEST_SETTINGS.AZURE_AUTHORITY_HOST}/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const good = {
    grant_type: 'client_credentials',
    client_id: TEST_SETTINGS.BC_CLIENT_ID,
    client_secret: TEST_SETTINGS.BC_CLIENT_SECRET,
    scope: 'https://api.businesscentral.dynamics.com/.default',
  };

  test('issues an opaque bearer token valid for 3599 seconds', async () => {
    const h = harness(server);
    const reply = await tokenRequest(h, good);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(h.entra.isValidToken(String(reply.body.access_token))).toBe(true);
    expect(h.entra.tokensIssued).toBe(1);
  });

  test.each([
    ['a wrong secret', { client_secret: 'nope' }, 401, 'invalid_client', 7000215],
    ['no secret', { client_secret: '' }, 401, 'invalid_client', 7000218],
    ['a wrong client id', { client_id: 'other' }, 400, 'unauthorized_client', 700016],
    ['a scope without /.default', { scope: 'https://api.businesscentral.dynamics.com/user_impersonation' }, 400, 'invalid_scope', 1002012],
    ['another resource', { scope: 'https://graph.microsoft.com/.default' }, 400, 'invalid_resource', 500011],
    ['another grant', { grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
  ])('rejects %s like Entra ID', async (_label, overrides, status, error, code) => {
    const h = harness(server);
    const reply = await tokenRequest(h, { ...good, ...overrides });
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ error, error_codes: [code] });
    expect(String(reply.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `, 'u'));
    expect(String(reply.body.error_description)).not.toContain(TEST_SETTINGS.BC_CLIENT_SECRET);
    expect(h.entra.tokensIssued).toBe(0);
  });

  test('an unknown tenant is 400 invalid_tenant on discovery and token', async () => {
    const h = harness(server);
    const reply = await tokenRequest(h, good, 'other-tenant');
    expect(reply).toMatchObject({ status: 400, body: { error: 'invalid_tenant' } });
    const discovery = await fetch(`${TEST_SETTINGS.AZURE_AUTHORITY_HOST}/other-tenant/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(400);
  });

  test('serves the OpenID configuration MSAL reads, pointing at its own token endpoint', async () => {
    const h = harness(server);
    const response = await fetch(`${TEST_SETTINGS.AZURE_AUTHORITY_HOST}/${TEST_SETTINGS.BC_TENANT_ID}/v2.0/.well-known/openid-configuration`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      token_endpoint: `${TEST_SETTINGS.AZURE_AUTHORITY_HOST}/${TEST_SETTINGS.BC_TENANT_ID}/oauth2/v2.0/token`,
      issuer: expect.any(String),
      authorization_endpoint: expect.any(String),
      jwks_uri: expect.any(String),
    });
    expect(h.entra.requests.discovery).toBe(1);
  });

  test('tokens expire by the authority clock', async () => {
    const clock = { now: new Date('2026-11-25T08:00:00Z') };
    const entra = new FakeEntraId({ authorityHost: 'https://login.other.test', clientId: 'c', clientSecret: 's', now: () => clock.now });
    server.resetHandlers(...entra.handlers);
    const response = await fetch('https://login.other.test/any-tenant/oauth2/v2.0/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...good, client_id: 'c', client_secret: 's' }).toString(),
    });
    const token = String(((await response.json()) as Record<string, unknown>).access_token);
    expect(entra.isValidToken(token)).toBe(true);
    clock.now = new Date('2026-11-25T08:59:59Z');
    expect(entra.isValidToken(token)).toBe(false);
    expect(entra.isValidToken('never-issued')).toBe(false);
  });

  test('faults apply to the authority too', async () => {
    const h = harness(server);
    h.entra.faults.add({ status: 503, times: 1 });
    expect((await tokenRequest(h, good)).status).toBe(503);
    expect((await tokenRequest(h, good)).status).toBe(200);
  });
});
