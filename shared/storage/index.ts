import type { Logger } from '../log';
import type { Clock } from '../clock';
import { SyncError } from '../errors';
import { CATCH_UP_QUEUE, POISON_QUEUE, SYNC_QUEUE } from '../queueNames';
import { ConfigError } from '../config';
import { queueClient, statusOf, storageFailureDetail, tableClient, type StorageConnection } from './connection';
import { SYNC_STATE_TABLE, TableLeaseStore } from './leaseStore';
import { TableCustomerLinkStore } from './linkStore';
import { storagePoisonQueue } from './poisonQueue';
import { tableFailedTransferSource } from './failedTransfers';
import { createQueueSender } from './queues';
import { TableStateStore } from './stateStore';
import { TableTransferStore } from './transferStore';
import { TableWaitingRoom, type WaitingRoom } from './waitingRoom';
import { BlobReconcileRunStore, type ReconcileRunStore } from './reconcileStore';
import type { CustomerLinkLister, CustomerLinkStore, FailedTransferSource, LeaseStore, PoisonQueue, QueueSender, StateStore, TransferStore } from './types';

export * from './types';
export * from './connection';
export * from './transferStore';
export * from './linkStore';
export * from './leaseStore';
export * from './stateStore';
export * from './queues';
export * from './reconcileStore';
export * from './failedTransfers';
export * from './poisonQueue';
export * from './waitingRoom';

export interface Storage {
  transfers: TransferStore;
  links: CustomerLinkStore & CustomerLinkLister;
  /** Reconciliation runs and reports (blob storage). */
  reconciliations: ReconcileRunStore;
  leases: LeaseStore;
  state: StateStore;
  /** Sends to `customer-sync`. */
  syncQueue: QueueSender;
  /** Customers held while a service is on hold (shared/sync/outages.ts), resumed when it answers again. */
  waiting: WaitingRoom;
  /** Sends to `customer-catchup` (large notifications, collections, catch-up polls). */
  catchUpQueue: QueueSender;
  /** Failed transfers across customers, newest first (what a replay scans). */
  failedTransfers: FailedTransferSource;
  /** `customer-sync-poison`, read and emptied by a replay. */
  poisonQueue: PoisonQueue;
  /** Sends to `customer-sync-poison` (the poison worker puts a message back there, delayed, while storage fails). */
  poisonSender: QueueSender;
  /** Proves tables and queues answer with our credentials (for the health route); rejects with a SyncError naming the failing part. */
  ping(): Promise<void>;
}

export interface StorageOptions {
  /** How long ping waits for an answer; the SDK's own retries would otherwise take tens of seconds. */
  pingTimeoutMs?: number;
  /** The process's clock (records, leases, retention windows). */
  clock?: Clock;
}

export const DEFAULT_PING_TIMEOUT_MS = 5_000;

/**
 * Everything the functions need from storage, on the table and queue names docs/architecture.md lists. Every queue
 * sender is built here, once per process (through shared/services.ts); functions never build their own.
 */
export function createStorage(storage: StorageConnection, logger?: Logger, options: StorageOptions = {}): Storage {
  const logging = logger ? { logger } : {};
  const pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  const clocked = options.clock ? { clock: options.clock } : {};
  const syncQueue = createQueueSender(storage, SYNC_QUEUE);
  return {
    transfers: new TableTransferStore(storage, { ...logging, ...clocked }),
    links: new TableCustomerLinkStore(storage, logging),
    reconciliations: new BlobReconcileRunStore(storage),
    leases: new TableLeaseStore(storage, clocked),
    state: new TableStateStore(storage),
    syncQueue,
    waiting: new TableWaitingRoom(storage, syncQueue, clocked),
    catchUpQueue: createQueueSender(storage, CATCH_UP_QUEUE),
    failedTransfers: tableFailedTransferSource(storage, clocked),
    poisonQueue: storagePoisonQueue(storage),
    poisonSender: createQueueSender(storage, POISON_QUEUE),
    ping: () => pingStorage(storage, pingTimeoutMs),
  };
}

/**
 * One cheap read per service. A 404 (table, queue or row missing) still proves the service answered
 * and accepted our credentials, so ping creates nothing.
 */
export async function pingStorage(storage: StorageConnection, timeoutMs: number = DEFAULT_PING_TIMEOUT_MS): Promise<void> {
  const abortSignal = AbortSignal.timeout(timeoutMs);
  const probe = async (part: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (error) {
      if (statusOf(error) === 404) return;
      if (abortSignal.aborted) {
        throw new SyncError('StorageUnavailable', `${part} did not answer within ${timeoutMs} ms`, { transient: true, cause: error });
      }
      if (error instanceof ConfigError) throw error;
      const status = statusOf(error);
      throw new SyncError('StorageUnavailable', `${part} failed: ${storageFailureDetail(error)}`, {
        transient: status !== 400,
        ...(status === undefined ? {} : { status }),
        cause: error,
      });
    }
  };
  const table = tableClient(storage, SYNC_STATE_TABLE);
  const queue = queueClient(storage, SYNC_QUEUE);
  await Promise.all([
    probe('Table storage', () => table.getEntity('ping', 'ping', { abortSignal })),
    probe('Queue storage', () => queue.getProperties({ abortSignal })),
  ]);
}
