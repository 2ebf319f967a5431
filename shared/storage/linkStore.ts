import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { SyncError } from '../errors';
import { silentLogger, type Logger } from '../log';
import { customerKey, statusOf, storageError, tableClient, withTable, type StorageConnection } from './connection';
import type { CustomerLink, CustomerLinkStore } from './types';

export const LINKS_TABLE = 'CustomerLinks';
const LINK_ROW_KEY = 'link';

export interface LinkStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  logger?: Logger;
}

const isoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');

export const customerLinkSchema = z.object({
  customerId: z.string().min(1),
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
  // Optional columns added later; a malformed one is dropped rather than discarding the link.
  AddressHash: z.string().min(1).optional().catch(undefined),
  SourceModifiedAt: isoTimestamp.optional().catch(undefined),
  ExternalIdKey: z.string().min(1).optional().catch(undefined),
});

interface LinkEntity {
  partitionKey: string;
  rowKey: string;
  CustomerId: string;
  IpaasCustomerId: string;
  CustomerNumber: string;
  PayloadHash: string;
  LastSyncedAt: string;
  AddressHash?: string;
  SourceModifiedAt?: string;
  ExternalIdKey?: string;
}

/** Business Central customer ↔ iPaaS.com customer, one row per customer in CustomerLinks. */
export class TableCustomerLinkStore implements CustomerLinkStore {
  private readonly table: TableClient;
  private readonly logger: Logger;

  constructor(storage: StorageConnection, options: LinkStoreOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? LINKS_TABLE);
    this.logger = options.logger ?? silentLogger;
  }

  async get(customerId: string): Promise<CustomerLink | null> {
    const partitionKey = customerKey(customerId);
    let entity: Record<string, unknown>;
    try {
      entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(partitionKey, LINK_ROW_KEY));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError('reading a customer link', error);
    }
    const parsed = linkEntitySchema.safeParse(entity);
    if (!parsed.success) {
      // Treated as no link: the sync then matches by email again, which never creates a duplicate.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ');
      this.logger.warn(`Ignoring unreadable row in ${this.table.tableName} (PartitionKey=${partitionKey}): bad ${fields}`);
      return null;
    }
    const row = parsed.data;
    return {
      customerId: row.CustomerId,
      ipaasCustomerId: row.IpaasCustomerId,
      customerNumber: row.CustomerNumber,
      payloadHash: row.PayloadHash,
      lastSyncedAt: row.LastSyncedAt,
      ...(row.AddressHash ? { addressHash: row.AddressHash } : {}),
      ...(row.SourceModifiedAt ? { sourceModifiedAt: row.SourceModifiedAt } : {}),
      ...(row.ExternalIdKey ? { externalIdKey: row.ExternalIdKey } : {}),
    };
  }

  async save(link: CustomerLink): Promise<void> {
    const checked = customerLinkSchema.safeParse(link);
    if (!checked.success) {
      const fields = [...new Set(checked.error.issues.map((issue) => issue.path.join('.')))].join(', ');
      throw new SyncError('StorageRejected', `Refusing to save an invalid customer link (bad ${fields})`, { transient: false });
    }
    const entity: LinkEntity = {
      partitionKey: customerKey(link.customerId),
      rowKey: LINK_ROW_KEY,
      CustomerId: link.customerId,
      IpaasCustomerId: link.ipaasCustomerId,
      CustomerNumber: link.customerNumber,
      PayloadHash: link.payloadHash,
      LastSyncedAt: link.lastSyncedAt,
      ...(link.addressHash ? { AddressHash: link.addressHash } : {}),
      ...(link.sourceModifiedAt ? { SourceModifiedAt: link.sourceModifiedAt } : {}),
      ...(link.externalIdKey ? { ExternalIdKey: link.externalIdKey } : {}),
    };
    try {
      await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace'));
    } catch (error) {
      throw storageError('saving a customer link', error);
    }
  }
}
