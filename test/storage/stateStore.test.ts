import { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { SYNC_STATE_TABLE, TableStateStore } from '../../shared/storage';
import { resetStorage, testStorageConnectionString } from '../support/storage';

const watermarkSchema = z.object({ lastModifiedDateTime: z.string(), pages: z.number() });
const parseWatermark = (value: unknown) => watermarkSchema.parse(value);

beforeEach(resetStorage);

test('get answers null for a key never written', async () => {
  const store = new TableStateStore(loadStorageConfig());
  expect(await store.get('watermark', parseWatermark)).toBeNull();
});

test('put without etag upserts; get returns the parsed value and an etag', async () => {
  const store = new TableStateStore(loadStorageConfig());
  expect(await store.put('watermark', { lastModifiedDateTime: '2026-03-10T10:00:00Z', pages: 1 })).toBe(true);
  expect(await store.put('watermark', { lastModifiedDateTime: '2026-03-10T11:00:00Z', pages: 2 })).toBe(true);
  const read = await store.get('watermark', parseWatermark);
  expect(read?.value).toEqual({ lastModifiedDateTime: '2026-03-10T11:00:00Z', pages: 2 });
  expect(read?.etag).toEqual(expect.any(String));
});

test('put with etag null creates only: false when the key exists', async () => {
  const store = new TableStateStore(loadStorageConfig());
  expect(await store.put('subscription', { id: 'a' }, null)).toBe(true);
  expect(await store.put('subscription', { id: 'b' }, null)).toBe(false);
  expect((await store.get('subscription', (v) => v))?.value).toEqual({ id: 'a' });
});

test('put with etag succeeds once; the stale etag then answers false and changes nothing', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('watermark', { lastModifiedDateTime: 'a', pages: 0 });
  const first = await store.get('watermark', parseWatermark);
  expect(await store.put('watermark', { lastModifiedDateTime: 'b', pages: 1 }, first!.etag)).toBe(true);
  expect(await store.put('watermark', { lastModifiedDateTime: 'c', pages: 2 }, first!.etag)).toBe(false);
  const second = await store.get('watermark', parseWatermark);
  expect(second?.value).toEqual({ lastModifiedDateTime: 'b', pages: 1 });
  expect(second?.etag).not.toBe(first!.etag);
});

test('two writers racing from the same read: exactly one wins', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('watermark', { lastModifiedDateTime: 'a', pages: 0 });
  const read = await store.get('watermark', parseWatermark);
  const results = await Promise.all(
    Array.from({ length: 5 }, (_, pages) => store.put('watermark', { lastModifiedDateTime: 'x', pages }, read!.etag)),
  );
  expect(results.filter(Boolean)).toHaveLength(1);
});

test('put with an etag after the row was deleted answers false', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('watermark', { lastModifiedDateTime: 'a', pages: 0 });
  const read = await store.get('watermark', parseWatermark);
  await store.delete('watermark');
  expect(await store.put('watermark', { lastModifiedDateTime: 'b', pages: 1 }, read!.etag)).toBe(false);
  expect(await store.get('watermark', parseWatermark)).toBeNull();
});

test('delete removes the value; deleting a missing key is harmless', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('subscription', { id: 'a' });
  await store.delete('subscription');
  await store.delete('subscription');
  expect(await store.get('subscription', (v) => v)).toBeNull();
});

test('keys with characters that table keys forbid work and stay distinct', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('a/b', 1);
  await store.put('a#b', 2);
  expect((await store.get('a/b', Number))?.value).toBe(1);
  expect((await store.get('a#b', Number))?.value).toBe(2);
});

test('a value the parser rejects, or that is not JSON, fails loudly with a final error naming the key', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('watermark', { unexpected: true });
  await expect(store.get('watermark', parseWatermark)).rejects.toMatchObject({ code: 'StorageRejected', transient: false });
  const raw = TableClient.fromConnectionString(testStorageConnectionString(), SYNC_STATE_TABLE, { allowInsecureConnection: true });
  await raw.upsertEntity({ partitionKey: 'state', rowKey: 'broken', Value: '{not json' });
  const error = await store.get('broken', (v) => v).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncError);
  expect((error as Error).message).toContain('"broken"');
});

test('values that cannot be stored are refused before any write', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await expect(store.put('huge', 'x'.repeat(40_000))).rejects.toMatchObject({ transient: false });
  await expect(store.put('nothing', undefined)).rejects.toBeInstanceOf(SyncError);
  expect(await store.get('huge', (v) => v)).toBeNull();
});

test('delete with an etag removes only the row as it was read: false once someone changed it', async () => {
  const store = new TableStateStore(loadStorageConfig());
  await store.put('outage-ipaas', { retryAt: 'a' });
  const read = await store.get('outage-ipaas', (value) => value);
  await store.put('outage-ipaas', { retryAt: 'b' }, read!.etag);
  expect(await store.delete('outage-ipaas', read!.etag)).toBe(false);
  expect((await store.get('outage-ipaas', (value) => value))?.value).toEqual({ retryAt: 'b' });
  const current = await store.get('outage-ipaas', (value) => value);
  expect(await store.delete('outage-ipaas', current!.etag)).toBe(true);
  expect(await store.get('outage-ipaas', (value) => value)).toBeNull();
  expect(await store.delete('outage-ipaas', current!.etag)).toBe(false);
});
