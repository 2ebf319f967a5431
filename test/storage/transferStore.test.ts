import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { TableTransferStore, TRANSFERS_BY_TIME_TABLE, TRANSFERS_TABLE, utcDay, type TransferRecord } from '../../shared/storage';
import { resetStorage, testStorageConnectionString } from '../support/storage';
import { fixedClock } from '../support/clock';

const CUSTOMER_A = 'f2a5738a-44e3-ea11-bb43-000d3a2feca1';
const CUSTOMER_B = '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3';
const CUSTOMER_C = '4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc';

function transfer(overrides: Partial<TransferRecord> = {}): TransferRecord {
  const finishedAt = overrides.finishedAt ?? '2026-03-10T10:00:00.000Z';
  return {
    transferId: randomUUID(),
    customerId: CUSTOMER_A,
    customerNumber: '10000',
    source: 'webhook',
    status: 'Succeeded',
    action: 'Created',
    errorCode: null,
    errorMessage: null,
    ipaasCustomerId: '4711',
    addressesAdded: 1,
    attempt: 1,
    startedAt: new Date(Date.parse(finishedAt) - 250).toISOString(),
    finishedAt,
    durationMs: 250,
    warnings: [],
    ...overrides,
  };
}

function rawTable(name: string): TableClient {
  return TableClient.fromConnectionString(testStorageConnectionString(), name, { allowInsecureConnection: true });
}

