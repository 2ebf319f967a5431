import { odata, type TableClient } from '@azure/data-tables';
import { systemClock, type Clock } from '../clock';
import type { ServiceName } from '../errors';
import { ConcurrencyLimiter } from '../http/limiter';
import { silentLogger, type Logger } from '../log';
import { syncMessageSchema, type SyncMessage } from '../messages';
import { customerKey, statusOf, storageError, tableClient, withTable, type StorageConnection } from './connection';
import { SYNC_STATE_TABLE } from './leaseStore';
import type { QueueSender } from './types';

/**
 * Customers waiting for a service on hold, one row per customer and service in SyncState (partition
 * `waiting-<service>`). A held change is parked here instead of going round the queue every few minutes: its
 * cost does not grow with the outage's length, and a second change of the same customer during the outage
 * overwrites the first row instead of adding a message. When the service answers again the breaker resumes them
 * all: one customer-sync message each (the sync reads the customer again, so the latest change is the one sent),
 * the row claimed first (of several instances resuming at once, one sends it) and deleted only once its message is
 * on the queue.
 */
export interface WaitingRoom {
  /** Parks a held change (one table write; a repeat for the same customer replaces it). */
  park(service: ServiceName, message: SyncMessage): Promise<void>;
  /** Sends every customer waiting for `service` back to customer-sync; returns how many. */
  resume(service: ServiceName, logger?: Logger): Promise<number>;
  /** Sends one customer back (when the service was found answering right after the customer was parked). */
  resumeCustomer(service: ServiceName, customerId: string): Promise<boolean>;
  /** How many customers wait for `service`. */
  count(service: ServiceName): Promise<number>;
}

export interface WaitingRoomOptions {
  tableName?: string;
  clock?: Clock;
  /**
   * The company's key prefix (shared/storage/companies.ts): each company has its own waiting room, as it has its own
   * hold, in partitions `{prefix}waiting-<service>`. None: `waiting-<service>`.
   */
  keyPrefix?: () => Promise<string>;
}

const PARTITION_PREFIX = 'waiting-';
const PAGE_SIZE = 1000;
const DELETE_CONCURRENCY = 16;
/** How long a resume's claim on a row keeps other resumes off it (far longer than sending a page takes). */
const CLAIM_MS = 2 * 60_000;

interface WaitingEntity {
  partitionKey: string;
  rowKey: string;
  CustomerId: string;
  Message: string;
  ParkedAt: string;
  /** Set by a resume that claimed the row (see `claim`); a park replaces the row without it. */
  ResumingUntil?: string;
}

export class TableWaitingRoom implements WaitingRoom {
  private readonly table: TableClient;
  private readonly clock: Clock;
  private readonly keyPrefix: (() => Promise<string>) | undefined;

  constructor(
    storage: StorageConnection,
    private readonly syncQueue: QueueSender,
    options: WaitingRoomOptions = {},
  ) {
    this.table = tableClient(storage, options.tableName ?? SYNC_STATE_TABLE);
    this.clock = options.clock ?? systemClock;
    this.keyPrefix = options.keyPrefix;
  }

  /** The partition of the customers waiting for `service` (in this room's company). */
  private async partition(service: ServiceName): Promise<string> {
    if (!this.keyPrefix) return partition(service);
    try {
      return `${await this.keyPrefix()}${partition(service)}`;
    } catch (error) {
      throw storageError('reading the company keys', error);
    }
  }

  async park(service: ServiceName, message: SyncMessage): Promise<void> {
    // The snapshot is dropped: by the time the customer is resumed it is read again.
    const { snapshot: _snapshot, ...kept } = message;
    const entity: WaitingEntity = {
      partitionKey: await this.partition(service),
      rowKey: customerKey(message.customerId),
      CustomerId: message.customerId,
      Message: JSON.stringify(kept),
      ParkedAt: new Date(this.clock.now()).toISOString(),
    };
    try {
      await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace'));
    } catch (error) {
      throw storageError('parking a held customer', error);
    }
  }

