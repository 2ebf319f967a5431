import { randomUUID } from 'node:crypto';
import { SyncError } from '../../shared/errors';
import { getServices } from '../../shared/services';
import { catchUpMessageSchema } from '../../shared/sync/catchUp';
import { DIRECT_ENQUEUE_LIMIT } from '../../shared/sync/ingest';
import { type SyncMessage } from '../../shared/messages';
import { CATCH_UP_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';
import {
  CLIENT_STATE,
  collectionResource,
  countMessages,
  customerResource,
  notificationEntry,
  postJson,
  takeMessages,
  useHarness,
  WEBHOOK_PATH,
} from './harness';

const harness = useHarness();
const OTHER_COMPANY = 'f64eba74-dacd-4854-a584-1834f68cfc3a';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function nothingQueued(): Promise<void> {
  expect(await countMessages(SYNC_QUEUE)).toBe(0);
  expect(await countMessages(CATCH_UP_QUEUE)).toBe(0);
}

describe('handshake', () => {
  const token = `Tok+en/with=special&chars?%20 "quotes" <tags> ünïcødé ${'x'.repeat(40)}`;

  test.each(['POST', 'GET'])('%s with validationToken answers 200 text/plain with the token verbatim, whatever the body', async (method) => {
    const response = await fetch(`${harness.host().url}${WEBHOOK_PATH}?validationToken=${encodeURIComponent(token)}`, {
      method,
      ...(method === 'POST' ? { body: '{ not json at all', headers: { 'Content-Type': 'application/json' } } : {}),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/u);
    expect(await response.text()).toBe(token);
    await nothingQueued();
  });

  test('an absurdly long token is refused (not a genuine handshake)', async () => {
    const response = await fetch(`${harness.host().url}${WEBHOOK_PATH}?validationToken=${'a'.repeat(1025)}`, { method: 'POST' });
    expect(response.status).toBe(400);
  });

  test('GET without a token is not a notification', async () => {
    const response = await fetch(`${harness.host().url}${WEBHOOK_PATH}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'InvalidParameter', message: expect.stringContaining('validationToken') } });
  });
});

describe('authentication and malformed bodies', () => {
  const customerId = randomUUID();

  test.each([
    ['wrong', 'not-the-client-state'],
    ['missing', undefined],
    ['almost right (same length, last character off)', `${CLIENT_STATE.slice(0, -1)}${CLIENT_STATE.endsWith('x') ? 'y' : 'x'}`],
  ])('clientState %s in one entry → 401 and nothing enqueued or recorded', async (_name, clientState) => {
    const body = {
      value: [
        notificationEntry(customerResource(customerId), 'updated'),
        notificationEntry(collectionResource(), 'collection'),
        notificationEntry(customerResource(randomUUID()), 'deleted', { clientState }),
      ],
    };
    const response = await postJson(harness.host(), WEBHOOK_PATH, body);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'ClientStateMismatch', message: expect.any(String) } });
    await nothingQueued();
    expect(await getServices().storage.transfers.listRecent({ limit: 10 })).toEqual([]);
  });

  test('malformed JSON → 400 with a JSON error', async () => {
    const response = await postJson(harness.host(), WEBHOOK_PATH, '{"value": [');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/json/u);
    expect(await response.json()).toEqual({ error: { code: 'InvalidBody', message: 'The body is not valid JSON' } });
    await nothingQueued();
  });

  test('JSON that is not a notification → 400', async () => {
    const response = await postJson(harness.host(), WEBHOOK_PATH, { hello: 'world' });
    expect(response.status).toBe(400);
    await nothingQueued();
  });

  test('a body over 1 MB → 413 (declared by Content-Length)', async () => {
    const body = JSON.stringify({ value: [notificationEntry(customerResource(customerId), 'updated', { padding: 'x'.repeat(1024 * 1024) })] });
    const response = await postJson(harness.host(), WEBHOOK_PATH, body);
    expect(response.status).toBe(413);
    await nothingQueued();
  });

  test('a body over 1 MB → 413 (streamed without Content-Length, counted as it arrives)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 17) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${harness.host().url}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    await nothingQueued();
  });
});

describe('notifications', () => {
  test('duplicates inside one POST collapse to one message per customer, carrying the correlation id', async () => {
    const first = randomUUID();
    const second = randomUUID().toUpperCase();
    const body = {
      value: [
        notificationEntry(customerResource(first), 'created'),
        notificationEntry(`/${customerResource(first)}`, 'updated'),
        notificationEntry(customerResource(first), 'updated'),
        notificationEntry(customerResource(second), 'updated'),
      ],
    };
    const response = await postJson(harness.host(), WEBHOOK_PATH, body, { 'x-ms-correlation-id': 'bc-correlation-1' });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ enqueued: 2, fannedOut: 0, catchUps: 0, deleted: 0, ignored: 0, correlationId: expect.any(String) });
    const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
    expect(messages.map((message) => message.customerId).sort()).toEqual([first, second.toLowerCase()].sort());
    for (const message of messages) {
      expect(message).toMatchObject({ source: 'webhook', correlationId: 'bc-correlation-1', changeType: expect.stringMatching(/^(created|updated)$/u) });
      expect(Number.isNaN(Date.parse(message.enqueuedAt))).toBe(false);
    }
  });

  test('mixed resources: items and another company are acknowledged and ignored', async () => {
    const ours = randomUUID();
    const body = {
      value: [
        notificationEntry(`api/v2.0/companies(${harness.bc.customersResource.match(/companies\(([^)]+)\)/u)![1]})/items(${randomUUID()})`, 'updated', {
          subscriptionId: 'webhookItemsId',
        }),
        notificationEntry(customerResource(randomUUID(), OTHER_COMPANY), 'updated'),
        notificationEntry(collectionResource('', OTHER_COMPANY), 'collection'),
        notificationEntry(customerResource(ours), 'updated'),
      ],
    };
    const response = await postJson(harness.host(), WEBHOOK_PATH, body);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ enqueued: 1, fannedOut: 0, catchUps: 0, deleted: 0, ignored: 3, correlationId: expect.any(String) });
    expect(((await takeMessages(SYNC_QUEUE)) as SyncMessage[]).map((message) => message.customerId)).toEqual([ours]);
    expect(await countMessages(CATCH_UP_QUEUE)).toBe(0);
  });

  test('deleted is recorded as a Skipped/Deleted transfer and not enqueued', async () => {
    const deleted = randomUUID();
    const response = await postJson(harness.host(), WEBHOOK_PATH, { value: [notificationEntry(customerResource(deleted), 'deleted')] });
    expect(response.status).toBe(202);
    await expect(takeMessages(SYNC_QUEUE)).resolves.toEqual([]);
    const history = await fetch(`${harness.host().url}/api/customers/${deleted}/transfers`);
    expect(history.status).toBe(200);
    const { transfers } = (await history.json()) as { transfers: Array<Record<string, unknown>> };
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ customerId: deleted, source: 'webhook', status: 'Skipped', action: 'Deleted', errorCode: null });
  });

  test('collection with a $filter → catch-up pages it → only customers modified after the time are enqueued', async () => {
    const { bc } = harness;
    const old = [bc.upsertCustomer({ type: 'Person', displayName: 'Old One' }), bc.upsertCustomer({ type: 'Person', displayName: 'Old Two' })];
    await sleep(20);
    const since = new Date().toISOString();
    await sleep(20);
    const fresh = [bc.upsertCustomer({ type: 'Person', displayName: 'New One' }), bc.upsertCustomer({ type: 'Company', displayName: 'New Two' })];
    const resource = collectionResource(`?$filter=lastModifiedDateTime%20gt%20${since}`);
    const response = await postJson(harness.host(), WEBHOOK_PATH, { value: [notificationEntry(resource, 'collection')] });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ enqueued: 0, catchUps: 1 });
    expect(await countMessages(SYNC_QUEUE)).toBe(0); // the webhook itself never reads Business Central
    expect(bc.requests.list).toBe(0);

    expect(await harness.host().drainQueue('catchUpWorker')).toBe(1);
    const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
    expect(messages.map((message) => message.customerId).sort()).toEqual(fresh.map((customer) => customer.id).sort());
    expect(messages.every((message) => message.source === 'webhook' && message.changeType === 'collection')).toBe(true);
    expect(messages.some((message) => old.some((customer) => customer.id === message.customerId))).toBe(false);
    const listed = bc.requestLog.filter((request) => request.kind === 'list');
    expect(decodeURIComponent(listed[0]!.url)).toContain(`lastModifiedDateTime gt ${since.replace(/\.\d+Z$/u, '')}`);
  });

  test('collection without a filter (a delete among the changes) → a full pass over several pages', async () => {
    const { bc } = harness;
    const all = Array.from({ length: 5 }, (_, index) => bc.upsertCustomer({ type: 'Person', displayName: `Customer ${index}` }));
    const response = await postJson(harness.host(), WEBHOOK_PATH, { value: [notificationEntry(collectionResource().slice(1), 'collection')] });
    expect(response.status).toBe(202);
    await harness.host().drainQueue('catchUpWorker');
    const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
    expect(messages.map((message) => message.customerId).sort()).toEqual(all.map((customer) => customer.id).sort());
  });

  test('enqueue failure → 503 so Business Central retries (never a 4xx, which would delete the subscription)', async () => {
    const send = jest
      .spyOn(getServices().storage.syncQueue, 'send')
      .mockRejectedValueOnce(new SyncError('StorageUnavailable', 'Storage sending to queue customer-sync failed: HTTP 503', { transient: true }));
    try {
      const response = await postJson(harness.host(), WEBHOOK_PATH, { value: [notificationEntry(customerResource(randomUUID()), 'updated')] });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('60');
      expect(await response.json()).toEqual({ error: { code: 'StorageUnavailable', message: expect.any(String) } });
      expect(send).toHaveBeenCalledTimes(1);
    } finally {
      send.mockRestore();
    }
  });

  // Acknowledged with 4 writes instead of 1,000 (how fast is a bench figure: npm run bench -- --only ack).
  test('a 1,000-entry notification is acknowledged as 4 batch messages holding every customer once', async () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const payload = JSON.stringify({ value: ids.map((id) => notificationEntry(customerResource(id), 'updated')) });
    const response = await postJson(harness.host(), WEBHOOK_PATH, payload);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ enqueued: 0, fannedOut: 1000, catchUps: 0, deleted: 0, ignored: 0, correlationId: expect.any(String) });
    expect(await countMessages(CATCH_UP_QUEUE)).toBe(4);

    // The batches hold every customer once; expanding them is the catch-up worker's job (next test).
    const batches = (await takeMessages(CATCH_UP_QUEUE)).map((raw) => catchUpMessageSchema.parse(raw));
    const batched = batches.flatMap((batch) => (batch.kind === 'customers' ? batch.customers.map((customer) => customer.customerId) : []));
    expect(batched).toHaveLength(1000);
    expect(new Set(batched)).toEqual(new Set(ids));
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
  });

  test(`up to ${DIRECT_ENQUEUE_LIMIT} customers are enqueued directly; more go through the catch-up worker`, async () => {
    const direct = Array.from({ length: DIRECT_ENQUEUE_LIMIT }, () => randomUUID());
    const directResponse = await postJson(harness.host(), WEBHOOK_PATH, { value: direct.map((id) => notificationEntry(customerResource(id), 'updated')) });
    expect(await directResponse.json()).toMatchObject({ enqueued: DIRECT_ENQUEUE_LIMIT, fannedOut: 0 });
    expect(await countMessages(SYNC_QUEUE)).toBe(DIRECT_ENQUEUE_LIMIT);
    await takeMessages(SYNC_QUEUE);

    const ids = Array.from({ length: DIRECT_ENQUEUE_LIMIT + 1 }, () => randomUUID());
    const response = await postJson(harness.host(), WEBHOOK_PATH, { value: ids.map((id) => notificationEntry(customerResource(id), 'created')) });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ enqueued: 0, fannedOut: DIRECT_ENQUEUE_LIMIT + 1 });
    expect(await harness.host().drainQueue('catchUpWorker')).toBe(1);
    const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
    expect(messages.map((message) => message.customerId).sort()).toEqual([...ids].sort());
    expect(messages.every((message) => message.source === 'webhook' && message.changeType === 'created')).toBe(true);
  });
});