function spyLogger(): Logger & { warn: jest.Mock } {
  return { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

beforeEach(resetStorage);

describe('TableTransferStore.record / listForCustomer', () => {
  test('round-trips a record whose nullable fields are all null, exactly', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const record = transfer({
      customerNumber: null,
      action: null,
      errorCode: null,
      errorMessage: null,
      ipaasCustomerId: null,
      status: 'Failed',
      addressesAdded: 0,
    });
    await store.record(record);
    expect(await store.listForCustomer(CUSTOMER_A)).toStrictEqual([record]);
  });

  test('round-trips a fully populated record, with a duration beyond Int32 and a fractional one', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const long = transfer({
      status: 'Failed',
      action: null,
      errorCode: 'InvalidEmail',
      errorMessage: 'EmailAddress is not a valid email address',
      durationMs: 3_000_000_000,
      attempt: 5,
      addressesAdded: 3,
      finishedAt: '2026-03-10T10:00:01.000Z',
    });
    const fractional = transfer({ durationMs: 12.5, source: 'replay', action: 'Updated' });
    await store.record(long);
    await store.record(fractional);
    expect(await store.listForCustomer(CUSTOMER_A)).toStrictEqual([long, fractional]);
  });

  test('stores flat, correctly typed columns and leaves nulls out', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const record = transfer({ durationMs: 3_000_000_000, errorMessage: null, action: 'Unchanged', status: 'Skipped' });
    await store.record(record);
    const rows: Array<Record<string, unknown>> = [];
    for await (const row of rawTable(TRANSFERS_TABLE).listEntities({ disableTypeConversion: true })) rows.push(row);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.partitionKey).toBe(CUSTOMER_A);
    expect(row.AddressesAdded).toEqual({ value: '1', type: 'Int32' });
    expect(row.Attempt).toEqual({ value: '1', type: 'Int32' });
    expect(row.DurationMs).toEqual({ value: '3000000000', type: 'Int64' });
    expect(row.Status).toEqual({ value: 'Skipped', type: 'String' });
    expect(row).not.toHaveProperty('ErrorMessage');
    expect(row).not.toHaveProperty('ErrorCode');
  });

  test('writes the same row into TransfersByTime, partitioned by UTC day of finishedAt', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const record = transfer({ finishedAt: '2026-03-09T23:59:59.999Z' });
    await store.record(record);
    const rows: Array<Record<string, unknown>> = [];
    for await (const row of rawTable(TRANSFERS_BY_TIME_TABLE).listEntities()) rows.push(row);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.partitionKey).toBe('2026-03-09');
    expect(rows[0]!.TransferId).toBe(record.transferId);
  });

  test('lists newest first, including several records within the same millisecond', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const base = Date.parse('2026-03-10T10:00:00.000Z');
    const at = (ms: number) => new Date(base + ms).toISOString();
    const older = transfer({ finishedAt: at(0) });
    const sameMs1 = transfer({ finishedAt: at(1) });
    const sameMs2 = transfer({ finishedAt: at(1) });
    const sameMs3 = transfer({ finishedAt: at(1) });
    const newest = transfer({ finishedAt: at(2) });
    const otherCustomer = transfer({ customerId: CUSTOMER_B, finishedAt: at(3) });
    // Recorded out of time order: the order of the listing comes from finishedAt, then recording order.
    for (const record of [sameMs1, newest, older, sameMs2, otherCustomer, sameMs3]) await store.record(record);
    const listed = await store.listForCustomer(CUSTOMER_A);
    expect(listed.map((r) => r.transferId)).toEqual([newest, sameMs3, sameMs2, sameMs1, older].map((r) => r.transferId));
  });

  test('honours the limit and defaults to 50', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const base = Date.parse('2026-03-10T10:00:00.000Z');
    const records = Array.from({ length: 55 }, (_, index) => transfer({ finishedAt: new Date(base + index * 1000).toISOString() }));
    await Promise.all(records.map((record) => store.record(record)));
    const newestFirst = [...records].reverse().map((r) => r.transferId);
    expect((await store.listForCustomer(CUSTOMER_A, 3)).map((r) => r.transferId)).toEqual(newestFirst.slice(0, 3));
    expect((await store.listForCustomer(CUSTOMER_A)).map((r) => r.transferId)).toEqual(newestFirst.slice(0, 50));
  });

  test('finds a customer whatever the case or braces of its GUID', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const record = transfer({ customerId: CUSTOMER_A.toUpperCase() });
    await store.record(record);
    expect(await store.listForCustomer(`{${CUSTOMER_A}}`)).toStrictEqual([record]);
  });

  test('accepts customer ids that are not valid table keys (failed messages record what they got)', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const weird = transfer({ customerId: 'not/a#guid?\\', status: 'Failed', action: null, errorCode: 'InvalidMessage' });
    const empty = transfer({ customerId: '', status: 'Failed', action: null, errorCode: 'InvalidMessage' });
    await store.record(weird);
    await store.record(empty);
    expect(await store.listForCustomer('not/a#guid?\\')).toStrictEqual([weird]);
    expect(await store.listForCustomer('')).toStrictEqual([empty]);
  });

  test('recording the same transfer again (a retry) overwrites instead of duplicating', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const record = transfer();
    await store.record(record);
    await store.record(record);
    expect(await store.listForCustomer(CUSTOMER_A)).toHaveLength(1);
  });

  test('refuses an invalid record with a final error and writes nothing', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    const bad = { ...transfer(), status: 'Done' } as unknown as TransferRecord;
    const error = await store.record(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'StorageRejected', transient: false });
    expect((error as Error).message).toContain('status');
    expect(await store.listForCustomer(CUSTOMER_A)).toEqual([]);
  });

  test('skips a corrupt row with a warning instead of failing the listing', async () => {
    const logger = spyLogger();
    const store = new TableTransferStore(loadStorageConfig(), { logger });
    const good = transfer({ finishedAt: '2026-03-10T10:00:00.000Z' });
    await store.record(good);
    // Sorts before the good row, so the listing must step over it.
    await rawTable(TRANSFERS_TABLE).upsertEntity({ partitionKey: CUSTOMER_A, rowKey: '0000000000000_x', TransferId: 'x', Status: 'Bogus' });
    expect(await store.listForCustomer(CUSTOMER_A)).toStrictEqual([good]);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![0]).toContain('0000000000000_x');
  });
});

