import { odata, type Edm, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { ERROR_CODES, SyncError } from '../errors';
import { silentLogger, type Logger } from '../log';
import { SOURCES } from '../messages';
import { customerKey, storageError, tableClient, toTableKey, withTable, type StorageConnection } from './connection';
import type { CompanyKeyspace, CompanyNames, CompanyScope, CompanyTransferStore } from './companies';
import {
  TRANSFER_STATUSES,
  type TransferAction,
  type TransferCursor,
  type TransferPage,
  type TransferRecord,
  type TransferStatus,
  type TransferStore,
} from './types';

export const TRANSFERS_TABLE = 'CustomerTransfers';
export const TRANSFERS_BY_TIME_TABLE = 'TransfersByTime';

export const TRANSFER_ACTIONS = ['Created', 'Updated', 'Unchanged', 'Filtered', 'NotFound', 'Deleted'] as const satisfies readonly TransferAction[];

export const DEFAULT_TRANSFER_LIMIT = 50;
export const MAX_TRANSFER_LIMIT = 1000;
/** Table Storage keeps strings up to 32K UTF-16 characters; error texts beyond this are cut. */
const MAX_ERROR_MESSAGE_LENGTH = 8000;
/** Inverted epoch-ms keys are 13 digits wide until the year 2286. */
const MAX_EPOCH_MS = 9_999_999_999_999;
const SEQUENCE_SPAN = 1_000_000;
const DAY_MS = 86_400_000;

export interface TransferStoreOptions {
  /** Contract name by default; override only for isolation. */
  tableName?: string;
  byTimeTableName?: string;
  logger?: Logger;
  /** "Now" for listRecent's walk back over days. */
  clock?: Clock;
  /** listRecent stops after this many consecutive days without any transfer. */
  maxEmptyDays?: number;
  /** listRecent never looks further back than this. */
  maxDaysBack?: number;
  /**
   * Which company owns the rows without a company (written before several companies existed), and the
   * configured names: with them every record read carries its company. Without them (a store of no company),
   * records are read and written as they are.
   */
  companies?: { keyspace: CompanyKeyspace; names: CompanyNames };
}

const isoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');
const storedNumber = z.union([z.number(), z.bigint()]).transform(Number).pipe(z.number());
const storedCount = storedNumber.pipe(z.number().int().nonnegative());
const optionalString = z.string().nullish().transform((value) => value ?? null);

/** A TransferRecord as written; the same rules the reader applies, so nothing unreadable is ever stored. */
export const transferRecordSchema = z.object({
  transferId: z.string().min(1).max(200),
  customerId: z.string(),
  companyId: z.string().min(1).max(100).optional(),
  companyName: z.string().min(1).max(200).optional(),
  customerNumber: z.string().nullable(),
  source: z.enum(SOURCES),
  status: z.enum(TRANSFER_STATUSES),
  action: z.enum(TRANSFER_ACTIONS).nullable(),
  errorCode: z.enum(ERROR_CODES).nullable(),
  errorMessage: z.string().nullable(),
  ipaasCustomerId: z.string().nullable(),
  addressesAdded: z.number().int().nonnegative(),
  attempt: z.number().int().nonnegative(),
  startedAt: isoTimestamp,
  finishedAt: isoTimestamp,
  durationMs: z.number(),
  warnings: z.array(z.string()),
});

/** The row as Table Storage returns it: absent columns are the record's nulls. */
const transferEntitySchema = z.looseObject({
  TransferId: z.string().min(1),
  CustomerId: z.string(),
  // Absent on rows written before several companies existed.
  CompanyId: z.string().min(1).optional().catch(undefined),
  CompanyName: z.string().min(1).optional().catch(undefined),
  CustomerNumber: optionalString,
  Source: z.enum(SOURCES),
  Status: z.enum(TRANSFER_STATUSES),
  Action: z.enum(TRANSFER_ACTIONS).nullish().transform((value) => value ?? null),
  ErrorCode: z.enum(ERROR_CODES).nullish().transform((value) => value ?? null),
  ErrorMessage: optionalString,
  IpaasCustomerId: optionalString,
  AddressesAdded: storedCount,
  Attempt: storedCount,
  StartedAt: isoTimestamp,
  FinishedAt: isoTimestamp,
  DurationMs: storedNumber,
  // A JSON array of strings; rows written before warnings existed have none. An unreadable one is kept as text.
  Warnings: z
    .string()
    .nullish()
    .transform((value): string[] => {
      if (!value) return [];
      try {
        const parsed = z.array(z.string()).safeParse(JSON.parse(value));
        return parsed.success ? parsed.data : [value];
      } catch {
        return [value];
      }
    }),
});

type NumberColumn = Edm<'Int32'> | Edm<'Int64'> | Edm<'Double'>;

interface TransferEntity {
  partitionKey: string;
  rowKey: string;
  TransferId: string;
  CustomerId: string;
  CompanyId?: string;
  CompanyName?: string;
  CustomerNumber?: string;
  Source: string;
  Status: string;
  Action?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
  IpaasCustomerId?: string;
  AddressesAdded: NumberColumn;
  Attempt: NumberColumn;
  StartedAt: string;
  FinishedAt: string;
  DurationMs: NumberColumn;
  Warnings?: string;
}

/** Explicit EDM types, so an integer is never stored as Double nor a large duration overflow Int32. */
export function numberColumn(value: number): NumberColumn {
  if (Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647) return { value, type: 'Int32' };
  if (Number.isSafeInteger(value)) return { value: String(value), type: 'Int64' };
  return { value, type: 'Double' };
}

/** UTC day of an instant, the TransfersByTime partition. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// Per process, not per store instance, so stores created per invocation still order same-millisecond records.
let sequence = 0;
/** Row keys already given to recent transfer ids, so recording the same transfer again overwrites instead of duplicating. */
const recentKeys = new Map<string, string>();

function clampLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(MAX_TRANSFER_LIMIT, Math.max(1, Math.floor(limit)));
}

