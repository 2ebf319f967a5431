import { isoNow, systemClock, type Clock } from '../clock';
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { z } from 'zod';
import type { ErrorCode } from '../errors';
import type { Logger } from '../log';
import { statusOf, storageError, tableClient, withTable, type StorageConnection } from '../storage/connection';
import { SYNC_STATE_TABLE } from '../storage/leaseStore';
import type { QueueSender, TransferRecord, TransferStore } from '../storage/types';
import { companyCustomerKey, companyOfKey, type CompanyKeyspace } from '../storage/companies';
import { newSyncMessage } from '../messages';

/**
 * Automatic retries of failed transfers whose cause may have gone away (a customer-specific 5xx, a lease
 * conflict, a crash loop): after a message exhausted its deliveries (RetriesExhausted), the customer is
 * tried again 1, 5, 15 and 60 minutes, then 6, 12, 18 and 24 hours after the previous failure (about 2½ days
 * in all): faster at first than iPaaS.com's own integration (10·a·(a+1) minutes). The schedule is a row per customer in SyncState (partition `retry`),
 * so it survives restarts and is shared by instances; each retry is a `replay` transfer in the customer's
 * history, and the RetriesExhausted record says when the next one is due. A later success or a newer
 * change stops it (the retry timer looks at the customer's latest transfer first). Final failures
 * (validation, business rules) are never scheduled: only a change of the customer fixes those.
 */

/** Minutes after each failure (the previous retry's, for every retry after the first): 1, 5, 15, 60 minutes, then 6, 12, 18, 24 hours. */
export const RETRY_SCHEDULE_MINUTES = [1, 5, 15, 60, 360, 720, 1080, 1440] as const;
/**
 * Failures a later attempt can fix by itself: a remote service or Table Storage that did not answer, a lease
 * conflict, a fault of this code that a redeployment fixes (InternalError). Validation and business rules are not.
 */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'RetriesExhausted',
  'IpaasUnavailable',
  'BusinessCentralUnavailable',
  'ConcurrentSync',
  'StorageUnavailable',
  'InternalError',
]);
const RETRY_PARTITION = 'retry';
/** While a retry runs, its row waits this long before the timer looks at the outcome. */
const IN_FLIGHT_GUARD_MS = 60 * 60_000;

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)));
const rowSchema = z.looseObject({
  CustomerId: z.string().min(1),
  CompanyId: z.string().min(1).optional().catch(undefined),
  Step: z.union([z.number(), z.bigint()]).transform(Number).pipe(z.number().int().min(0)),
  NextAt: isoTime,
  FailedAt: isoTime,
  Enqueued: z.boolean().optional(),
  etag: z.string().optional(),
});

export interface ScheduledRetry {
  customerId: string;
  /** The customer's company (with a keyspace; a row of an older version is the owner's). */
  companyId?: string;
  /** 0 for the first retry. */
  step: number;
  nextAt: string;
  /** When the failure that started (or continued) the schedule was recorded. */
  failedAt: string;
  /** True while the retry's message is on its way (the timer enqueued it). */
  enqueued: boolean;
  etag?: string;
}

export interface RetryScheduleOptions {
  tableName?: string;
  clock?: Clock;
  /** With several companies: whose rows carry no company prefix (shared/storage/companies.ts). */
  keyspace?: CompanyKeyspace;
}

export class RetrySchedule {
  private readonly table: TableClient;
  private readonly clock: Clock;
  private readonly keyspace: CompanyKeyspace | undefined;

  constructor(storage: StorageConnection, options: RetryScheduleOptions = {}) {
    this.table = tableClient(storage, options.tableName ?? SYNC_STATE_TABLE);
    this.clock = options.clock ?? systemClock;
    this.keyspace = options.keyspace;
  }

  /** The row of a customer in a company ('' prefix without a keyspace or for the owner of the unprefixed keys). */
  private async rowKeyOf(customerId: string, companyId: string | undefined): Promise<string> {
    return companyCustomerKey(this.keyspace, customerId, companyId);
  }

