import type { ErrorCode } from '../errors';
import type { SyncSource } from '../messages';

export const TRANSFER_STATUSES = ['Succeeded', 'Skipped', 'Failed'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];
export type TransferAction = 'Created' | 'Updated' | 'Unchanged' | 'Filtered' | 'NotFound' | 'Deleted';

/** One transfer attempt outcome, exactly as the HTTP API returns it. */
export interface TransferRecord {
  transferId: string;
  customerId: string;
  /**
   * The Business Central company (GUID) and its configured name. Every record the app writes or answers has
   * them; rows written before several companies existed read back as the company that owned them.
   */
  companyId?: string;
  companyName?: string;
  customerNumber: string | null;
  source: SyncSource;
  status: TransferStatus;
  action: TransferAction | null;
  errorCode: ErrorCode | null;
  errorMessage: string | null;
  ipaasCustomerId: string | null;
  addressesAdded: number;
  attempt: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Non-fatal problems of a Succeeded transfer (`ExternalIdNotLinked: ...`); empty otherwise. */
  warnings: string[];
}

/** The link between a Business Central customer and its iPaaS.com customer. */
export interface CustomerLink {
  customerId: string;
  /** The Business Central company of the customer; absent on rows written before several companies existed (theirs is the owner of the unprefixed keys). */
  companyId?: string;
  ipaasCustomerId: string;
  customerNumber: string;
  /** Hash of the last payload sent (customer fields and addresses); equal hash means nothing to send. */
  payloadHash: string;
  lastSyncedAt: string;
  /**
   * Hash of the addresses alone as of the last successful sync, when every one of them was present in iPaaS.com;
   * an equal hash lets an update skip listing the customer's addresses. Absent on links saved before it existed.
   */
  addressHash?: string;
  /** Business Central's lastModifiedDateTime of the version last synced; a snapshot older than it is stale. Absent on older links. */
  sourceModifiedAt?: string;
  /**
   * `{systemId}:{externalId}` of the last UpdateExternalId iPaaS.com accepted for this customer. Absent while a
   * link is pending (never made, or refused): the next sync makes it, even when nothing else changed.
   */
  externalIdKey?: string;
  /**
   * The iPaaS.com customer whose reverse link (its owner row) this customer holds: equal to `ipaasCustomerId` once
   * claimed. Absent on links saved before reverse links existed; their next write claims it.
   */
  claimedIpaasCustomerId?: string;
  /** The stored row's version, when read from storage (not stored itself). */
  etag?: string;
}

/** The Business Central customer an iPaaS.com customer is linked to (the reverse link). */
export interface LinkOwner {
  customerId: string;
  /** Its number when it claimed the iPaaS.com customer, for messages (EmailInUse names it). */
  customerNumber: string;
  /** Its company: the same customer id in two companies is two customers (a store that knows companies always says). */
  companyId?: string;
  /** That company's name when it claimed the iPaaS.com customer, for messages (EmailInUse names it). */
  companyName?: string;
}

export interface TransferStore {
  /** Appends one outcome; also indexes it by time for cross-customer queries. */
  record(transfer: TransferRecord): Promise<void>;
  /** Newest first. */
  listForCustomer(customerId: string, limit?: number): Promise<TransferRecord[]>;
  /** Newest first across customers, optionally one status only. */
  listRecent(options: { status?: TransferStatus; limit: number }): Promise<TransferRecord[]>;
  /** As listRecent, one page at a time: `next` continues after the last record returned (null at the end). */
  listRecentPage(options: { status?: TransferStatus; limit: number; after?: TransferCursor }): Promise<TransferPage>;
}

/** Where a page of recent transfers ended: the day partition and row key of its last record. */
export interface TransferCursor {
  day: string;
  rowKey: string;
}

export interface TransferPage {
  transfers: TransferRecord[];
  next: TransferCursor | null;
}

export interface CustomerLinkStore {
  /** The link with its `etag` (for a conditional save). */
  get(customerId: string): Promise<CustomerLink | null>;
  /**
   * Saves the link. `ifMatch`: only when the stored link is still the one read (its etag), or, with null, only
   * when there is none; otherwise a ConcurrentSync error (a newer transfer saved first, never overwritten).
   */
  save(link: CustomerLink, options?: { ifMatch?: string | null }): Promise<void>;
  /** The link and the Business Central version last attempted without success (one read of the customer's partition). */
  getState?(customerId: string): Promise<LinkState>;
  /**
   * Remembers the version of a customer whose transfer ended without success (a final failure, filtered), and the
   * fingerprint of the mapping that decided it, so an unchanged snapshot is not tried again under that mapping.
   */
  recordAttempt?(customerId: string, sourceModifiedAt: string, mappingFingerprint?: string): Promise<void>;
  /** Replaces the creates in doubt of a customer (none: the row is removed). */
  recordCreates?(customerId: string, creates: readonly PendingCreate[]): Promise<void>;
  /** Which Business Central customer an iPaaS.com customer is linked to; null when none. */
  ownerOf?(ipaasCustomerId: string): Promise<LinkOwner | null>;
  /** Claims an iPaaS.com customer for `owner` atomically; answers who holds it afterwards (`owner`, or who claimed it first). */
  claim?(ipaasCustomerId: string, owner: LinkOwner): Promise<LinkOwner>;
  /** Gives up a claim of `owner` (a transfer that claimed and then failed for good). */
  releaseClaim?(ipaasCustomerId: string, owner: LinkOwner): Promise<void>;
}

