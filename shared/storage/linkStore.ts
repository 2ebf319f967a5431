import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { SyncError } from '../errors';
import { silentLogger, type Logger } from '../log';
import { customerKey, statusOf, storageError, tableClient, withTable, type StorageConnection } from './connection';
import { companyOfKey, type CompanyKeyspace, type CompanyLinkStore, type CompanyScope } from './companies';
import type { CustomerLink, CustomerLinkLister, CustomerLinkStore, LinkedIds } from './types';

export const LINKS_TABLE = 'CustomerLinks';
const LINK_ROW_KEY = 'link';
/** Beside the link, in the customer's partition: the version last attempted without success. */
const ATTEMPT_ROW_KEY = 'attempt';

export interface LinkStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  logger?: Logger;
  /** Which company owns the rows without a company prefix; with it every link read carries its company. */
  keyspace?: CompanyKeyspace;
}

const isoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');

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
  }

  /** The customer's partition in `company` (none: a store of no company). */
  private async partitionOf(customerId: string, companyId: string | undefined): Promise<string> {
    const prefix = companyId && this.keyspace ? await this.keyspace.prefix(companyId).catch((error: unknown) => Promise.reject(storageError('reading the company keys', error))) : '';
    return prefix + customerKey(customerId);
  }

  async get(customerId: string, company?: CompanyScope): Promise<CustomerLink | null> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    let entity: Record<string, unknown>;
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(partitionKey, LINK_ROW_KEY));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError('reading a customer link', error);
    }
    return this.withCompany(this.toLink(partitionKey, entity), company);
  }

  /** A link read in a company's scope says so (older rows do not carry it). */
  private withCompany(link: CustomerLink | null, company: CompanyScope | undefined): CustomerLink | null {
    return link && company ? { ...link, companyId: company.id } : link;
  }

  async getState(customerId: string, company?: CompanyScope): Promise<{ link: CustomerLink | null; lastAttemptedModifiedAt: string | null }> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    let link: CustomerLink | null = null;
    let lastAttemptedModifiedAt: string | null = null;
    try {
      // One query for both rows of the customer's partition.
      const rows = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } });
      await withTable(this.table, async () => {
        for await (const row of rows) {
          if (row.rowKey === LINK_ROW_KEY) link = this.toLink(partitionKey, row);
          else if (row.rowKey === ATTEMPT_ROW_KEY && typeof row.SourceModifiedAt === 'string' && !Number.isNaN(Date.parse(row.SourceModifiedAt))) {
            lastAttemptedModifiedAt = row.SourceModifiedAt;
          }
        }
      });
    } catch (error) {
      if (statusOf(error) === 404) return { link: null, lastAttemptedModifiedAt: null };
      throw storageError('reading a customer link', error);
    }
    return { link: this.withCompany(link, company), lastAttemptedModifiedAt };
  }

  async recordAttempt(customerId: string, sourceModifiedAt: string, company?: CompanyScope): Promise<void> {
    const partitionKey = await this.partitionOf(customerId, company?.id);
    try {
      await withTable(this.table, () => this.table.upsertEntity({ partitionKey, rowKey: ATTEMPT_ROW_KEY, SourceModifiedAt: sourceModifiedAt }, 'Replace'));
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
      ...(etag ? { etag } : {}),
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