  private async fromEntity(entity: Record<string, unknown>): Promise<ScheduledRetry | null> {
    const retry = fromEntity(entity);
    if (!retry || !this.keyspace || retry.companyId) return retry;
    return { ...retry, companyId: companyOfKey(String(entity.rowKey)) ?? (await this.keyspace.ownerId()) };
  }

  async get(customerId: string, companyId?: string): Promise<ScheduledRetry | null> {
    const rowKey = await this.rowKeyOf(customerId, companyId);
    try {
      const entity = await withTable(this.table, () => this.table.getEntity<Record<string, unknown>>(RETRY_PARTITION, rowKey));
      return await this.fromEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError('reading a scheduled retry', error);
    }
  }

  /**
   * After a failure that ended a message (RetriesExhausted): schedules the next retry. A failure of the retry
   * the timer started moves to the next step; any other (a newer change failing) starts over at the first.
   * Returns the retry scheduled, or null when the schedule is used up (the failure then stands).
   */
  async scheduleAfter(failure: Pick<TransferRecord, 'customerId' | 'finishedAt' | 'companyId'>): Promise<ScheduledRetry | null> {
    const next = await this.plan(failure);
    await this.apply(failure.customerId, next, failure.companyId);
    return next;
  }

  /** What scheduleAfter would write, read but not written (the poison handler records the failure first). */
  async plan(failure: Pick<TransferRecord, 'customerId' | 'finishedAt' | 'companyId'>): Promise<ScheduledRetry | null> {
    const current = await this.get(failure.customerId, failure.companyId);
    const step = current?.enqueued ? current.step + 1 : 0;
    const minutes = RETRY_SCHEDULE_MINUTES[step];
    if (minutes === undefined) return null;
    return {
      customerId: failure.customerId,
      ...(failure.companyId ? { companyId: failure.companyId } : {}),
      step,
      nextAt: new Date(this.clock.now() + minutes * 60_000).toISOString(),
      failedAt: failure.finishedAt,
      enqueued: false,
    };
  }

  /** Writes a planned retry, or ends the customer's schedule (null: used up). */
  async apply(customerId: string, next: ScheduledRetry | null, companyId?: string): Promise<void> {
    if (next === null) await this.remove(customerId, companyId);
    else await this.write(next);
  }

