import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { SyncError } from '../errors';
import { silentLogger, type Logger } from '../log';
import { customerKey, statusOf, storageError, tableClient, toTableKey, withTable, type StorageConnection } from './connection';
import { companyCustomerKey, companyOfKey, type CompanyKeyspace, type CompanyLinkStore, type CompanyScope } from './companies';
import type { CustomerLink, CustomerLinkLister, CustomerLinkStore, LinkedIds, LinkOwner, LinkState, PendingCreate } from './types';

export const LINKS_TABLE = 'CustomerLinks';
const LINK_ROW_KEY = 'link';
/** Beside the link, in the customer's partition: the version last attempted without success. */
const ATTEMPT_ROW_KEY = 'attempt';
/** Beside the link: creates sent whose answer may have been lost (shared/sync/executePlan.ts). */
const CREATE_ROW_KEY = 'create';
/** The reverse link: which Business Central customer an iPaaS.com customer belongs to (row `owner` of partition `ipaas-{id}`). */
const OWNER_ROW_KEY = 'owner';
/** Where the one-time claim of links saved before reverse links existed stands (partition `meta`). */
const META_PARTITION = 'meta';
const CLAIMS_BACKFILL_ROW_KEY = 'claims';
const BACKFILL_PAGE_SIZE = 1000;
const BACKFILL_CONCURRENCY = 16;
/** Pages of older links one look-up claims at most before it queries instead. */
const BACKFILL_PAGES_PER_LOOKUP = 10;

/**
 * Partition of the reverse link of an iPaaS.com customer. One iPaaS.com customer belongs to at most one Business
 * Central customer across the whole deployment (every company, once there are several), so the key is the
 * iPaaS.com id alone; who owns it is in the row (`LinkOwner`).
 */
export function ownerPartition(ipaasCustomerId: string): string {
  return `ipaas-${toTableKey(ipaasCustomerId)}`;
}

/**
 * Whether two owners are the same Business Central customer: the same id in the same company (a company copy keeps
 * ids, so the same id in two companies is two customers). Owners read from a store that knows companies always
 * name theirs; an owner without one is the company's that owns the rows without a company.
 */
export function sameOwner(a: LinkOwner, b: LinkOwner): boolean {
  return customerKey(a.customerId) === customerKey(b.customerId) && (a.companyId ?? '').toLowerCase() === (b.companyId ?? '').toLowerCase();
}

const ownerEntitySchema = z.looseObject({
  CustomerId: z.string().min(1),
  CustomerNumber: z.string(),
  // Absent on reverse links written before several companies existed.
  CompanyId: z.string().min(1).optional().catch(undefined),
  CompanyName: z.string().min(1).optional().catch(undefined),
});

export interface LinkStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  logger?: Logger;
  /** The claim of older links: rows per page (1,000) and pages per look-up (10); smaller only in tests. */
  backfill?: { pageSize?: number; pagesPerLookup?: number };
  /** Which company owns the rows without a company prefix; with it every link and owner read carries its company. */
  keyspace?: CompanyKeyspace;
}

const isoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');
const pendingCreatesSchema = z.array(z.object({ customerNumber: z.string(), emailDigest: z.string().min(1), sentAt: isoTimestamp }));

export const customerLinkSchema = z.object({
  customerId: z.string().min(1),
  companyId: z.string().min(1).optional(),
  ipaasCustomerId: z.string().min(1),
  customerNumber: z.string(),
  payloadHash: z.string(),
  lastSyncedAt: isoTimestamp,
  addressHash: z.string().min(1).optional(),
  sourceModifiedAt: isoTimestamp.optional(),
  externalIdKey: z.string().min(1).optional(),
  claimedIpaasCustomerId: z.string().min(1).optional(),
});

const linkEntitySchema = z.looseObject({
  CustomerId: z.string().min(1),
  IpaasCustomerId: z.string().min(1),
  CustomerNumber: z.string(),
  PayloadHash: z.string(),
  LastSyncedAt: isoTimestamp,
  CompanyId: z.string().min(1).optional().catch(undefined),
  // Optional columns added later; a malformed one is dropped rather than discarding the link.
  AddressHash: z.string().min(1).optional().catch(undefined),
  SourceModifiedAt: isoTimestamp.optional().catch(undefined),
  ExternalIdKey: z.string().min(1).optional().catch(undefined),
  ClaimedIpaasCustomerId: z.string().min(1).optional().catch(undefined),
});

