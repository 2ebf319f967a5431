import { randomUUID } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { azuriteConnectionString, freePort } from '../../dev/azurite';
import { SyncError } from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { createQueueSender, createStorage, StorageQueueSender } from '../../shared/storage';
import { catchUpMessageSchema, CUSTOMER_BATCH_SIZE, expandCustomerBatch } from '../../shared/sync/catchUp';
import { DIRECT_ENQUEUE_LIMIT, enqueueManualSync, ingestNotification } from '../../shared/sync/ingest';
import { syncMessageSchema } from '../../shared/messages';
import type { AcceptedNotification } from '../../shared/sync/notifications';
import { resetAllStorage, takeMessages } from './harness';
import { CATCH_UP_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';

const storageConfig = { connectionString: process.env.AzureWebJobsStorage! };
const storage = createStorage(storageConfig);
const COLLECTION = '/api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z';

function plan(overrides: Partial<AcceptedNotification> = {}): AcceptedNotification {
  return { outcome: 'accepted', customers: [], collections: [], deleted: [], ignored: 0, ...overrides };
}

/** A sender whose queue service is a closed port, with no SDK retries, so the failure is immediate. */
async function unreachableSender(): Promise<StorageQueueSender> {
  const port = await freePort();
  const connectionString = azuriteConnectionString({ blob: port, queue: port, table: port }, 'worker1');
  return new StorageQueueSender(new QueueClient(connectionString, SYNC_QUEUE, { retryOptions: { maxTries: 1 } }));
}

beforeEach(resetAllStorage);

test('one valid customer-sync message per customer, one catch-up message per collection, all with the correlation id', async () => {
  const customers = [randomUUID(), randomUUID()];
  const result = await ingestNotification(
    { syncQueue: storage.syncQueue, catchUpQueue: createQueueSender(storageConfig, CATCH_UP_QUEUE), transfers: storage.transfers, logger: silentLogger },
    plan({ customers: customers.map((customerId) => ({ customerId, changeType: 'updated' })), collections: [COLLECTION], ignored: 2 }),
    { correlationId: 'corr-1' },
  );
  expect(result).toEqual({ enqueued: 2, fannedOut: 0, catchUps: 1, deleted: 0, ignored: 2 });
  const syncMessages = (await takeMessages(SYNC_QUEUE)).map((raw) => syncMessageSchema.parse(raw));
  expect(syncMessages.map((message) => message.customerId).sort()).toEqual([...customers].sort());
  expect(syncMessages.every((message) => message.source === 'webhook' && message.correlationId === 'corr-1' && message.changeType === 'updated')).toBe(true);
  const catchUps = (await takeMessages(CATCH_UP_QUEUE)).map((raw) => catchUpMessageSchema.parse(raw));
  expect(catchUps).toEqual([expect.objectContaining({ kind: 'collection', resource: COLLECTION, source: 'webhook', correlationId: 'corr-1' })]);
});

test.each([
  [DIRECT_ENQUEUE_LIMIT, DIRECT_ENQUEUE_LIMIT, 0],
  [DIRECT_ENQUEUE_LIMIT + 1, 0, 1],
  [CUSTOMER_BATCH_SIZE * 2 + 1, 0, 3],
])('%i customers: %i enqueued directly, %i batch messages for the catch-up worker', async (count, direct, batches) => {
  const customers = Array.from({ length: count }, () => ({ customerId: randomUUID(), changeType: 'updated' as const }));
  const catchUpQueue = createQueueSender(storageConfig, CATCH_UP_QUEUE);
  const result = await ingestNotification({ syncQueue: storage.syncQueue, catchUpQueue, transfers: storage.transfers, logger: silentLogger }, plan({ customers }));
  expect(result).toMatchObject({ enqueued: direct, fannedOut: count - direct });
  const batchMessages = (await takeMessages(CATCH_UP_QUEUE)).map((raw) => catchUpMessageSchema.parse(raw));
  expect(batchMessages).toHaveLength(batches);
  expect((await takeMessages(SYNC_QUEUE)).length).toBe(direct);
  // Every customer is in exactly one place, and every batch fits a queue message.
  const batched = batchMessages.flatMap((message) => (message.kind === 'customers' ? message.customers.map((customer) => customer.customerId) : []));
  expect(batched.length + direct).toBe(count);
  for (const message of batchMessages) expect(Buffer.from(JSON.stringify(message)).toString('base64').length).toBeLessThan(64 * 1024);
  // The worker's expansion turns a batch into customer-sync messages.
  if (batchMessages[0]?.kind === 'customers') {
    expect(await expandCustomerBatch({ syncQueue: storage.syncQueue, transfers: storage.transfers }, batchMessages[0])).toEqual({
      enqueued: batchMessages[0].customers.length,
      deleted: 0,
    });
    expect((await takeMessages(SYNC_QUEUE)).map((raw) => syncMessageSchema.parse(raw).customerId).sort()).toEqual(
      batchMessages[0].customers.map((customer) => customer.customerId).sort(),
    );
  }
});

test('deleted customers are recorded as Skipped / Deleted, not synced', async () => {
  const deleted = randomUUID();
  await ingestNotification(
    { syncQueue: storage.syncQueue, catchUpQueue: createQueueSender(storageConfig, CATCH_UP_QUEUE), transfers: storage.transfers, logger: silentLogger },
    plan({ deleted: [deleted] }),
  );
  const [transfer, ...rest] = await storage.transfers.listForCustomer(deleted);
  expect(rest).toEqual([]);
  expect(transfer).toMatchObject({ customerId: deleted, status: 'Skipped', action: 'Deleted', source: 'webhook', errorCode: null, ipaasCustomerId: null });
  expect(await takeMessages(SYNC_QUEUE)).toEqual([]);
});

test('a large notification of mixed changes and deletes is fanned out; the worker enqueues the changes and records the deletes', async () => {
  const changed = Array.from({ length: 60 }, () => ({ customerId: randomUUID(), changeType: 'updated' as const }));
  const deleted = Array.from({ length: 60 }, () => randomUUID());
  const catchUpQueue = createQueueSender(storageConfig, CATCH_UP_QUEUE);
  const result = await ingestNotification(
    { syncQueue: storage.syncQueue, catchUpQueue, transfers: storage.transfers, logger: silentLogger },
    plan({ customers: changed, deleted }),
  );
  expect(result).toMatchObject({ enqueued: 0, fannedOut: 120, deleted: 60 });
  expect(await storage.transfers.listForCustomer(deleted[0]!)).toEqual([]); // not yet: the worker records them
  const [batch, ...more] = (await takeMessages(CATCH_UP_QUEUE)).map((raw) => catchUpMessageSchema.parse(raw));
  expect(more).toEqual([]);
  if (batch?.kind !== 'customers') throw new Error('expected a customers batch');
  expect(await expandCustomerBatch({ syncQueue: storage.syncQueue, transfers: storage.transfers }, batch)).toEqual({ enqueued: 60, deleted: 60 });
  expect((await takeMessages(SYNC_QUEUE)).map((raw) => syncMessageSchema.parse(raw).customerId).sort()).toEqual(changed.map((c) => c.customerId).sort());
  for (const customerId of [deleted[0]!, deleted[59]!]) {
    expect(await storage.transfers.listForCustomer(customerId)).toEqual([expect.objectContaining({ status: 'Skipped', action: 'Deleted', source: 'webhook' })]);
  }
});

test('an unreachable queue rejects with a transient StorageUnavailable error (the webhook turns it into 503)', async () => {
  const failing = await unreachableSender();
  const deleted = randomUUID();
  const attempt = ingestNotification(
    { syncQueue: failing, catchUpQueue: failing, transfers: storage.transfers, logger: silentLogger },
    plan({ customers: [{ customerId: randomUUID(), changeType: 'created' }], collections: [COLLECTION], deleted: [deleted] }),
  );
  await expect(attempt).rejects.toBeInstanceOf(SyncError);
  await expect(attempt).rejects.toMatchObject({ code: 'StorageUnavailable', transient: true });
});

test('a failing transfer store fails the ingest too (nothing is silently dropped)', async () => {
  const transfers = { ...storage.transfers, record: jest.fn().mockRejectedValue(new SyncError('StorageUnavailable', 'down', { transient: true })) };
  await expect(
    ingestNotification(
      { syncQueue: storage.syncQueue, catchUpQueue: storage.syncQueue, transfers, logger: silentLogger },
      plan({ deleted: [randomUUID(), randomUUID()] }),
    ),
  ).rejects.toMatchObject({ code: 'StorageUnavailable' });
  expect(transfers.record).toHaveBeenCalledTimes(2);
});

test('enqueueManualSync sends one manual message', async () => {
  const customerId = randomUUID();
  await enqueueManualSync(storage.syncQueue, customerId, 'manual-corr');
  const [message, ...rest] = (await takeMessages(SYNC_QUEUE)).map((raw) => syncMessageSchema.parse(raw));
  expect(rest).toEqual([]);
  expect(message).toMatchObject({ customerId, source: 'manual', correlationId: 'manual-corr' });
});