/** What one read of a customer's partition in CustomerLinks tells. */
export interface LinkState {
  link: CustomerLink | null;
  /** The Business Central version last attempted without success for good; null when none. */
  lastAttemptedModifiedAt: string | null;
  /** The fingerprint of the mapping that attempt ran with; null when unknown (recorded before it was kept). */
  lastAttemptedMapping?: string | null;
  /** Creates sent whose outcome is not known (answer lost, process died), newest last; empty when none. */
  pendingCreates?: PendingCreate[];
}

/**
 * A create sent to iPaaS.com whose answer may have been lost: what it carried, so a later attempt recognises the
 * customer it made by number and email (the email by its keyed digest: no address in storage) instead of creating
 * again or calling it a DuplicateCustomerNumber.
 */
export interface PendingCreate {
  customerNumber: string;
  emailDigest: string;
  /** When it was sent (ISO). */
  sentAt: string;
}

/** A link reduced to its ids. */
export interface LinkedIds {
  customerId: string;
  ipaasCustomerId: string;
  /** Present when the store knows companies (shared/storage/companies.ts). */
  companyId?: string;
}

/** Every link, page by page, reduced to the two ids (the reconciliation reads all of them). */
export interface CustomerLinkLister {
  listLinkedIds(): AsyncIterable<LinkedIds[]>;
}

/** A lease held in Table Storage; `token` proves ownership for release. */
export interface Lease {
  name: string;
  token: string;
  expiresAt: string;
  /**
   * The row's ETag after our last write (acquire or renew). With it, renew and release are one conditional
   * write each: any other writer (a takeover) changes the ETag and the write is refused. Without it (a lease
   * described by hand), they read the row first and compare the token.
   */
  etag?: string;
}

export interface LeaseStore {
  /** Takes the lease when free or expired (ETag-guarded); null when someone else holds it. */
  tryAcquire(name: string, ttlMs: number): Promise<Lease | null>;
  /** Extends a lease we hold; false when it was lost. */
  renew(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Releases a lease we hold; a lease taken over by someone else is left alone. */
  release(lease: Lease): Promise<void>;
}

/** Small named JSON documents in SyncState (watermark, subscription), with optimistic concurrency. */
export interface StateStore {
  get<T>(key: string, parse: (value: unknown) => T): Promise<{ value: T; etag: string } | null>;
  /** Writes; with `etag` only when unchanged since read (false on conflict), with `etag: null` only when absent. */
  put(key: string, value: unknown, etag?: string | null): Promise<boolean>;
  /** Deletes; with `etag` only the row as it was read (false when it changed or is gone). */
  delete(key: string, etag?: string): Promise<boolean>;
}

/** Sends messages to a storage queue (JSON, base64-encoded as host.json declares). */
export interface QueueSender {
  /** `delaySeconds`: the messages stay invisible that long (at most 7 days), as a queue re-delivery after a wait. */
  send(messages: readonly unknown[], options?: SendOptions): Promise<void>;
}

export interface SendOptions {
  delaySeconds?: number;
}

/** A failed transfer row as the scan sees it. */
export interface FailedTransferRow {
  customerId: string;
  errorCode: ErrorCode | null;
  /** The row's company, when the scan knows companies; absent on rows written before several companies existed, without a keyspace. */
  companyId?: string;
}

/** Failed transfer rows, newest first, across customers (customers repeat); the iteration may stop early. */
export interface FailedTransferSource {
  scan(): AsyncIterable<FailedTransferRow>;
}

export interface PoisonMessage {
  messageId: string;
  popReceipt: string;
  messageText: string;
}

/** customer-sync-poison, as the replay needs it. */
export interface PoisonQueue {
  /** Takes up to `count` visible messages, hiding them for `visibilitySeconds`. */
  receive(count: number, visibilitySeconds: number): Promise<PoisonMessage[]>;
  delete(message: PoisonMessage): Promise<void>;
  /** Approximate number of messages waiting. */
  count(): Promise<number>;
}

