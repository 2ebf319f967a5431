import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { SYNC_STATE_TABLE, TableLeaseStore } from '../../shared/storage';
import { resetStorage, testStorageConnectionString } from '../support/storage';
import { fixedClock } from '../support/clock';
import { offsetClock } from '../../shared/clock';

const NAME = 'customer-f2a5738a-44e3-ea11-bb43-000d3a2feca1';

/** A clock the test moves by hand, so expiry needs no waiting. */
const manualClock = () => fixedClock('2026-03-10T10:00:00.000Z');

beforeEach(resetStorage);

test('acquires a free lease with a token and an expiry ttl from now', async () => {
  const clock = manualClock();
  const store = new TableLeaseStore(loadStorageConfig(), { clock, expiryBy: 'clock' });
  const lease = await store.tryAcquire(NAME, 60_000);
  expect(lease).not.toBeNull();
  expect(lease!.name).toBe(NAME);
  expect(lease!.token).toMatch(/^[0-9a-f-]{36}$/u);
  expect(lease!.expiresAt).toBe(new Date(clock.now() + 60_000).toISOString());
});

test('a held lease cannot be acquired by anyone else', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const first = await store.tryAcquire(NAME, 60_000);
  expect(first).not.toBeNull();
  expect(await store.tryAcquire(NAME, 60_000)).toBeNull();
  expect(await new TableLeaseStore(loadStorageConfig()).tryAcquire(NAME, 60_000)).toBeNull();
  // Other names are independent.
  expect(await store.tryAcquire(`${NAME}-other`, 60_000)).not.toBeNull();
});

test('ten concurrent contenders for a free lease: exactly one wins', async () => {
  const stores = Array.from({ length: 10 }, () => new TableLeaseStore(loadStorageConfig()));
  const results = await Promise.all(stores.map((store) => store.tryAcquire(NAME, 60_000)));
  const winners = results.filter((lease) => lease !== null);
  expect(winners).toHaveLength(1);
  const raw = TableClient.fromConnectionString(testStorageConnectionString(), SYNC_STATE_TABLE, { allowInsecureConnection: true });
  const row = await raw.getEntity<{ Token: string }>('lease', NAME);
  expect(row.Token).toBe(winners[0]!.token);
});

test('ten concurrent contenders for an expired lease: exactly one takes it over', async () => {
  const clock = manualClock();
  const store = new TableLeaseStore(loadStorageConfig(), { clock, expiryBy: 'clock' });
  const stale = await store.tryAcquire(NAME, 1_000);
  clock.advance(1_001);
  const results = await Promise.all(Array.from({ length: 10 }, () => store.tryAcquire(NAME, 60_000)));
  const winners = results.filter((lease) => lease !== null);
  expect(winners).toHaveLength(1);
  expect(winners[0]!.token).not.toBe(stale!.token);
});

test('an expired lease is taken over; the old holder can then neither renew nor release it', async () => {
  const clock = manualClock();
  const store = new TableLeaseStore(loadStorageConfig(), { clock, expiryBy: 'clock' });
  const old = await store.tryAcquire(NAME, 5_000);
  clock.advance(4_999);
  expect(await store.tryAcquire(NAME, 5_000)).toBeNull();
  clock.advance(2);
  const taker = await store.tryAcquire(NAME, 5_000);
  expect(taker).not.toBeNull();

  expect(await store.renew(old!, 5_000)).toBe(false);
  await store.release(old!);
  // Still held by the taker: a third party is refused.
  expect(await store.tryAcquire(NAME, 5_000)).toBeNull();
  await store.release(taker!);
  expect(await store.tryAcquire(NAME, 5_000)).not.toBeNull();
});

test('release by a non-owner is ignored', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const lease = await store.tryAcquire(NAME, 60_000);
  await store.release({ name: NAME, token: 'not-the-token', expiresAt: lease!.expiresAt });
  expect(await store.tryAcquire(NAME, 60_000)).toBeNull();
  expect(await store.renew(lease!, 60_000)).toBe(true);
});

test('release frees the lease for the next contender; releasing twice is harmless', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const lease = await store.tryAcquire(NAME, 60_000);
  await store.release(lease!);
  await store.release(lease!);
  expect(await store.tryAcquire(NAME, 60_000)).not.toBeNull();
});

