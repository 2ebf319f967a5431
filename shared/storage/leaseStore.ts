import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { SyncError } from '../errors';
import { statusOf, storageError, tableClient, toTableKey, withTable, type StorageConnection } from './connection';
import type { Lease, LeaseStore } from './types';

export const SYNC_STATE_TABLE = 'SyncState';
const LEASE_PARTITION = 'lease';

export interface LeaseStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  /** Milliseconds since the epoch; leases compare expiry against it, so instances need roughly synchronized clocks. */
  clock?: () => number;
}

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  Name: string;
  Token: string;
  ExpiresAt: string;
}

const leaseEntitySchema = z.looseObject({
  Token: z.string().min(1),
  ExpiresAt: z.string().refine((value) => !Number.isNaN(Date.parse(value))),
});

interface CurrentLease {
  token: string | null;
  expiresAtMs: number;
  etag: string;
}

/**
 * Leases as rows in SyncState: creating a row is atomic (409 when it exists) and taking over an
 * expired row is guarded by the ETag read (412 when someone else changed it first), so exactly one
 * contender wins without any lock service.
 */
export class TableLeaseStore implements LeaseStore {
  private readonly table: TableClient;
  private readonly clock: () => number;

  constructor(storage: StorageConnection, options: LeaseStoreOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? SYNC_STATE_TABLE);
    this.clock = options.clock ?? Date.now;
  }

  async tryAcquire(name: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const rowKey = toTableKey(name);
    try {
      // A second round only when the row vanished between our read and our takeover.
      for (let round = 0; round < 2; round += 1) {
        const current = await this.read(rowKey);
        const now = this.clock();
        if (current && current.expiresAtMs > now) return null;
        const lease: Lease = { name, token: randomUUID(), expiresAt: new Date(now + ttlMs).toISOString() };
        const entity = this.entity(rowKey, lease);
        if (!current) {
          try {
            await withTable(this.table, () => this.table.createEntity(entity));
            return lease;
          } catch (error) {
            if (statusOf(error) === 409) return null;
            throw error;
          }
        }
        try {
          await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
          return lease;
        } catch (error) {
          if (statusOf(error) === 412) return null;
          if (statusOf(error) !== 404) throw error;
        }
      }
      return null;
    } catch (error) {
      throw storageError('acquiring a lease', error);
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const rowKey = toTableKey(lease.name);
    try {
      const current = await this.read(rowKey);
      // Still ours even when past expiry, as long as nobody took it over meanwhile.
      if (!current || current.token !== lease.token) return false;
      const expiresAt = new Date(this.clock() + ttlMs).toISOString();
      await this.table.updateEntity(this.entity(rowKey, { ...lease, expiresAt }), 'Replace', { etag: current.etag });
      lease.expiresAt = expiresAt;
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw storageError('renewing a lease', error);
    }
  }

  async release(lease: Lease): Promise<void> {
    const rowKey = toTableKey(lease.name);
    try {
      const current = await this.read(rowKey);
      if (!current || current.token !== lease.token) return;
      await this.table.deleteEntity(LEASE_PARTITION, rowKey, { etag: current.etag });
    } catch (error) {
      // 412: taken over after our read; 404: already gone. Either way it is no longer ours to release.
      if (statusOf(error) === 412 || statusOf(error) === 404) return;
      throw storageError('releasing a lease', error);
    }
  }

  private entity(rowKey: string, lease: Lease): LeaseEntity {
    return { partitionKey: LEASE_PARTITION, rowKey, Name: lease.name, Token: lease.token, ExpiresAt: lease.expiresAt };
  }

  /** The row as it stands, or null when absent; an unreadable row counts as expired so it can be taken over. */
  private async read(rowKey: string): Promise<CurrentLease | null> {
    let entity: Record<string, unknown> & { etag: string };
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(LEASE_PARTITION, rowKey));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
    const parsed = leaseEntitySchema.safeParse(entity);
    if (!parsed.success) return { token: null, expiresAtMs: 0, etag: entity.etag };
    return { token: parsed.data.Token, expiresAtMs: Date.parse(parsed.data.ExpiresAt), etag: entity.etag };
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new SyncError('Configuration', `A lease needs a positive duration, got ${ttlMs} ms`, { transient: false });
  }
}
