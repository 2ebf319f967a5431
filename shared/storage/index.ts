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
import { CompanyKeyspace, companyLeases, companyLinks, companyState, companyTransfers, type CompanyRef, type CompanyScope } from './companies';

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
export * from './companies';

export interface Storage {
  /**
   * Transfers of every company (with `companies`: every record names its company, and each call may name one);
   * `forCompany(...).transfers` is one company's.
   */
  transfers: TransferStore & TableTransferStore;
  links: CustomerLinkStore & CustomerLinkLister & TableCustomerLinkStore;
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
  /** Which company owns the keys without a company (shared/storage/companies.ts); undefined without `companies`. */
  keyspace: CompanyKeyspace | undefined;
  /** The stores as one company sees them (its keys, its state, its leases). */
  forCompany(company: CompanyRef): CompanyStorage;
}

/** One company's rows: what the sync, the poll and the subscription timer of that company use. */
export interface CompanyStorage {
  company: CompanyScope;
  transfers: TransferStore;
  links: CustomerLinkStore & CustomerLinkLister;
  /** Its watermark, poll checkpoint, subscription and outages. */
  state: StateStore;
  /** Its poll lease and customer leases. */
  leases: LeaseStore;
  /** Its customers waiting for a service on hold (its own hold, its own waiting room). */
  waiting: WaitingRoom;
}

export interface StorageOptions {
  /** How long ping waits for an answer; the SDK's own retries would otherwise take tens of seconds. */
  pingTimeoutMs?: number;
  /** The process's clock (records, leases, retention windows). */
  clock?: Clock;
  /**
   * The configured companies, in order (Config.companies): rows are then keyed by company and customer, and every
   * record read names its company. Without it (stores of no company: tools, tests) rows are keyed by customer.
   */
  companies?: readonly CompanyRef[];
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
  const state = new TableStateStore(storage);
  const leases = new TableLeaseStore(storage, clocked);
  const [first] = options.companies ?? [];
  const keyspace = first ? new CompanyKeyspace(state, first.id) : undefined;
  const names = new Map((options.companies ?? []).map((company) => [company.id, company.name]));
  const transfers = new TableTransferStore(storage, { ...logging, ...clocked, ...(keyspace ? { companies: { keyspace, names } } : {}) });
  const links = new TableCustomerLinkStore(storage, { ...logging, ...(keyspace ? { keyspace } : {}) });
  const views = new Map<string, CompanyStorage>();
  return {
    transfers,
    links,
    reconciliations: new BlobReconcileRunStore(storage),
    leases,
    state,
    syncQueue,
    waiting: new TableWaitingRoom(storage, syncQueue, clocked),
    catchUpQueue: createQueueSender(storage, CATCH_UP_QUEUE),
    failedTransfers: tableFailedTransferSource(storage, { ...clocked, ...(keyspace ? { keyspace } : {}) }),
    poisonQueue: storagePoisonQueue(storage),
    poisonSender: createQueueSender(storage, POISON_QUEUE),
    ping: () => pingStorage(storage, pingTimeoutMs),
    keyspace,
    forCompany(ref: CompanyRef): CompanyStorage {
      const known = views.get(ref.id);
      if (known) return known;
      // A keyspace exists whenever companies are configured; a store of no company keys every company alike.
      const company: CompanyScope = { id: ref.id, name: ref.name, keyspace: keyspace ?? new CompanyKeyspace(state, ref.id) };
      const view: CompanyStorage = {
        company,
        transfers: companyTransfers(transfers, company),
        links: companyLinks(links, company),
        state: companyState(state, company),
        leases: companyLeases(leases, company),
        waiting: new TableWaitingRoom(storage, syncQueue, { ...clocked, keyPrefix: () => company.keyspace.prefix(company.id) }),
      };
      views.set(ref.id, view);
      return view;
    },
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
