import { QueueClient } from '@azure/storage-queue';
import { azuriteConnectionString, freePort } from '../../dev/azurite';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import {
  createQueueSender,
  decodeMessage,
  deleteMessage,
  encodeMessage,
  peekCount,
  receiveMessages,
  sendMessageText,
  StorageQueueSender,
  updateVisibility,
} from '../../shared/storage';
import { type SyncMessage } from '../../shared/messages';
import { resetStorage } from '../support/storage';
import { POISON_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';

const message = (index: number): SyncMessage => ({
  customerId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
  source: 'poll',
  changeType: 'updated',
  correlationId: `corr-${index}`,
  enqueuedAt: '2026-03-10T10:00:00.000Z',
});

beforeEach(resetStorage);

// How fast is a bench figure (docs/performance.md), not a test's.
test('sends 1,000 messages, base64 JSON, each decoding to the original', async () => {
  const storage = loadStorageConfig();
  const sender = createQueueSender(storage, SYNC_QUEUE);
  const messages = Array.from({ length: 1000 }, (_, index) => message(index));
  await sender.send(messages);
  expect(await peekCount(storage, SYNC_QUEUE)).toBe(1000);

  const [received] = await receiveMessages(storage, SYNC_QUEUE, 1, 30);
  expect(received).toBeDefined();
  // The wire format the Functions host expects with messageEncoding base64.
  expect(received!.messageText).toMatch(/^[A-Za-z0-9+/]+=*$/u);
  const decoded = decodeMessage(received!.messageText) as SyncMessage;
  const index = Number(decoded.correlationId.slice('corr-'.length));
  expect(decoded).toEqual(messages[index]);
  expect(received!.dequeueCount).toBe(1);
}, 60_000);

/** A stand-in queue whose sends take a few ms, to observe parallelism and failures deterministically. */
function fakeQueue(options: { failAt?: number } = {}) {
  let inFlight = 0;
  const stats = { maxInFlight: 0, attempted: 0, sent: [] as string[], options: [] as Array<{ visibilityTimeout?: number; messageTimeToLive?: number }> };
  const queue = {
    name: `fake-${Math.random()}`,
    get url() {
      return `http://fake.test/${this.name}`;
    },
    createIfNotExists: async () => ({ succeeded: true }),
    sendMessage: async (text: string, sendOptions: { visibilityTimeout?: number; messageTimeToLive?: number } = {}) => {
      stats.options.push(sendOptions);
      const index = stats.attempted++;
      inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      if (index === options.failAt) throw Object.assign(new Error('Server busy'), { name: 'RestError', statusCode: 503 });
      stats.sent.push(text);
      return {};
    },
  };
  return { queue: queue as unknown as QueueClient, stats };
}

test('sends with bounded parallelism (32 by default) and every message exactly once', async () => {
  const { queue, stats } = fakeQueue();
  await new StorageQueueSender(queue).send(Array.from({ length: 500 }, (_, index) => message(index)));
  expect(stats.maxInFlight).toBe(32);
  expect(new Set(stats.sent).size).toBe(500);
  const limited = fakeQueue();
  await new StorageQueueSender(limited.queue, { concurrency: 4 }).send(Array.from({ length: 50 }, (_, index) => message(index)));
  expect(limited.stats.maxInFlight).toBe(4);
});

test('a delayed message becomes visible an hour before it would expire, however long the delay asked for', async () => {
  const { queue, stats } = fakeQueue();
  await new StorageQueueSender(queue).send([message(1)], { delaySeconds: 7 * 24 * 3600 });
  await new StorageQueueSender(queue, { messageTimeToLiveSeconds: 2 * 3600 }).send([message(2)], { delaySeconds: 3 * 3600 });
  await new StorageQueueSender(queue).send([message(3)], { delaySeconds: 300 });
  expect(stats.options).toEqual([
    { visibilityTimeout: 7 * 24 * 3600 - 3600 },
    { messageTimeToLive: 2 * 3600, visibilityTimeout: 3600 },
    { visibilityTimeout: 300 },
  ]);
});

test('one failed send rejects the call (transient, so the caller can answer 503) and no new sends start', async () => {
  const { queue, stats } = fakeQueue({ failAt: 10 });
  const error = await new StorageQueueSender(queue, { concurrency: 4 })
    .send(Array.from({ length: 200 }, (_, index) => message(index)))
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncError);
  expect(error).toMatchObject({ code: 'StorageUnavailable', transient: true, status: 503 });
  expect((error as Error).message).toContain('1 of 200 messages not sent');
  expect(stats.attempted).toBeLessThan(20);
});