  async resume(service: ServiceName, logger: Logger = silentLogger): Promise<number> {
    let resumed = 0;
    const partitionKey = await this.partition(service);
    try {
      const pages = this.table
        .listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })
        .byPage({ maxPageSize: PAGE_SIZE });
      for await (const page of pages) {
        const limiter = new ConcurrencyLimiter(DELETE_CONCURRENCY);
        // Several instances resume at once (the one that closed the breaker, every instance's outage timer): each
        // row goes to the queue from the one instance whose claim on it succeeded.
        const claimed = (await Promise.all(page.map((entity) => limiter.run(() => this.claim(entity))))).filter((entity) => entity !== null);
        const rows = claimed.map((entity) => ({ entity, message: messageOf(entity) }));
        const valid = rows.filter((row): row is { entity: typeof row.entity; message: SyncMessage } => row.message !== null);
        // Durably on the queue first; only then are the rows deleted (a crash in between sends some twice, harmlessly).
        if (valid.length > 0) await this.syncQueue.send(valid.map((row) => heldOnceMore(row.message)));
        await Promise.all(rows.map((row) => limiter.run(() => this.deleteRow(row.entity))));
        const unreadable = rows.length - valid.length;
        if (unreadable > 0) logger.warn(`${unreadable} unreadable waiting rows for ${service} were removed (the next poll covers their customers)`);
        resumed += valid.length;
      }
    } catch (error) {
      if (statusOf(error) === 404) return resumed;
      throw storageError(`resuming the customers waiting for ${service}`, error);
    }
    return resumed;
  }

  async resumeCustomer(service: ServiceName, customerId: string): Promise<boolean> {
    let read: Record<string, unknown> & { etag: string };
    const partitionKey = await this.partition(service);
    try {
      read = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(partitionKey, customerKey(customerId)));
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw storageError('reading a waiting customer', error);
    }
    const entity = await this.claim(read);
    if (!entity) return false;
    const message = messageOf(entity);
    if (message) await this.syncQueue.send([heldOnceMore(message)]);
    await this.deleteRow(entity);
    return message !== null;
  }

  async count(service: ServiceName): Promise<number> {
    let count = 0;
    const partitionKey = await this.partition(service);
    try {
      const pages = this.table
        .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}`, select: ['RowKey'] } })
        .byPage({ maxPageSize: PAGE_SIZE });
      for await (const page of pages) count += page.length;
    } catch (error) {
      if (statusOf(error) === 404) return 0;
      throw storageError(`counting the customers waiting for ${service}`, error);
    }
    return count;
  }

  /**
   * Claims a row for this resume: a conditional write (the row as it was read) that marks it resuming for
   * CLAIM_MS. null when another resume holds a live claim on it, or it changed or went meanwhile (claimed,
   * deleted, or parked again: the newer row is resumed by whoever reads it next). A claim left by a process that
   * died expires, so the row is resumed by the next round (at worst twice, never lost). Returns the row with
   * the claim's ETag, so the delete after the send removes exactly this claim.
   */
  private async claim(entity: Record<string, unknown>): Promise<(Record<string, unknown> & { etag: string }) | null> {
    const now = this.clock.now();
    const until = typeof entity.ResumingUntil === 'string' ? Date.parse(entity.ResumingUntil) : Number.NaN;
    if (until > now) return null;
    const etag = typeof entity.etag === 'string' ? entity.etag : undefined;
    if (!etag) return null;
    const partitionKey = String(entity.partitionKey);
    const rowKey = String(entity.rowKey);
    try {
      const claimed = await this.table.updateEntity({ partitionKey, rowKey, ResumingUntil: new Date(now + CLAIM_MS).toISOString() }, 'Merge', { etag });
      if (!claimed.etag) return null;
      return { ...entity, etag: claimed.etag };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) return null;
      throw storageError('claiming a waiting customer', error);
    }
  }

  /** Deletes the row as it was read: a customer parked again meanwhile keeps its newer row. */
  private async deleteRow(entity: Record<string, unknown>): Promise<void> {
    const partitionKey = String(entity.partitionKey);
    const rowKey = String(entity.rowKey);
    const etag = typeof entity.etag === 'string' ? entity.etag : undefined;
    try {
      await this.table.deleteEntity(partitionKey, rowKey, etag ? { etag } : {});
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) return;
      throw storageError('deleting a waiting customer', error);
    }
  }
}

function partition(service: ServiceName): string {
  return `${PARTITION_PREFIX}${service}`;
}

function messageOf(entity: Record<string, unknown>): SyncMessage | null {
  if (typeof entity.Message !== 'string') return null;
  try {
    const parsed = syncMessageSchema.safeParse(JSON.parse(entity.Message));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The message that goes back to customer-sync: the same change, counted as held once more. */
function heldOnceMore(message: SyncMessage): SyncMessage {
  return { ...message, holds: Math.min(1_000_000, (message.holds ?? 0) + 1) };
}
