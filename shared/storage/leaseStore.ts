import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { SyncError } from '../errors';
import { statusOf, storageError, tableClient, toTableKey, withTable, type StorageConnection } from './connection';
import type { Lease, LeaseStore } from './types';

export const SYNC_STATE_TABLE = 'SyncState';
const LEASE_PARTITION = 'lease';

export interface LeaseStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  /**
   * The expiry written into each lease (for people reading the row), and the expiry judged for rows written by
   * earlier versions, or for every row with `expiryBy: 'clock'`.
   */
  clock?: Clock;
  /**
   * Who decides that a lease has expired: `storage` (default), by storage's own clock (the time since the row was
   * last written, as the reply to a read dates it), so instances whose clocks disagree still exclude each other;
   * `clock`, by `clock` (simulations that move time by hand).
   */
  expiryBy?: 'storage' | 'clock';
}

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  Name: string;
  Token: string;
  ExpiresAt: string;
  /** The lease's time from its last write (the row's server Timestamp) on: expiry judged by storage's clock. */
  TtlMs: number;
}

const leaseEntitySchema = z.looseObject({
  Token: z.string().min(1),
  ExpiresAt: z.string().refine((value) => !Number.isNaN(Date.parse(value))),
});

interface CurrentLease {
  token: string | null;
  expiresAtMs: number;
  etag: string;
  /** Storage's clock: the row's last write (its Timestamp), the time of our read (the reply's Date), and the TTL then written. */
  writtenAtMs: number;
  readAtMs: number;
  ttlMs: number | undefined;
}

/**
 * Leases as rows in SyncState: creating a row is atomic (409 when it exists) and taking over an
 * expired row is guarded by the ETag read (412 when someone else changed it first), so exactly one
 * contender wins without any lock service. The holder keeps the row's ETag, so renewing and releasing are
 * single conditional writes that fail once anyone else has written the row: a free lease costs two storage
 * transactions from acquisition to release (docs/performance.md).
 */
export class TableLeaseStore implements LeaseStore {
  private readonly table: TableClient;
  private readonly clock: Clock;
  private readonly expiryBy: 'storage' | 'clock';

  constructor(storage: StorageConnection, options: LeaseStoreOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? SYNC_STATE_TABLE);
    this.clock = options.clock ?? systemClock;
    this.expiryBy = options.expiryBy ?? 'storage';
  }

  /**
   * One storage transaction when the lease is free (an insert, refused with 409 when the row exists); only then
   * is the row read, and an expired one taken over with a write conditional on the ETag read.
   */
  async tryAcquire(name: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const rowKey = toTableKey(name);
    try {
      // A second round only when the row vanished between our read and our takeover.
      for (let round = 0; round < 2; round += 1) {
        const now = this.clock.now();
        const lease: Lease = { name, token: randomUUID(), expiresAt: new Date(now + ttlMs).toISOString() };
        const entity = this.entity(rowKey, lease, ttlMs);
        try {
          const created = await withTable(this.table, () => this.table.createEntity(entity));
          return withEtag(lease, created.etag);
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
        const current = await this.read(rowKey);
        if (current && !this.expired(current)) return null;
        if (!current) continue;
        try {
          const replaced = await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
          return withEtag(lease, replaced.etag);
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

  /** One conditional write with the ETag we hold: refused (false) once anyone else wrote the row. */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const rowKey = toTableKey(lease.name);
    try {
      const etag = await this.etagOf(lease, rowKey);
      if (etag === null) return false;
      const expiresAt = new Date(this.clock.now() + ttlMs).toISOString();
      const replaced = await this.table.updateEntity(this.entity(rowKey, { ...lease, expiresAt }, ttlMs), 'Replace', { etag });
      lease.expiresAt = expiresAt;
      if (replaced.etag) lease.etag = replaced.etag;
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw storageError('renewing a lease', error);
    }
  }

  /** One conditional delete with the ETag we hold; a row someone else wrote since is left alone. */
  async release(lease: Lease): Promise<void> {
    const rowKey = toTableKey(lease.name);
    try {
      const etag = await this.etagOf(lease, rowKey);
      if (etag === null) return;
      await this.table.deleteEntity(LEASE_PARTITION, rowKey, { etag });
    } catch (error) {
      // 412: taken over after our read; 404: already gone. Either way it is no longer ours to release.
      if (statusOf(error) === 412 || statusOf(error) === 404) return;
      throw storageError('releasing a lease', error);
    }
  }

  /**
   * The ETag to write the lease's row with: the one we hold, else the row's own while it still carries our token
   * (still ours even when past expiry, as long as nobody took it over meanwhile); null when it is no longer ours.
   */
  private async etagOf(lease: Lease, rowKey: string): Promise<string | null> {
    if (lease.etag !== undefined) return lease.etag;
    const current = await this.read(rowKey);
    return current && current.token === lease.token ? current.etag : null;
  }

  private entity(rowKey: string, lease: Lease, ttlMs: number): LeaseEntity {
    return { partitionKey: LEASE_PARTITION, rowKey, Name: lease.name, Token: lease.token, ExpiresAt: lease.expiresAt, TtlMs: ttlMs };
  }

  /**
   * Expired by storage's own clock: longer than its TTL since the row was last written (acquired or renewed), as
   * the reply to our read dates it. So an instance whose clock runs ahead cannot take a lease over early, and a
   * holder need not trust other instances' clocks. Rows of earlier versions (no TTL column) compare ExpiresAt
   * with this instance's clock.
   */
  private expired(current: CurrentLease): boolean {
    if (this.expiryBy === 'storage' && current.ttlMs !== undefined && Number.isFinite(current.writtenAtMs) && Number.isFinite(current.readAtMs)) {
      return current.readAtMs - current.writtenAtMs >= current.ttlMs;
    }
    return current.expiresAtMs <= this.clock.now();
  }

  /** The row as it stands, or null when absent; an unreadable row counts as expired so it can be taken over. */
  private async read(rowKey: string): Promise<CurrentLease | null> {
    let entity: Record<string, unknown> & { etag: string };
    // The reply's Date header: storage's clock at our read (whole seconds, rounded down: never later than it was).
    let readAtMs = Number.NaN;
    try {
      entity = await withTable(this.table, () =>
        this.table.getEntity<Record<string, unknown>>(LEASE_PARTITION, rowKey, {
          onResponse: (response) => {
            readAtMs = Date.parse(response.headers.get('date') ?? '');
          },
        }),
      );
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
    const writtenAtMs = typeof entity.timestamp === 'string' ? Date.parse(entity.timestamp) : Number.NaN;
    const parsed = leaseEntitySchema.safeParse(entity);
    // An unreadable row counts as expired, so it can be taken over.
    if (!parsed.success) return { token: null, expiresAtMs: 0, etag: entity.etag, writtenAtMs, readAtMs, ttlMs: undefined };
    const ttlMs = typeof entity.TtlMs === 'number' && Number.isFinite(entity.TtlMs) && entity.TtlMs > 0 ? entity.TtlMs : undefined;
    return { token: parsed.data.Token, expiresAtMs: Date.parse(parsed.data.ExpiresAt), etag: entity.etag, writtenAtMs, readAtMs, ttlMs };
  }
}

function withEtag(lease: Lease, etag: string | undefined): Lease {
  return etag ? { ...lease, etag } : lease;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new SyncError('Configuration', `A lease needs a positive duration, got ${ttlMs} ms`, { transient: false });
  }
}