  /** Rows due now (oldest first, at most `limit`). */
  async due(limit = 500): Promise<ScheduledRetry[]> {
    const now = isoNow(this.clock);
    const results: ScheduledRetry[] = [];
    try {
      const pages = this.table
        .listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${RETRY_PARTITION} and NextAt le ${now}` } })
        .byPage({ maxPageSize: Math.min(1000, limit) });
      for await (const page of pages) {
        for (const entity of page) {
          const retry = await this.fromEntity(entity);
          if (retry) results.push(retry);
        }
        if (results.length >= limit) break;
      }
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw storageError('reading due retries', error);
    }
    return results.sort((a, b) => a.nextAt.localeCompare(b.nextAt)).slice(0, limit);
  }

  /** Marks a retry as enqueued (ETag-guarded: false when someone else changed it first). */
  async markEnqueued(retry: ScheduledRetry): Promise<boolean> {
    const next: ScheduledRetry = { ...retry, enqueued: true, nextAt: new Date(this.clock.now() + IN_FLIGHT_GUARD_MS).toISOString() };
    return this.write(next, retry.etag);
  }

  async remove(customerId: string, companyId?: string): Promise<void> {
    const rowKey = await this.rowKeyOf(customerId, companyId);
    try {
      await this.table.deleteEntity(RETRY_PARTITION, rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw storageError('deleting a scheduled retry', error);
    }
  }

  private async write(retry: ScheduledRetry, etag?: string): Promise<boolean> {
    const entity = {
      partitionKey: RETRY_PARTITION,
      rowKey: await this.rowKeyOf(retry.customerId, retry.companyId),
      CustomerId: retry.customerId,
      ...(retry.companyId ? { CompanyId: retry.companyId } : {}),
      Step: retry.step,
      NextAt: retry.nextAt,
      FailedAt: retry.failedAt,
      Enqueued: retry.enqueued,
    };
    try {
      if (etag) await this.table.updateEntity(entity, 'Replace', { etag });
      else await withTable(this.table, () => this.table.upsertEntity(entity, 'Replace'));
      return true;
    } catch (error) {
      if (etag && (statusOf(error) === 412 || statusOf(error) === 404)) return false;
      throw storageError('writing a scheduled retry', error);
    }
  }
}

function fromEntity(entity: Record<string, unknown>): ScheduledRetry | null {
  const parsed = rowSchema.safeParse(entity);
  if (!parsed.success) return null;
  const row = parsed.data;
  return {
    customerId: row.CustomerId,
    ...(row.CompanyId ? { companyId: row.CompanyId } : {}),
    step: row.Step,
    nextAt: row.NextAt,
    failedAt: row.FailedAt,
    enqueued: row.Enqueued ?? false,
    ...(row.etag ? { etag: row.etag } : {}),
  };
}

export interface RetryRunDependencies {
  schedule: RetrySchedule;
  transfers: TransferStore;
  syncQueue: QueueSender;
  logger: Logger;
  /** With several companies: each row's company's transfer history (absent: `transfers`). */
  transfersOf?: (companyId: string | undefined) => TransferStore;
  /** The process's clock (the retry message's enqueuedAt); the schedule's rows follow the schedule's own. */
  clock?: Clock;
}

export interface RetryRunResult {
  due: number;
  enqueued: number;
  /** Schedules ended because the customer's latest transfer no longer needs them (a success, a newer change). */
  stopped: number;
}

/**
 * The retry timer: for each due row, looks at the customer's latest transfer. Still a retryable failure:
 * enqueues a `replay` message and marks the row. Anything else (a later success, a newer change that ended
 * differently, a final failure): the schedule stops.
 */
export async function runDueRetries(deps: RetryRunDependencies): Promise<RetryRunResult> {
  const result: RetryRunResult = { due: 0, enqueued: 0, stopped: 0 };
  for (const retry of await deps.schedule.due()) {
    result.due += 1;
    const transfers = deps.transfersOf ? deps.transfersOf(retry.companyId) : deps.transfers;
    const [latest] = await transfers.listForCustomer(retry.customerId, 1);
    const stillFailing = latest?.status === 'Failed' && latest.errorCode !== null && RETRYABLE_CODES.has(latest.errorCode);
    if (!stillFailing) {
      await deps.schedule.remove(retry.customerId, retry.companyId);
      result.stopped += 1;
      continue;
    }
    if (retry.enqueued) {
      // The retry ran and failed without reaching the poison queue again (its record is the latest): go on.
      const next = await deps.schedule.scheduleAfter({ customerId: retry.customerId, finishedAt: latest.finishedAt, ...(retry.companyId ? { companyId: retry.companyId } : {}) });
      if (!next) result.stopped += 1;
      continue;
    }
    if (!(await deps.schedule.markEnqueued(retry))) continue;
    await deps.syncQueue.send([
      newSyncMessage(retry.customerId, 'replay', {
        correlationId: `retry-${retry.step + 1}-${retry.customerId}`,
        ...(retry.companyId ? { companyId: retry.companyId } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
      }),
    ]);
    result.enqueued += 1;
    deps.logger.info(`retry: customer ${retry.customerId} enqueued, automatic retry ${retry.step + 1} of ${RETRY_SCHEDULE_MINUTES.length}`);
  }
  return result;
}

/** The note a RetriesExhausted record carries about its automatic retry. */
export function retryNote(retry: ScheduledRetry | null): string {
  if (!retry) return ' No automatic retry is left; replay it once the cause is fixed.';
  return ` Automatic retry ${retry.step + 1} of ${RETRY_SCHEDULE_MINUTES.length} at ${retry.nextAt}; replay it sooner once the cause is fixed.`;
}