/** Transfer outcomes in Table Storage: by customer (CustomerTransfers) and by day (our index for cross-customer queries). */
export class TableTransferStore implements TransferStore, CompanyTransferStore {
  private readonly transfers: TableClient;
  private readonly byTime: TableClient;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly maxEmptyDays: number;
  private readonly maxDaysBack: number;
  private readonly companies: TransferStoreOptions['companies'];

  constructor(storage: StorageConnection, options: TransferStoreOptions = {}) {
    this.companies = options.companies;
    this.transfers = tableClient(storage, options.tableName ?? TRANSFERS_TABLE);
    this.byTime = tableClient(storage, options.byTimeTableName ?? TRANSFERS_BY_TIME_TABLE);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.maxEmptyDays = options.maxEmptyDays ?? 30;
    this.maxDaysBack = options.maxDaysBack ?? 400;
  }

  async record(transfer: TransferRecord): Promise<void> {
    const checked = transferRecordSchema.safeParse(transfer);
    if (!checked.success) {
      const fields = [...new Set(checked.error.issues.map((issue) => issue.path.join('.')))].join(', ');
      throw new SyncError('StorageRejected', `Refusing to record an invalid transfer (bad ${fields})`, { transient: false });
    }
    const finishedMs = Date.parse(transfer.finishedAt);
    const rowKey = rowKeyFor(transfer.transferId, finishedMs);
    const columns = toColumns(transfer);
    try {
      const partitionKey = (await this.prefixOf(transfer.companyId)) + customerKey(transfer.customerId);
      // Two tables cannot share a transaction; upserts with a stable key make a retried record() converge.
      await Promise.all([
        withTable(this.transfers, () => this.transfers.upsertEntity<TransferEntity>({ partitionKey, rowKey, ...columns }, 'Replace')),
        withTable(this.byTime, () => this.byTime.upsertEntity<TransferEntity>({ partitionKey: utcDay(finishedMs), rowKey, ...columns }, 'Replace')),
      ]);
    } catch (error) {
      throw storageError('recording a transfer', error);
    }
  }

