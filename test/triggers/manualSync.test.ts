import { randomUUID } from 'node:crypto';
import { SyncError } from '../../shared/errors';
import { getServices } from '../../shared/services';
import { type SyncMessage } from '../../shared/messages';
import { countMessages, takeMessages, useHarness } from './harness';
import { SYNC_QUEUE } from '../../shared/queueNames';

const harness = useHarness();
const post = (path: string) => fetch(`${harness.host().url}${path}`, { method: 'POST' });

describe('POST /api/customers/{id}/sync', () => {
  test.each(['not-a-guid', '12345', '3f2504e0-4f89-11d3-9a0c-0305e82c330', "3f2504e0-4f89-11d3-9a0c-0305e82c3301' or 1 eq 1"])(
    'a non-GUID id (%s) → 400 with a JSON error, nothing enqueued',
    async (id) => {
      const response = await post(`/api/customers/${encodeURIComponent(id)}/sync`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: 'InvalidCustomerId', message: expect.stringContaining('GUID') } });
      expect(await countMessages(SYNC_QUEUE)).toBe(0);
    },
  );

  test('a GUID (any case) → 202 { customerId, queued } with Location, one manual message', async () => {
    const id = randomUUID();
    const response = await post(`/api/customers/${id.toUpperCase()}/sync`);
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/api/customers/${id}/transfers`);
    const body = (await response.json()) as { correlationId: string };
    expect(body).toEqual({ customerId: id, queued: true, correlationId: expect.any(String) });
    const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
    // The correlation id in the answer is the one the message (and so the transfer's telemetry) carries.
    expect(messages).toEqual([expect.objectContaining({ customerId: id, source: 'manual', correlationId: body.correlationId })]);
    expect(harness.bc.requests.total).toBe(0); // the manual route only enqueues; the worker reads Business Central
  });

  test('GET is not served on the sync route', async () => {
    const response = await fetch(`${harness.host().url}/api/customers/${randomUUID()}/sync`);
    expect(response.status).toBe(405);
  });

  test('enqueue failure → 503', async () => {
    const send = jest.spyOn(getServices().storage.syncQueue, 'send').mockRejectedValueOnce(new SyncError('StorageUnavailable', 'down', { transient: true }));
    try {
      const response = await post(`/api/customers/${randomUUID()}/sync`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: { code: 'StorageUnavailable', message: expect.any(String) } });
    } finally {
      send.mockRestore();
    }
  });
});

describe('POST /api/customers/by-number/{number}/sync', () => {
  test('resolves the number to the Business Central id and queues it', async () => {
    harness.bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes' });
    const wanted = harness.bc.upsertCustomer({ number: 'C-20000', type: 'Person', displayName: 'Second' });
    const response = await post('/api/customers/by-number/C-20000/sync');
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/api/customers/${wanted.id}/transfers`);
    expect(await response.json()).toEqual({ customerId: wanted.id, queued: true, correlationId: expect.any(String) });
    expect(((await takeMessages(SYNC_QUEUE)) as SyncMessage[]).map((message) => [message.customerId, message.source])).toEqual([[wanted.id, 'manual']]);
  });

  test('an unknown number → 404 with a JSON error, nothing enqueued', async () => {
    harness.bc.upsertCustomer({ number: '10000', type: 'Person' });
    const response = await post('/api/customers/by-number/99999/sync');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'CustomerNotFound', message: expect.any(String) } });
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
  });

  test.each(["10000' or number ne '", "1' or '1' eq '1", "x' or true or 'a", '10000%27%20or%20number%20ne%20%27'])(
    'an OData injection attempt in the number (%s) → 404 and no other customer matched',
    async (number) => {
      harness.bc.upsertCustomer({ number: '10000', type: 'Person' });
      harness.bc.upsertCustomer({ number: '20000', type: 'Person' });
      const response = await post(`/api/customers/by-number/${encodeURIComponent(number)}/sync`);
      expect(response.status).toBe(404);
      expect(await countMessages(SYNC_QUEUE)).toBe(0);
      const lookups = harness.bc.requestLog.filter((entry) => entry.kind === 'list');
      // Numbers longer than Code[20] cannot exist and are answered without a request.
      expect(lookups).toHaveLength(number.length <= 20 ? 1 : 0);
      for (const request of lookups) {
        // Whatever reached Business Central had the quotes doubled inside one string literal.
        const filter = new URL(request.url).searchParams.get('$filter') ?? '';
        expect(filter).toMatch(/^number eq '(?:[^']|'')*'$/u);
      }
    },
  );

  test('Business Central unavailable → 503, nothing enqueued', async () => {
    harness.bc.faults.add({ status: 503 });
    const response = await post('/api/customers/by-number/10000/sync');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
  });
});