interface LinkEntity {
  partitionKey: string;
  rowKey: string;
  CustomerId: string;
  CompanyId?: string;
  IpaasCustomerId: string;
  CustomerNumber: string;
  PayloadHash: string;
  LastSyncedAt: string;
  AddressHash?: string;
  SourceModifiedAt?: string;
  ExternalIdKey?: string;
  ClaimedIpaasCustomerId?: string;
}

/** Business Central customer ↔ iPaaS.com customer, one row per customer in CustomerLinks. */
export class TableCustomerLinkStore implements CustomerLinkStore, CustomerLinkLister, CompanyLinkStore {
  private readonly table: TableClient;
  private readonly logger: Logger;
  private readonly keyspace: CompanyKeyspace | undefined;

  constructor(storage: StorageConnection, options: LinkStoreOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? LINKS_TABLE);
    this.logger = options.logger ?? silentLogger;
    this.keyspace = options.keyspace;
    this.backfillPageSize = options.backfill?.pageSize ?? BACKFILL_PAGE_SIZE;
    this.backfillPagesPerLookup = options.backfill?.pagesPerLookup ?? BACKFILL_PAGES_PER_LOOKUP;
  }

  private readonly backfillPageSize: number;
  private readonly backfillPagesPerLookup: number;

  /** The customer's partition in a company (none: a store of no company, or the owner of the unprefixed rows). */
  private async partitionOf(customerId: string, companyId: string | undefined): Promise<string> {
    return companyCustomerKey(this.keyspace, customerId, companyId);
  }

  /** The company of a row read from `partitionKey` (undefined without a keyspace). */
  private async companyOfPartition(partitionKey: string): Promise<string | undefined> {
    return this.keyspace ? this.keyspace.companyOf(partitionKey) : undefined;
  }

  /** A link read in a company's scope says so (older rows do not carry it). */
  private withCompany(link: CustomerLink | null, companyId: string | undefined): CustomerLink | null {
    return link && companyId ? { ...link, companyId } : link;
  }

  async get(customerId: string, company?: CompanyScope): Promise<CustomerLink | null> {
    return this.getIn(customerId, company?.id);
  }

  private async getIn(customerId: string, companyId: string | undefined): Promise<CustomerLink | null> {
    const partitionKey = await this.partitionOf(customerId, companyId);
    let entity: Record<string, unknown>;
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(partitionKey, LINK_ROW_KEY));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError('reading a customer link', error);
    }
    return this.withCompany(this.toLink(partitionKey, entity), companyId);
  }

  async getState(customerId: string, company?: CompanyScope): Promise<LinkState> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    let link: CustomerLink | null = null;
    let lastAttemptedModifiedAt: string | null = null;
    let lastAttemptedMapping: string | null = null;
    let pendingCreates: PendingCreate[] = [];
    try {
      // One query for both rows of the customer's partition.
      const rows = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } });
      await withTable(this.table, async () => {
        for await (const row of rows) {
          if (row.rowKey === LINK_ROW_KEY) link = this.toLink(partitionKey, row);
          else if (row.rowKey === ATTEMPT_ROW_KEY && typeof row.SourceModifiedAt === 'string' && !Number.isNaN(Date.parse(row.SourceModifiedAt))) {
            lastAttemptedModifiedAt = row.SourceModifiedAt;
            lastAttemptedMapping = typeof row.MappingFingerprint === 'string' ? row.MappingFingerprint : null;
          } else if (row.rowKey === CREATE_ROW_KEY && typeof row.Creates === 'string') {
            pendingCreates = parsePendingCreates(row.Creates);
          }
        }
      });
    } catch (error) {
      if (statusOf(error) === 404) return { link: null, lastAttemptedModifiedAt: null, lastAttemptedMapping: null, pendingCreates: [] };
      throw storageError('reading a customer link', error);
    }
    return { link: this.withCompany(link, company?.id), lastAttemptedModifiedAt, lastAttemptedMapping, pendingCreates };
  }

  async recordCreates(customerId: string, creates: readonly PendingCreate[], company?: CompanyScope): Promise<void> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    try {
      if (creates.length === 0) {
        await withTable(this.table, () => this.table.deleteEntity(partitionKey, CREATE_ROW_KEY)).catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      } else {
        await withTable(this.table, () => this.table.upsertEntity({ partitionKey, rowKey: CREATE_ROW_KEY, Creates: JSON.stringify(creates) }, 'Replace'));
      }
    } catch (error) {
      throw storageError('recording a create in doubt', error);
    }
  }

  async recordAttempt(customerId: string, sourceModifiedAt: string, mappingFingerprint?: string, company?: CompanyScope): Promise<void> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    try {
      await withTable(this.table, () =>
        this.table.upsertEntity(
          {
            partitionKey,
            rowKey: ATTEMPT_ROW_KEY,
            SourceModifiedAt: sourceModifiedAt,
            ...(mappingFingerprint ? { MappingFingerprint: mappingFingerprint } : {}),
          },
          'Replace',
        ),
      );
    } catch (error) {
      throw storageError('recording a transfer attempt', error);
    }
  }

  private async unreadable(partitionKey: string): Promise<boolean> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(partitionKey, LINK_ROW_KEY);
      return !linkEntitySchema.safeParse(entity).success;
    } catch {
      return false;
    }
  }

  private toLink(partitionKey: string, entity: Record<string, unknown>): CustomerLink | null {
    const parsed = linkEntitySchema.safeParse(entity);
    if (!parsed.success) {
      // Treated as no link: the sync then matches by email again, which never creates a duplicate.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ');
      this.logger.warn(`Ignoring unreadable row in ${this.table.tableName} (PartitionKey=${partitionKey}): bad ${fields}`);
      return null;
    }
    const row = parsed.data;
    const etag = typeof entity.etag === 'string' ? entity.etag : undefined;
    return {
      customerId: row.CustomerId,
      ...(row.CompanyId ? { companyId: row.CompanyId } : {}),
      ipaasCustomerId: row.IpaasCustomerId,
      customerNumber: row.CustomerNumber,
      payloadHash: row.PayloadHash,
      lastSyncedAt: row.LastSyncedAt,
      ...(row.AddressHash ? { addressHash: row.AddressHash } : {}),
      ...(row.SourceModifiedAt ? { sourceModifiedAt: row.SourceModifiedAt } : {}),
      ...(row.ExternalIdKey ? { externalIdKey: row.ExternalIdKey } : {}),
      ...(row.ClaimedIpaasCustomerId ? { claimedIpaasCustomerId: row.ClaimedIpaasCustomerId } : {}),
      ...(etag ? { etag } : {}),
    };
  }

  /**
   * The Business Central customer an iPaaS.com customer is linked to, or null. The reverse link row answers; a
   * reverse link whose owner's link now points at another iPaaS.com customer is stale and answers null. Links saved
   * before reverse links existed are found by a query of CustomerLinks until the one-time claim of them has
   * finished (each such query also moves that claim one page on).
   */
  async ownerOf(ipaasCustomerId: string): Promise<LinkOwner | null> {
    try {
      const current = await this.readOwner(ipaasCustomerId);
      if (current) return (await this.isStale(current.owner, ipaasCustomerId)) ? null : current.owner;
      if (await this.backfillComplete()) return null;
      // Older links may not be claimed yet: move their claim on a few pages; once it is done, the reverse link is
      // the whole answer (it may just have been written), else a query finds an older link to this customer.
      let done = false;
      for (let page = 0; page < this.backfillPagesPerLookup && !done; page += 1) {
        const step = await this.backfillClaims().catch((error: unknown) => {
          this.logger.warn(`Claiming older links: ${storageError('claiming older links', error).message}`);
          return null;
        });
        if (step === null) break;
        done = step;
      }
      if (done) {
        const claimed = await this.readOwner(ipaasCustomerId);
        return claimed && !(await this.isStale(claimed.owner, ipaasCustomerId)) ? claimed.owner : null;
      }
      return await this.legacyOwner(ipaasCustomerId);
    } catch (error) {
      throw storageError('reading the owner of an iPaaS.com customer', error);
    }
  }

  /**
   * Makes `owner` the one Business Central customer `ipaasCustomerId` is linked to, atomically (an insert, refused
   * when the row exists): answers the owner that holds it afterwards, `owner` itself or the other customer that
   * claimed it first. A stale reverse link (its owner now linked elsewhere) is taken over, guarded by its ETag.
   */
  async claim(ipaasCustomerId: string, owner: LinkOwner): Promise<LinkOwner> {
    const entity = this.ownerEntity(ipaasCustomerId, owner);
    try {
      for (let round = 0; round < 3; round += 1) {
        try {
          await withTable(this.table, () => this.table.createEntity(entity));
          return owner;
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
        const current = await this.readOwner(ipaasCustomerId);
        if (!current) continue;
        if (sameOwner(current.owner, owner)) return current.owner;
        if (!(await this.isStale(current.owner, ipaasCustomerId))) return current.owner;
        try {
          await this.table.updateEntity(entity, 'Replace', { etag: current.etag });
          return owner;
        } catch (error) {
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
        }
      }
      throw new SyncError('ConcurrentSync', 'The reverse link of an iPaaS.com customer kept changing; retrying', { transient: true });
    } catch (error) {
      throw storageError('claiming an iPaaS.com customer', error);
    }
  }

  /** Gives up a claim `owner` made (a transfer that claimed and then failed for good); another owner's claim is left alone. */
  async releaseClaim(ipaasCustomerId: string, owner: LinkOwner): Promise<void> {
    try {
      const current = await this.readOwner(ipaasCustomerId);
      if (!current || !sameOwner(current.owner, owner)) return;
      await this.table.deleteEntity(ownerPartition(ipaasCustomerId), OWNER_ROW_KEY, { etag: current.etag });
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return;
      throw storageError('releasing the claim of an iPaaS.com customer', error);
    }
  }

  /**
   * One page of the one-time claim of links saved before reverse links existed: each gets its reverse link (an
   * existing one is kept: first come, first served; links saved since, which hold their claim, are skipped), and
   * the place reached is kept in row `meta`/`claims`, so the next call goes on from there. Idempotent, so two
   * instances running it at once do no harm (the one that moved the place on first wins; the other answers false).
   * True once done.
   */
  async backfillClaims(): Promise<boolean> {
    const marker = await this.readBackfill();
    if (marker.complete) return true;
    const pages = this.table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter: `RowKey eq '${LINK_ROW_KEY}'`, select: ['PartitionKey', 'CustomerId', 'IpaasCustomerId', 'CustomerNumber', 'ClaimedIpaasCustomerId'] },
      })
      .byPage({ maxPageSize: this.backfillPageSize, ...(marker.continuation ? { continuationToken: marker.continuation } : {}) });
    const { value: page, done } = await pages.next();
    const rows = done || !page ? [] : page;
    const owners: Array<{ ipaasCustomerId: string; owner: LinkOwner }> = [];
    for (const row of rows) {
      const { CustomerId: customerId, IpaasCustomerId: ipaasCustomerId, CustomerNumber: customerNumber } = row;
      if (row.ClaimedIpaasCustomerId === ipaasCustomerId) continue;
      if (typeof customerId === 'string' && customerId !== '' && typeof ipaasCustomerId === 'string' && ipaasCustomerId !== '') {
        const companyId = await this.companyOfPartition(String(row.partitionKey));
        owners.push({ ipaasCustomerId, owner: { customerId, customerNumber: typeof customerNumber === 'string' ? customerNumber : '', ...(companyId ? { companyId } : {}) } });
      }
    }
    for (let start = 0; start < owners.length; start += BACKFILL_CONCURRENCY) {
      await Promise.all(
        owners.slice(start, start + BACKFILL_CONCURRENCY).map(async ({ ipaasCustomerId, owner }) => {
          try {
            await this.table.createEntity(this.ownerEntity(ipaasCustomerId, owner));
          } catch (error) {
            if (statusOf(error) !== 409) throw error;
          }
        }),
      );
    }
    const continuation = done || !page ? undefined : page.continuationToken;
    const complete = continuation === undefined;
    const row = { partitionKey: META_PARTITION, rowKey: CLAIMS_BACKFILL_ROW_KEY, Complete: complete, ...(continuation ? { Continuation: continuation } : {}) };
    try {
      if (marker.etag === null) await this.table.createEntity(row);
      else await this.table.updateEntity(row, 'Replace', { etag: marker.etag });
    } catch (error) {
      // Another instance moved it on meanwhile: its word stands.
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      return false;
    }
    if (complete) this.claimsComplete = true;
    return complete;
  }

  private claimsComplete = false;

  private async backfillComplete(): Promise<boolean> {
    if (this.claimsComplete) return true;
    const marker = await this.readBackfill();
    if (marker.complete) this.claimsComplete = true;
    return marker.complete;
  }

  private async readBackfill(): Promise<{ complete: boolean; continuation: string | undefined; etag: string | null }> {
    try {
      const row = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(META_PARTITION, CLAIMS_BACKFILL_ROW_KEY));
      return {
        complete: row.Complete === true,
        continuation: typeof row.Continuation === 'string' && row.Continuation !== '' ? row.Continuation : undefined,
        etag: row.etag,
      };
    } catch (error) {
      if (statusOf(error) === 404) return { complete: false, continuation: undefined, etag: null };
      throw error;
    }
  }

  /** A link saved before reverse links existed that points at `ipaasCustomerId` (a query: only until the claim of older links is done). */
  private async legacyOwner(ipaasCustomerId: string): Promise<LinkOwner | null> {
    const rows = this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`RowKey eq ${LINK_ROW_KEY} and IpaasCustomerId eq ${ipaasCustomerId}`, select: ['PartitionKey', 'CustomerId', 'CustomerNumber'] },
    });
    for await (const row of rows) {
      const parsed = ownerEntitySchema.safeParse(row);
      if (!parsed.success) continue;
      const companyId = await this.companyOfPartition(String(row.partitionKey));
      return { customerId: parsed.data.CustomerId, customerNumber: parsed.data.CustomerNumber, ...(companyId ? { companyId } : {}) };
    }
    return null;
  }

  private async readOwner(ipaasCustomerId: string): Promise<{ owner: LinkOwner; etag: string } | null> {
    let entity: Record<string, unknown> & { etag: string };
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(ownerPartition(ipaasCustomerId), OWNER_ROW_KEY));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
    const parsed = ownerEntitySchema.safeParse(entity);
    // An unreadable row names nobody: it is taken over like a stale one.
    if (!parsed.success) return { owner: { customerId: '(unreadable)', customerNumber: '' }, etag: entity.etag };
    // A reverse link written before several companies existed is the company's that owns the rows without a company.
    const companyId = parsed.data.CompanyId ?? (this.keyspace ? await this.keyspace.ownerId() : undefined);
    const owner: LinkOwner = {
      customerId: parsed.data.CustomerId,
      customerNumber: parsed.data.CustomerNumber,
      ...(companyId ? { companyId } : {}),
      ...(parsed.data.CompanyName ? { companyName: parsed.data.CompanyName } : {}),
    };
    return { owner, etag: entity.etag };
  }

  /** A reverse link is stale when its owner's link now points at another iPaaS.com customer (or it names nobody readable). */
  private async isStale(owner: LinkOwner, ipaasCustomerId: string): Promise<boolean> {
    if (owner.customerId === '(unreadable)') return true;
    // The owner's own link, in its company.
    const link = await this.getIn(owner.customerId, owner.companyId);
    return link !== null && link.ipaasCustomerId !== ipaasCustomerId;
  }

  private ownerEntity(ipaasCustomerId: string, owner: LinkOwner): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    return {
      partitionKey: ownerPartition(ipaasCustomerId),
      rowKey: OWNER_ROW_KEY,
      IpaasCustomerId: ipaasCustomerId,
      CustomerId: owner.customerId,
      CustomerNumber: owner.customerNumber,
      ...(owner.companyId ? { CompanyId: owner.companyId } : {}),
      ...(owner.companyName ? { CompanyName: owner.companyName } : {}),
    };
  }

  /**
   * Every link's ids, page by page. With a keyspace each carries its company (from its key); `company`: only
   * that company's links.
   */
  async *listLinkedIds(company?: CompanyScope): AsyncIterable<LinkedIds[]> {
    await withTable(this.table, async () => undefined);
    let owner: string | undefined;
    try {
      owner = this.keyspace ? await this.keyspace.ownerId() : undefined;
    } catch (error) {
      throw storageError('reading the company keys', error);
    }
    // Another company's partitions share its prefix: one range instead of the whole table.
    const prefix = company && owner !== undefined && owner !== company.id ? `${company.id}|` : undefined;
    const range = prefix ? ` and PartitionKey ge '${prefix}' and PartitionKey lt '${prefix.slice(0, -1)}}'` : '';
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: `RowKey eq '${LINK_ROW_KEY}'${range}`, select: ['PartitionKey', 'CustomerId', 'IpaasCustomerId'] } })
      .byPage({ maxPageSize: 1000 });
    try {
      for await (const page of pages) {
        const ids: LinkedIds[] = [];
        for (const entity of page) {
          const { CustomerId: customerId, IpaasCustomerId: ipaasCustomerId } = entity;
          if (typeof customerId === 'string' && customerId !== '' && typeof ipaasCustomerId === 'string' && ipaasCustomerId !== '') {
            if (owner === undefined) {
              ids.push({ customerId, ipaasCustomerId });
              continue;
            }
            const companyId = companyOfKey(String(entity.partitionKey)) ?? owner;
            if (!company || company.id === companyId) ids.push({ customerId, ipaasCustomerId, companyId });
          }
        }
        yield ids;
      }
    } catch (error) {
      throw storageError('listing customer links', error);
    }
  }

  async save(link: CustomerLink, options: { ifMatch?: string | null } = {}, company?: CompanyScope): Promise<void> {
    const checked = customerLinkSchema.safeParse(link);
    if (!checked.success) {
      const fields = [...new Set(checked.error.issues.map((issue) => issue.path.join('.')))].join(', ');
      throw new SyncError('StorageRejected', `Refusing to save an invalid customer link (bad ${fields})`, { transient: false });
    }
    const entity: LinkEntity = {
      partitionKey: await this.partitionOf(link.customerId, company?.id ?? link.companyId),
      rowKey: LINK_ROW_KEY,
      CustomerId: link.customerId,
      ...(link.companyId ? { CompanyId: link.companyId } : {}),
      IpaasCustomerId: link.ipaasCustomerId,
      CustomerNumber: link.customerNumber,
      PayloadHash: link.payloadHash,
      LastSyncedAt: link.lastSyncedAt,
      ...(link.addressHash ? { AddressHash: link.addressHash } : {}),
      ...(link.sourceModifiedAt ? { SourceModifiedAt: link.sourceModifiedAt } : {}),
      ...(link.externalIdKey ? { ExternalIdKey: link.externalIdKey } : {}),
      ...(link.claimedIpaasCustomerId ? { ClaimedIpaasCustomerId: link.claimedIpaasCustomerId } : {}),
    };
    const { ifMatch } = options;
    try {
      if (ifMatch === undefined) await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace'));
      else if (ifMatch === null) await withTable(this.table, () => this.table.createEntity(entity));
      else await withTable(this.table, () => this.table.updateEntity(entity, 'Replace', { etag: ifMatch }));
    } catch (error) {
      const status = statusOf(error);
      // A row that is there but unreadable was read as "no link": it holds nothing to protect, so it is replaced.
      if (ifMatch === null && status === 409 && (await this.unreadable(entity.partitionKey))) {
        await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace')).catch((cause: unknown) => {
          throw storageError('saving a customer link', cause);
        });
        return;
      }
      // 409: created meanwhile; 412: changed meanwhile; 404: deleted meanwhile. Another transfer saved first: never overwrite it.
      if (ifMatch !== undefined && (status === 409 || status === 412 || status === 404)) {
        throw new SyncError('ConcurrentSync', 'Another transfer of this customer saved its link first; this one is retried and reads again', {
          transient: true,
        });
      }
      throw storageError('saving a customer link', error);
    }
  }
}

/** The creates in doubt as stored; an unreadable value counts as none (the email match still finds most). */
function parsePendingCreates(text: string): PendingCreate[] {
  try {
    const parsed = pendingCreatesSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
