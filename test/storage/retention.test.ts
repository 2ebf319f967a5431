import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { createStorage, TRANSFERS_BY_TIME_TABLE, TRANSFERS_TABLE, type TransferRecord } from '../../shared/storage';
import { purgeTransfersBefore } from '../../shared/storage/retention';
import { resetStorage, testStorageConnectionString } from '../support/storage';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-27T10:00:00.000Z');
const CUTOFF = new Date(NOW - 90 * DAY);

function transfer(customerId: string, finishedMs: number): TransferRecord {
  const finishedAt = new Date(finishedMs).toISOString();
  return {
    transferId: randomUUID(),
    customerId,
    customerNumber: '10000',
    source: 'poll',
    status: 'Succeeded',
    action: 'Updated',
    errorCode: null,
    errorMessage: null,
    ipaasCustomerId: '4711',
    addressesAdded: 0,
    attempt: 1,
    startedAt: finishedAt,
    finishedAt,
    durationMs: 0,
    warnings: [],
  };
}

async function count(name: string): Promise<number> {
  let rows = 0;
  const table = TableClient.fromConnectionString(testStorageConnectionString(), name, { allowInsecureConnection: true });
  for await (const _row of table.listEntities({ queryOptions: { select: ['RowKey'] } })) rows += 1;
  return rows;
}

beforeEach(() => resetStorage());

test('deletes history older than the cutoff from both tables, in batches, and leaves links, state and newer rows alone', async () => {
  const storage = createStorage(loadStorageConfig(process.env));
  const customers = Array.from({ length: 5 }, () => randomUUID());
  const old: TransferRecord[] = [];
  // 150 old rows on one day (more than one batch of 100 in that index partition), over five customers.
  for (let index = 0; index < 150; index += 1) old.push(transfer(customers[index % 5]!, NOW - 120 * DAY + index * 1000));
  // A few old rows on other days, one just before the cutoff on the cutoff's own day.
  old.push(transfer(customers[0]!, NOW - 300 * DAY), transfer(customers[1]!, CUTOFF.getTime() - 1000));
  const recent = [transfer(customers[0]!, NOW - DAY), transfer(customers[1]!, CUTOFF.getTime() + 1000), transfer(customers[2]!, NOW)];
  for (const record of [...old, ...recent]) await storage.transfers.record(record);
  await storage.links.save({ customerId: customers[0]!, ipaasCustomerId: '4711', customerNumber: '10000', payloadHash: 'h', lastSyncedAt: new Date(NOW - 200 * DAY).toISOString() });
  await storage.state.put('pollWatermark', { lastModifiedDateTime: new Date(NOW - 200 * DAY).toISOString() });

  const result = await purgeTransfersBefore(loadStorageConfig(process.env), CUTOFF);

  expect(result).toMatchObject({ transfers: old.length, index: old.length, more: false });
  expect(await count(TRANSFERS_TABLE)).toBe(recent.length);
  expect(await count(TRANSFERS_BY_TIME_TABLE)).toBe(recent.length);
  const left = (await Promise.all(customers.map((id) => storage.transfers.listForCustomer(id, 100)))).flat();
  expect(left.map((record) => record.transferId).sort()).toEqual(recent.map((record) => record.transferId).sort());
  expect(await storage.links.get(customers[0]!)).toMatchObject({ ipaasCustomerId: '4711' });
  expect(await storage.state.get('pollWatermark', (value) => value)).not.toBeNull();

  // A second run finds nothing more; a bounded run says when more remain.
  expect(await purgeTransfersBefore(loadStorageConfig(process.env), CUTOFF)).toMatchObject({ transfers: 0, index: 0, more: false });
});

test('stops at the per-run bound and says more remain; the next run continues', async () => {
  const storage = createStorage(loadStorageConfig(process.env));
  const customer = randomUUID();
  for (let index = 0; index < 30; index += 1) await storage.transfers.record(transfer(customer, NOW - 100 * DAY + index));
  const first = await purgeTransfersBefore(loadStorageConfig(process.env), CUTOFF, { maxDeletesPerTable: 10 });
  expect(first.more).toBe(true);
  expect(first.transfers).toBeGreaterThanOrEqual(10);
  const second = await purgeTransfersBefore(loadStorageConfig(process.env), CUTOFF);
  expect(first.transfers + second.transfers).toBe(30);
  expect(await count(TRANSFERS_TABLE)).toBe(0);
});

test('without any history tables it deletes nothing and does not fail', async () => {
  expect(await purgeTransfersBefore(loadStorageConfig(process.env), CUTOFF)).toEqual({ cutoff: CUTOFF.toISOString(), transfers: 0, index: 0, more: false });
});