  async listForCustomer(customerId: string, limit: number = DEFAULT_TRANSFER_LIMIT, company?: CompanyScope): Promise<TransferRecord[]> {
    const count = clampLimit(limit, DEFAULT_TRANSFER_LIMIT);
    try {
      const partitionKey = (await this.prefixOf(company?.id)) + customerKey(customerId);
      const owner = await this.ownerId();
      return await withTable(this.transfers, () => this.query(this.transfers, odata`PartitionKey eq ${partitionKey}`, count, owner));
    } catch (error) {
      throw storageError('reading transfers', error);
    }
  }

  async listRecent(options: { status?: TransferStatus; limit: number; company?: CompanyScope }): Promise<TransferRecord[]> {
    return (await this.listRecentPage(options)).transfers;
  }

  /** `company`: only that company's transfers (the day index holds every company's). */
  async listRecentPage(options: { status?: TransferStatus; limit: number; after?: TransferCursor; company?: CompanyScope }): Promise<TransferPage> {
    const limit = clampLimit(options.limit, DEFAULT_TRANSFER_LIMIT);
    const { status, after } = options;
    let owner: string | undefined;
    let only: CompanyFilter | undefined;
    try {
      owner = await this.ownerId();
      if (options.company) only = { id: options.company.id, owner: owner === options.company.id };
    } catch (error) {
      throw storageError('reading recent transfers', error);
    }
    const results: Array<{ record: TransferRecord; day: string; rowKey: string }> = [];
    // Tomorrow first: a writer whose clock runs ahead may already have filed rows under the next day.
    // With a cursor, its own day first (the rest of it), then older days.
    const start = after ? Date.parse(`${after.day}T00:00:00Z`) : this.clock.now() + DAY_MS;
    let emptyDays = 0;
    // One day first (a busy day answers alone), then growing batches read in parallel for sparse history.
    let batchSize = 1;
    let offset = 0;
    // One record beyond the page says whether there is a next page, without an extra round trip.
    const wanted = limit + 1;
    try {
      while (offset <= this.maxDaysBack && results.length < wanted && emptyDays < this.maxEmptyDays) {
        const remaining = wanted - results.length;
        const count = Math.min(batchSize, this.maxDaysBack + 1 - offset);
        const days = Array.from({ length: count }, (_, index) => utcDay(start - (offset + index) * DAY_MS));
        const pages = await Promise.all(
          days.map((day) => withTable(this.byTime, () => this.readDay(day, status, remaining, after && after.day === day ? after.rowKey : undefined, owner, only))),
        );
        // Results are still taken strictly newest day first.
        for (const page of pages) {
          if (results.length >= wanted || emptyDays >= this.maxEmptyDays) break;
          emptyDays = page.anyTransfers ? 0 : emptyDays + 1;
          results.push(...page.rows.slice(0, wanted - results.length));
        }
        offset += count;
        batchSize = Math.min(8, batchSize * 2);
      }
    } catch (error) {
      throw storageError('reading recent transfers', error);
    }
    const pageRows = results.slice(0, limit);
    const last = pageRows.at(-1);
    return {
      transfers: pageRows.map((row) => row.record),
      next: results.length > limit && last ? { day: last.day, rowKey: last.rowKey } : null,
    };
  }

