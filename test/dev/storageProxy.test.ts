import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import type { AzuritePorts } from '../../dev/azurite';
import { startStorageProxy, totalOf, type StorageProxy } from '../../dev/storageProxy';
import { storageError } from '../../shared/storage/connection';
import { resetAllStorage } from '../support/storage';

/** The proxy the bench counts through and the fault campaign fails storage with, in front of the test Azurite. */
const azurite = JSON.parse(process.env.TEST_AZURITE_PORTS ?? '{"blob":10000,"queue":10001,"table":10002}') as AzuritePorts;
const account = `worker${process.env.JEST_WORKER_ID ?? '1'}`;
let proxy: StorageProxy;

beforeAll(async () => {
  await resetAllStorage();
  proxy = await startStorageProxy(azurite);
});
afterAll(() => proxy.close());

/** Clients without the SDKs' own retries, so a refused request fails at once. */
const table = () => TableClient.fromConnectionString(proxy.connectionString(account), 'ProxyTest', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
const queue = () => new QueueClient(proxy.connectionString(account), 'proxy-test', { retryOptions: { maxTries: 1 } });

test('it forwards every request and counts it by service, target and operation', async () => {
  await table().createTable();
  await table().createEntity({ partitionKey: 'p', rowKey: 'r', Value: 1 });
  expect((await table().getEntity<{ Value: number }>('p', 'r')).Value).toBe(1);
  const counts = proxy.snapshot().byOperation;
  expect(counts['table ProxyTest insert']).toBe(1);
  expect(counts['table ProxyTest read']).toBe(1);
});

test('a queue put is kept with its decoded message and delay; an empty receive is counted apart', async () => {
  await queue().createIfNotExists();
  await queue().sendMessage(Buffer.from(JSON.stringify({ customerId: 'c-1' })).toString('base64'), { visibilityTimeout: 7 });
  expect(proxy.puts.at(-1)).toMatchObject({ queue: 'proxy-test', body: { customerId: 'c-1' }, delaySeconds: 7, refused: false });
  await queue().receiveMessages();
  expect(proxy.snapshot().emptyReceives['proxy-test']).toBe(1);
});

test('a service that is down answers 503 ServerBusy in its own error format, which the app takes as storage unavailable; the others still answer', async () => {
  proxy.down('table', 60_000);
  const refused = await table().getEntity('p', 'r').then(
    () => undefined,
    (error: unknown) => error,
  );
  const classified = storageError('reading', refused);
  expect(classified).toMatchObject({ code: 'StorageUnavailable', transient: true });
  expect(classified.message).toContain('HTTP 503 ServerBusy');
  await expect(queue().getProperties()).resolves.toBeDefined();

  proxy.down('queue', 60_000);
  await expect(queue().sendMessage('x')).rejects.toMatchObject({ statusCode: 503, code: 'ServerBusy' });
  expect(proxy.puts.at(-1)).toMatchObject({ queue: 'proxy-test', refused: true });

  proxy.up('table');
  proxy.up('queue');
  expect((await table().getEntity<{ Value: number }>('p', 'r')).Value).toBe(1);
  expect(proxy.snapshot().refused).toEqual({ table: 1, queue: 1 });
  // A refused request is counted too (Azure bills a failed transaction); the empty receive only among the idle polls.
  expect(proxy.snapshot().byOperation).toMatchObject({ 'queue proxy-test put': 2, 'queue proxy-test receive': 0, 'queue proxy-test properties': 1 });
  expect(totalOf(proxy.snapshot().emptyReceives)).toBe(1);
});