describe('TableTransferStore.listRecent', () => {
  const NOW = new Date('2026-03-10T12:00:00.000Z');
  const day = (daysAgo: number, time = '10:00:00.000') => `${utcDay(NOW.getTime() - daysAgo * 86_400_000)}T${time}Z`;

  test('walks back over days, across customers, newest first', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()) });
    const today1 = transfer({ customerId: CUSTOMER_A, finishedAt: day(0, '09:00:00.000') });
    const today2 = transfer({ customerId: CUSTOMER_B, finishedAt: day(0, '11:00:00.000') });
    const yesterday = transfer({ customerId: CUSTOMER_C, finishedAt: day(1) });
    const lastWeek = transfer({ customerId: CUSTOMER_A, finishedAt: day(7), status: 'Failed', action: null, errorCode: 'MissingEmail' });
    const twentyDaysBefore = transfer({ customerId: CUSTOMER_B, finishedAt: day(27) });
    for (const record of [yesterday, today1, twentyDaysBefore, lastWeek, today2]) await store.record(record);
    const listed = await store.listRecent({ limit: 10 });
    expect(listed.map((r) => r.transferId)).toEqual([today2, today1, yesterday, lastWeek, twentyDaysBefore].map((r) => r.transferId));
    expect(listed[0]).toStrictEqual(today2);
  });

  test('filters by status and stops at the limit', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()) });
    const failed = (daysAgo: number, customerId: string) =>
      transfer({ customerId, finishedAt: day(daysAgo), status: 'Failed', action: null, errorCode: 'InvalidEmail', errorMessage: 'bad email' });
    const f0 = failed(0, CUSTOMER_A);
    const f2 = failed(2, CUSTOMER_B);
    const f5 = failed(5, CUSTOMER_C);
    const f9 = failed(9, CUSTOMER_A);
    const succeeded = [0, 1, 2, 3, 4, 6, 9].map((daysAgo) => transfer({ finishedAt: day(daysAgo, '08:00:00.000') }));
    await Promise.all([f0, f2, f5, f9, ...succeeded].map((record) => store.record(record)));

    const allFailed = await store.listRecent({ status: 'Failed', limit: 10 });
    expect(allFailed.map((r) => r.transferId)).toEqual([f0, f2, f5, f9].map((r) => r.transferId));
    expect(allFailed.every((r) => r.status === 'Failed')).toBe(true);

    expect((await store.listRecent({ status: 'Failed', limit: 2 })).map((r) => r.transferId)).toEqual([f0.transferId, f2.transferId]);
    const skipped = await store.listRecent({ status: 'Skipped', limit: 5 });
    expect(skipped).toEqual([]);
    const recent = await store.listRecent({ limit: 3 });
    expect(recent).toHaveLength(3);
    expect(recent[0]!.transferId).toBe(f0.transferId);
  });

  test('a status filter does not end the walk early while older days still have other transfers', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()), maxEmptyDays: 3 });
    // Daily successes keep every day non-empty; the only failure is 10 days back, beyond 3 "empty" days.
    const daily = Array.from({ length: 11 }, (_, daysAgo) => transfer({ finishedAt: day(daysAgo) }));
    const oldFailure = transfer({ finishedAt: day(10, '11:00:00.000'), status: 'Failed', action: null, errorCode: 'MissingName' });
    await Promise.all([...daily, oldFailure].map((record) => store.record(record)));
    expect((await store.listRecent({ status: 'Failed', limit: 5 })).map((r) => r.transferId)).toEqual([oldFailure.transferId]);
  });

  test('stops after the configured run of days without any transfer, and never goes beyond maxDaysBack', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()), maxEmptyDays: 30, maxDaysBack: 100 });
    const recent = transfer({ finishedAt: day(0) });
    const afterGap20 = transfer({ finishedAt: day(21) });
    const afterGap40 = transfer({ finishedAt: day(62) });
    await Promise.all([recent, afterGap20, afterGap40].map((record) => store.record(record)));
    expect((await store.listRecent({ limit: 10 })).map((r) => r.transferId)).toEqual([recent.transferId, afterGap20.transferId]);

    const bounded = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()), maxEmptyDays: 1000, maxDaysBack: 30 });
    expect((await bounded.listRecent({ limit: 10 })).map((r) => r.transferId)).toEqual([recent.transferId, afterGap20.transferId]);
  });

  test('includes rows filed under tomorrow by a writer whose clock runs ahead', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { clock: fixedClock(NOW.toISOString()) });
    const ahead = transfer({ finishedAt: `${utcDay(NOW.getTime() + 86_400_000)}T00:00:01.000Z` });
    await store.record(ahead);
    expect(await store.listRecent({ limit: 5 })).toStrictEqual([ahead]);
  });
});