  private async readDay(
    day: string,
    status: TransferStatus | undefined,
    limit: number,
    afterRowKey: string | undefined,
    owner: string | undefined,
    only: CompanyFilter | undefined,
  ): Promise<{ rows: Array<{ record: TransferRecord; day: string; rowKey: string }>; anyTransfers: boolean }> {
    const after = afterRowKey === undefined ? '' : odata` and RowKey gt ${afterRowKey}`;
    // Another company's rows always name it; the owner's older rows name none, so they are told apart here.
    const company = only && !only.owner ? odata` and CompanyId eq ${only.id}` : '';
    const filter = (status ? odata`PartitionKey eq ${day} and Status eq ${status}` : odata`PartitionKey eq ${day}`) + after + company;
    const keep = only?.owner ? (record: TransferRecord) => record.companyId === only.id : undefined;
    const rows = (await this.queryRows(this.byTime, filter, limit, owner, keep)).map((row) => ({ ...row, day }));
    // A continued day counts as busy: the cursor proves it had a transfer.
    if (rows.length > 0 || !status || afterRowKey !== undefined) return { rows, anyTransfers: rows.length > 0 || afterRowKey !== undefined };
    // No match for the status: the day only counts as empty when it had no transfer at all.
    return { rows, anyTransfers: await this.hasAny(this.byTime, odata`PartitionKey eq ${day}`) };
  }

  private async hasAny(table: TableClient, filter: string): Promise<boolean> {
    // The service may answer with an empty page plus a continuation, so look until a row or the end.
    const pages = table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }).byPage({ maxPageSize: 1 });
    for await (const page of pages) if (page.length > 0) return true;
    return false;
  }

  private async query(table: TableClient, filter: string, limit: number, owner: string | undefined): Promise<TransferRecord[]> {
    return (await this.queryRows(table, filter, limit, owner)).map((row) => row.record);
  }

  private async queryRows(
    table: TableClient,
    filter: string,
    limit: number,
    owner: string | undefined,
    keep?: (record: TransferRecord) => boolean,
  ): Promise<Array<{ record: TransferRecord; rowKey: string }>> {
    const results: Array<{ record: TransferRecord; rowKey: string }> = [];
    const pages = table.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(MAX_TRANSFER_LIMIT, limit) });
    for await (const page of pages) {
      for (const entity of page) {
        const record = this.fromEntity(table.tableName, entity, owner);
        if (record && (!keep || keep(record))) results.push({ record, rowKey: String(entity.rowKey) });
        if (results.length >= limit) return results;
      }
    }
    return results;
  }

  /** '' for a store of no company and for the owner of the unprefixed keys; `{companyId}|` for the others. */
  private async prefixOf(companyId: string | undefined): Promise<string> {
    return companyId && this.companies ? this.companies.keyspace.prefix(companyId) : '';
  }

  private async ownerId(): Promise<string | undefined> {
    return this.companies ? this.companies.keyspace.ownerId() : undefined;
  }

  private fromEntity(tableName: string, entity: Record<string, unknown>, owner: string | undefined): TransferRecord | null {
    const parsed = transferEntitySchema.safeParse(entity);
    if (parsed.success) {
      const record = fromColumns(parsed.data);
      const names = this.companies?.names;
      if (!names) return record;
      // A row of an older version is the owner's; a row keeps the name it was written with when that company is no longer configured.
      const companyId = record.companyId ?? owner;
      if (!companyId) return record;
      return { ...record, companyId, companyName: names.get(companyId) ?? record.companyName ?? companyId };
    }
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ');
    // Keys only: they are ids and times, never personal data.
    this.logger.warn(
      `Skipping unreadable row in ${tableName} (PartitionKey=${String(entity.partitionKey)}, RowKey=${String(entity.rowKey)}): bad ${fields}`,
    );
    return null;
  }
}

/**
 * Newest first: inverted epoch ms, then an inverted per-process sequence so transfers recorded in
 * the same millisecond still list in reverse recording order, then the transfer id for uniqueness.
 */
