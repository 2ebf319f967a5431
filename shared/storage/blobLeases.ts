import { randomUUID } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { blobServiceClient, ensureContainer, statusOf, storageError, storageErrorCode, type StorageConnection } from './connection';

/** The container that holds the request budget's slots (one empty blob per slot). */
export const BUDGET_CONTAINER = 'request-budget';

/** A blob lease lasts 15 to 60 seconds (or forever, which a crashed holder would never give back). */
export const MIN_BLOB_LEASE_SECONDS = 15;
export const MAX_BLOB_LEASE_SECONDS = 60;

/** One slot held: its index and the lease id storage knows it by. */
export interface SlotLease {
  index: number;
  leaseId: string;
}

/**
 * Slots whose leases storage itself enforces: whoever holds a slot's lease is the only one that can renew or
 * release it, and storage frees it `durationSeconds` after the last renewal, whatever any instance's clock says.
 */
export interface SlotLeases {
  /** Takes slot `index` when free; null when someone else holds it. */
  acquire(index: number): Promise<SlotLease | null>;
  /** Extends a held slot's lease by its duration; false when it was lost (expired and taken, or broken). */
  renew(lease: SlotLease): Promise<boolean>;
  /** Gives a slot back at once (a lease already lost is fine). */
  release(lease: SlotLease): Promise<void>;
  /** The lease's duration, which storage enforces. */
  readonly durationMs: number;
}

/**
 * Slots as blob leases (`request-budget/<name>/slot-<n>`, empty block blobs): acquiring a lease on a leased blob
 * is refused by storage (409), so exactly one holder has each slot, and an instance that dies mid-request loses
 * its slots when their leases run out. One storage operation per acquire, renew or release.
 */
export class BlobSlotLeases implements SlotLeases {
  private readonly container: ContainerClient;
  readonly durationMs: number;

  constructor(
    storage: StorageConnection,
    private readonly name: string,
    durationSeconds: number,
    containerName: string = BUDGET_CONTAINER,
  ) {
    if (!Number.isInteger(durationSeconds) || durationSeconds < MIN_BLOB_LEASE_SECONDS || durationSeconds > MAX_BLOB_LEASE_SECONDS) {
      throw new RangeError(`a blob lease lasts ${MIN_BLOB_LEASE_SECONDS} to ${MAX_BLOB_LEASE_SECONDS} seconds, got ${durationSeconds}`);
    }
    this.container = blobServiceClient(storage).getContainerClient(containerName);
    this.durationMs = durationSeconds * 1000;
  }

  async acquire(index: number): Promise<SlotLease | null> {
    const blob = this.blob(index);
    const leaseId = randomUUID();
    for (let round = 0; round < 2; round += 1) {
      try {
        await blob.getBlobLeaseClient(leaseId).acquireLease(this.durationMs / 1000);
        return { index, leaseId };
      } catch (error) {
        const status = statusOf(error);
        if (status === 409) return null;
        if (status !== 404 || round > 0) throw storageError('taking a request budget slot', error);
      }
      // The slot's blob (or its container) does not exist yet: create it once, empty.
      await this.createSlot(blob);
    }
    return null;
  }

  async renew(lease: SlotLease): Promise<boolean> {
    try {
      await this.blob(lease.index).getBlobLeaseClient(lease.leaseId).renewLease();
      return true;
    } catch (error) {
      const status = statusOf(error);
      // 409: another lease holds it now (ours expired and was taken); 404: the blob is gone.
      if (status === 409 || status === 404 || status === 412) return false;
      throw storageError('renewing a request budget slot', error);
    }
  }

  async release(lease: SlotLease): Promise<void> {
    try {
      await this.blob(lease.index).getBlobLeaseClient(lease.leaseId).releaseLease();
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 404 || status === 412) return;
      throw storageError('releasing a request budget slot', error);
    }
  }

  private blob(index: number): BlockBlobClient {
    return this.container.getBlockBlobClient(`${this.name}/slot-${index}`);
  }

  private async createSlot(blob: BlockBlobClient): Promise<void> {
    await ensureContainer(this.container);
    try {
      await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
    } catch (error) {
      // 409/412: created meanwhile by another instance (or leased already): fine.
      const status = statusOf(error);
      if (status === 409 || status === 412 || storageErrorCode(error) === 'BlobAlreadyExists') return;
      throw storageError('creating a request budget slot', error);
    }
  }
}