test('received messages stay hidden until their visibility ends, reappear when made visible, and go away when deleted', async () => {
  const storage = loadStorageConfig();
  await createQueueSender(storage, SYNC_QUEUE).send([message(1)]);
  const [first] = await receiveMessages(storage, SYNC_QUEUE, 32, 30);
  expect(first).toBeDefined();
  expect(await receiveMessages(storage, SYNC_QUEUE, 32, 30)).toEqual([]);

  const popReceipt = await updateVisibility(storage, SYNC_QUEUE, first!.messageId, first!.popReceipt, 0);
  expect(popReceipt).not.toBe(first!.popReceipt);
  const [again] = await receiveMessages(storage, SYNC_QUEUE, 32, 30);
  expect(again?.messageId).toBe(first!.messageId);
  expect(again?.dequeueCount).toBe(2);

  await deleteMessage(storage, SYNC_QUEUE, again!.messageId, again!.popReceipt);
  await deleteMessage(storage, SYNC_QUEUE, again!.messageId, again!.popReceipt); // already gone: fine
  expect(await peekCount(storage, SYNC_QUEUE)).toBe(0);
});

test('an empty batch sends nothing and succeeds', async () => {
  const storage = loadStorageConfig();
  await createQueueSender(storage, SYNC_QUEUE).send([]);
  expect(await peekCount(storage, SYNC_QUEUE)).toBe(0);
});

test('an oversized message rejects the whole batch before anything is sent', async () => {
  const storage = loadStorageConfig();
  const sender = createQueueSender(storage, SYNC_QUEUE);
  const error = await sender.send([message(1), { blob: 'x'.repeat(60_000) }]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncError);
  expect(error).toMatchObject({ code: 'InvalidMessage', transient: false });
  expect(await peekCount(storage, SYNC_QUEUE)).toBe(0);
});

test('rejects with a transient StorageUnavailable error when the queue service cannot be reached', async () => {
  const port = await freePort();
  const unreachable = azuriteConnectionString({ blob: port, queue: port, table: port });
  const queue = new QueueClient(unreachable.replace(/;$/u, ''), SYNC_QUEUE, { retryOptions: { maxTries: 1 } });
  const error = await new StorageQueueSender(queue).send([message(1), message(2), message(3)]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncError);
  expect(error).toMatchObject({ code: 'StorageUnavailable', transient: true });
  expect((error as Error).message).not.toContain('AccountKey');
});

test('the sync queue is created on first send when missing', async () => {
  const storage = loadStorageConfig();
  await createQueueSender(storage, POISON_QUEUE).send([message(7)]);
  const [received] = await receiveMessages(storage, POISON_QUEUE, 1, 1);
  expect(decodeMessage(received!.messageText)).toEqual(message(7));
});

test('sendMessageText keeps the text exactly, and a never-expiring time to live is honoured', async () => {
  const storage = loadStorageConfig();
  await sendMessageText(storage, POISON_QUEUE, 'not base64 {', { messageTimeToLiveSeconds: -1 });
  const [received] = await receiveMessages(storage, POISON_QUEUE, 1, 1);
  expect(received!.messageText).toBe('not base64 {');
  expect(received!.expiresOn.getUTCFullYear()).toBeGreaterThan(9000);
});

describe('decodeMessage', () => {
  test('decodes base64 JSON, the format we send', () => {
    expect(decodeMessage(encodeMessage({ a: 1, text: 'Grüße' }))).toEqual({ a: 1, text: 'Grüße' });
  });

  test('accepts plain JSON as sent by tools without encoding', () => {
    expect(decodeMessage('{"customerId":"x","source":"manual"}')).toEqual({ customerId: 'x', source: 'manual' });
    expect(decodeMessage('1234')).toBe(1234);
  });

  test('hands anything else over as the text itself, for the worker to reject', () => {
    expect(decodeMessage('hello world')).toBe('hello world');
    expect(decodeMessage(Buffer.from('not json').toString('base64'))).toBe(Buffer.from('not json').toString('base64'));
    expect(decodeMessage('')).toBe('');
  });

  test('encodeMessage refuses what JSON cannot carry', () => {
    expect(() => encodeMessage(undefined)).toThrow(SyncError);
  });
});