function rowKeyFor(transferId: string, finishedMs: number): string {
  const memoKey = `${finishedMs}|${transferId}`;
  const known = recentKeys.get(memoKey);
  if (known) return known;
  const time = String(MAX_EPOCH_MS - Math.min(MAX_EPOCH_MS, Math.max(0, finishedMs))).padStart(13, '0');
  const order = String(SEQUENCE_SPAN - 1 - (sequence++ % SEQUENCE_SPAN)).padStart(6, '0');
  const rowKey = `${time}_${order}_${toTableKey(transferId)}`;
  recentKeys.set(memoKey, rowKey);
  if (recentKeys.size > 1000) {
    const oldest = recentKeys.keys().next();
    if (!oldest.done) recentKeys.delete(oldest.value);
  }
  return rowKey;
}

function toColumns(transfer: TransferRecord): Omit<TransferEntity, 'partitionKey' | 'rowKey'> {
  // Table Storage does not store nulls, so null fields are simply left out and restored on read.
  const optional = (name: string, value: string | null) => (value === null ? {} : { [name]: value });
  return {
    TransferId: transfer.transferId,
    CustomerId: transfer.customerId,
    ...optional('CompanyId', transfer.companyId ?? null),
    ...optional('CompanyName', transfer.companyName ?? null),
    ...optional('CustomerNumber', transfer.customerNumber),
    Source: transfer.source,
    Status: transfer.status,
    ...optional('Action', transfer.action),
    ...optional('ErrorCode', transfer.errorCode),
    ...optional('ErrorMessage', transfer.errorMessage === null ? null : transfer.errorMessage.slice(0, MAX_ERROR_MESSAGE_LENGTH)),
    ...optional('IpaasCustomerId', transfer.ipaasCustomerId),
    AddressesAdded: numberColumn(transfer.addressesAdded),
    Attempt: numberColumn(transfer.attempt),
    StartedAt: transfer.startedAt,
    FinishedAt: transfer.finishedAt,
    DurationMs: numberColumn(transfer.durationMs),
    ...(transfer.warnings.length > 0
      ? { Warnings: JSON.stringify(transfer.warnings.map((warning) => warning.slice(0, MAX_ERROR_MESSAGE_LENGTH))) }
      : {}),
  };
}

function fromColumns(row: z.infer<typeof transferEntitySchema>): TransferRecord {
  return {
    transferId: row.TransferId,
    customerId: row.CustomerId,
    ...(row.CompanyId ? { companyId: row.CompanyId } : {}),
    ...(row.CompanyName ? { companyName: row.CompanyName } : {}),
    customerNumber: row.CustomerNumber,
    source: row.Source,
    status: row.Status,
    action: row.Action,
    errorCode: row.ErrorCode,
    errorMessage: row.ErrorMessage,
    ipaasCustomerId: row.IpaasCustomerId,
    addressesAdded: row.AddressesAdded,
    attempt: row.Attempt,
    startedAt: row.StartedAt,
    finishedAt: row.FinishedAt,
    durationMs: row.DurationMs,
    warnings: row.Warnings,
  };
}

/** Only one company's transfers; `owner`: it owns the rows that name no company. */
interface CompanyFilter {
  id: string;
  owner: boolean;
}

const cursorSchema = z.object({
  d: z.string().regex(/^\d{4}-\d{2}-\d{2}$/u),
  r: z.string().regex(/^\d{13}_\d{6}_/u).max(1024),
});

/** An opaque continuation token for a TransferCursor (base64url JSON): clients pass it back unchanged. */
export function encodeTransferCursor(cursor: TransferCursor): string {
  return Buffer.from(JSON.stringify({ d: cursor.day, r: cursor.rowKey }), 'utf8').toString('base64url');
}

/** The cursor of a continuation token, or null when the token is not one this service issued. */
export function decodeTransferCursor(token: string): TransferCursor | null {
  if (token.length === 0 || token.length > 2048 || !/^[A-Za-z0-9_-]+$/u.test(token)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success || Number.isNaN(Date.parse(`${parsed.data.d}T00:00:00Z`))) return null;
  return { day: parsed.data.d, rowKey: parsed.data.r };
}