test('renew extends the expiry so a contender is refused past the original one', async () => {
  const clock = manualClock();
  const store = new TableLeaseStore(loadStorageConfig(), { clock, expiryBy: 'clock' });
  const lease = await store.tryAcquire(NAME, 5_000);
  clock.advance(4_000);
  expect(await store.renew(lease!, 5_000)).toBe(true);
  expect(lease!.expiresAt).toBe(new Date(clock.now() + 5_000).toISOString());
  clock.advance(4_000); // 8 s after acquiring: expired without the renewal
  expect(await store.tryAcquire(NAME, 5_000)).toBeNull();
});

test('renew of a lease that no longer exists answers false', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const lease = await store.tryAcquire(NAME, 60_000);
  await store.release(lease!);
  expect(await store.renew(lease!, 60_000)).toBe(false);
});

test('names with characters that table keys forbid still work, and stay distinct', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const slash = await store.tryAcquire('poll/customers#1?', 60_000);
  expect(slash).not.toBeNull();
  expect(slash!.name).toBe('poll/customers#1?');
  expect(await store.tryAcquire('poll/customers#1?', 60_000)).toBeNull();
  expect(await store.tryAcquire('poll%2Fcustomers#1?', 60_000)).not.toBeNull();
});

test('a corrupt lease row counts as expired and can be taken over', async () => {
  const raw = TableClient.fromConnectionString(testStorageConnectionString(), SYNC_STATE_TABLE, { allowInsecureConnection: true });
  await raw.createTable();
  await raw.createEntity({ partitionKey: 'lease', rowKey: NAME, Token: 'x', ExpiresAt: 'never' });
  const store = new TableLeaseStore(loadStorageConfig());
  expect(await store.tryAcquire(NAME, 60_000)).not.toBeNull();
});

test('a non-positive duration is a programming error', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  await expect(store.tryAcquire(NAME, 0)).rejects.toBeInstanceOf(SyncError);
  await expect(store.tryAcquire(NAME, Number.NaN)).rejects.toMatchObject({ transient: false });
});

test('a free lease costs one write to take, one to renew and one to release, with no reads (storage transactions are billed)', async () => {
  const store = new TableLeaseStore(loadStorageConfig());
  const table = (store as unknown as { table: TableClient }).table;
  const calls = ['getEntity', 'createEntity', 'updateEntity', 'deleteEntity'].map((method) => jest.spyOn(table, method as 'getEntity'));
  const lease = await store.tryAcquire(NAME, 60_000);
  expect(lease?.etag).toBeTruthy();
  expect(await store.renew(lease!, 60_000)).toBe(true);
  await store.release(lease!);
  expect(calls.map((spy) => spy.mock.calls.length)).toEqual([0, 1, 1, 1]);
  // Released for real: the next contender takes it with one insert.
  expect(await store.tryAcquire(NAME, 60_000)).not.toBeNull();
});

test('a holder whose lease was taken over cannot release or renew it with its stale ETag, even after the new holder renewed', async () => {
  const clock = manualClock();
  const store = new TableLeaseStore(loadStorageConfig(), { clock, expiryBy: 'clock' });
  const old = await store.tryAcquire(NAME, 1_000);
  clock.advance(1_001);
  const taker = await store.tryAcquire(NAME, 60_000);
  expect(await store.renew(taker!, 60_000)).toBe(true);
  await store.release(old!);
  expect(await store.renew(old!, 60_000)).toBe(false);
  expect(await store.tryAcquire(NAME, 60_000)).toBeNull();
  await store.release(taker!);
  expect(await store.tryAcquire(NAME, 60_000)).not.toBeNull();
});

describe("expiry is judged by storage's clock, not the instances'", () => {
  const minutes = (count: number) => count * 60_000;

  test('an instance whose clock runs ahead cannot take a lease over early', async () => {
    const holder = new TableLeaseStore(loadStorageConfig());
    expect(await holder.tryAcquire(NAME, 60_000)).not.toBeNull();
    const ahead = new TableLeaseStore(loadStorageConfig(), { clock: offsetClock(minutes(10)) });
    expect(await ahead.tryAcquire(NAME, 60_000)).toBeNull();
  });

  test('a lease not renewed for its time is taken over, also by an instance whose clock runs behind', async () => {
    const holder = new TableLeaseStore(loadStorageConfig());
    const held = await holder.tryAcquire(NAME, 500);
    expect(held).not.toBeNull();
    // Storage dates its replies to the second: 1.6 s is past 500 ms whatever the rounding.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const behind = new TableLeaseStore(loadStorageConfig(), { clock: offsetClock(-minutes(10)) });
    const taken = await behind.tryAcquire(NAME, 60_000);
    expect(taken).not.toBeNull();
    expect(await holder.renew(held!, 500)).toBe(false);
  });
});
