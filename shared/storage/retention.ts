import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { statusOf, storageError, tableClient, type StorageConnection } from './connection';
import { TRANSFERS_BY_TIME_TABLE, TRANSFERS_TABLE, utcDay } from './transferStore';

/** Inverted epoch-ms keys are 13 digits wide (see transferStore.ts rowKeyFor). */
const MAX_EPOCH_MS = 9_999_999_999_999;
/** A batch (entity group transaction) holds at most 100 operations, all in one partition. */
const BATCH_SIZE = 100;
const PAGE_SIZE = 1000;

export interface RetentionOptions {
  /** Contract names by default; override only for isolation. */
  tableName?: string;
  byTimeTableName?: string;
  /** Stop after this many deletions per table (the next run continues). Default 200,000. */
  maxDeletesPerTable?: number;
}

export interface RetentionResult {
  cutoff: string;
  /** Rows deleted from CustomerTransfers and from the TransfersByTime index. */
  transfers: number;
  index: number;
  /** True when a table had more than maxDeletesPerTable old rows: the next run deletes the rest. */
  more: boolean;
}

/**
 * Deletes transfer history that finished before `cutoff` from both history tables, in batches of up to 100
 * rows of one partition. Links (CustomerLinks) and state (SyncState) are other tables and are never read or
 * touched. Row keys sort newest first by an inverted time, so "older than" is one range filter per table.
 */
export async function purgeTransfersBefore(storage: StorageConnection, cutoff: Date, options: RetentionOptions = {}): Promise<RetentionResult> {
  const cutoffMs = cutoff.getTime();
  const limit = options.maxDeletesPerTable ?? 200_000;
  const invertedCutoff = String(MAX_EPOCH_MS - Math.min(MAX_EPOCH_MS, Math.max(0, cutoffMs))).padStart(13, '0');
  const transfers = tableClient(storage, options.tableName ?? TRANSFERS_TABLE);
  const byTime = tableClient(storage, options.byTimeTableName ?? TRANSFERS_BY_TIME_TABLE);
  // CustomerTransfers: any customer's rows whose key (inverted finish time first) sorts after the cutoff's.
  const old = await deleteMatching(transfers, odata`RowKey gt ${invertedCutoff}`, limit);
  // TransfersByTime: whole days before the cutoff's day, then the cutoff's day by row key.
  const day = utcDay(cutoffMs);
  const index = await deleteMatching(byTime, odata`PartitionKey lt ${day} or (PartitionKey eq ${day} and RowKey gt ${invertedCutoff})`, limit);
  return { cutoff: cutoff.toISOString(), transfers: old.deleted, index: index.deleted, more: old.more || index.more };
}

async function deleteMatching(table: TableClient, filter: string, limit: number): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0;
  try {
    const pages = table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: PAGE_SIZE });
    for await (const page of pages) {
      const byPartition = new Map<string, string[]>();
      for (const entity of page) {
        const partitionKey = String(entity.partitionKey);
        const rows = byPartition.get(partitionKey) ?? [];
        rows.push(String(entity.rowKey));
        byPartition.set(partitionKey, rows);
      }
      for (const [partitionKey, rowKeys] of byPartition) {
        for (let start = 0; start < rowKeys.length; start += BATCH_SIZE) {
          const slice = rowKeys.slice(start, start + BATCH_SIZE);
          await deleteRows(table, partitionKey, slice);
          deleted += slice.length;
        }
      }
      if (deleted >= limit) return { deleted, more: true };
    }
  } catch (error) {
    // No table yet: nothing was ever recorded, so nothing to delete.
    if (statusOf(error) === 404) return { deleted, more: false };
    throw storageError(`deleting old rows from ${table.tableName}`, error);
  }
  return { deleted, more: false };
}

async function deleteRows(table: TableClient, partitionKey: string, rowKeys: readonly string[]): Promise<void> {
  if (rowKeys.length === 1) {
    try {
      await table.deleteEntity(partitionKey, rowKeys[0]!);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    return;
  }
  const actions: TransactionAction[] = rowKeys.map((rowKey) => ['delete', { partitionKey, rowKey }]);
  try {
    await table.submitTransaction(actions);
  } catch (error) {
    // A row deleted meanwhile (another run) fails the whole batch: delete one by one instead.
    if (statusOf(error) !== 404) throw error;
    for (const rowKey of rowKeys) await deleteRows(table, partitionKey, [rowKey]);
  }
}
