import type { TableClient } from '@azure/data-tables';
import { SyncError } from '../errors';
import { statusOf, storageError, tableClient, toTableKey, withTable, type StorageConnection } from './connection';
import { SYNC_STATE_TABLE } from './leaseStore';
import type { StateStore } from './types';

const STATE_PARTITION = 'state';
/** A string property holds at most 32K UTF-16 characters (64 KiB). */
const MAX_VALUE_LENGTH = 32_000;

export interface StateStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
}

interface StateEntity {
  partitionKey: string;
  rowKey: string;
  Key: string;
  Value: string;
}

/** Small named JSON documents (watermark, webhook subscription) in SyncState, with ETag-based optimistic concurrency. */
export class TableStateStore implements StateStore {
  private readonly table: TableClient;

  constructor(storage: StorageConnection, options: StateStoreOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? SYNC_STATE_TABLE);
  }

  /**
   * The stored value after `parse`, with its ETag; null when absent. A value that is not JSON or that
   * `parse` rejects throws a final error naming the key: silently treating it as absent would let a
   * create-only put fail forever.
   */
  async get<T>(key: string, parse: (value: unknown) => T): Promise<{ value: T; etag: string } | null> {
    let entity: Record<string, unknown> & { etag: string };
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(STATE_PARTITION, toTableKey(key)));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError(`reading state "${key}"`, error);
    }
    try {
      if (typeof entity.Value !== 'string') throw new TypeError('the Value column is missing');
      return { value: parse(JSON.parse(entity.Value)), etag: entity.etag };
    } catch (error) {
      throw new SyncError('StorageRejected', `State "${key}" in ${this.table.tableName} is unreadable; delete or fix the row`, {
        transient: false,
        cause: error,
      });
    }
  }

  async put(key: string, value: unknown, etag?: string | null): Promise<boolean> {
    const json = JSON.stringify(value);
    if (json === undefined) throw new SyncError('StorageRejected', `State "${key}" cannot be stored: the value is not JSON`, { transient: false });
    if (json.length > MAX_VALUE_LENGTH) {
      throw new SyncError('StorageRejected', `State "${key}" is too large (${json.length} characters, at most ${MAX_VALUE_LENGTH})`, {
        transient: false,
      });
    }
    const entity: StateEntity = { partitionKey: STATE_PARTITION, rowKey: toTableKey(key), Key: key, Value: json };
    try {
      if (etag === undefined) await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace'));
      else if (etag === null) await withTable(this.table, () => this.table.createEntity(entity));
      else await withTable(this.table, () => this.table.updateEntity(entity, 'Replace', { etag }));
      return true;
    } catch (error) {
      const status = statusOf(error);
      // 409: created by someone else; 412: changed since read; 404: deleted since read.
      if ((etag === null && status === 409) || (typeof etag === 'string' && (status === 412 || status === 404))) return false;
      throw storageError(`writing state "${key}"`, error);
    }
  }

  async delete(key: string, etag?: string): Promise<boolean> {
    try {
      await withTable(this.table, () => this.table.deleteEntity(STATE_PARTITION, toTableKey(key), etag === undefined ? {} : { etag }));
      return true;
    } catch (error) {
      const status = statusOf(error);
      // Without an ETag, gone is as good as deleted; with one, the row read is no longer there as it was.
      if (status === 404) return etag === undefined;
      if (etag !== undefined && status === 412) return false;
      throw storageError(`deleting state "${key}"`, error);
    }
  }
}
