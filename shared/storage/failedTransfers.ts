import { odata } from '@azure/data-tables';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { ERROR_CODES } from '../errors';
import { ensureTable, storageError, tableClient, type StorageConnection } from './connection';
import { TRANSFERS_BY_TIME_TABLE, utcDay } from './transferStore';
import type { FailedTransferSource } from './types';
import type { CompanyKeyspace } from './companies';

/** How far back a scan looks for failed transfers, by default. */
export const FAILED_TRANSFERS_LOOKBACK_DAYS = 30;
const DAY_MS = 86_400_000;

const failedRowSchema = z.looseObject({
  CustomerId: z.string(),
  CompanyId: z.string().min(1).optional().catch(undefined),
  ErrorCode: z.enum(ERROR_CODES).nullish(),
});

/**
 * Failed rows from the transfers-by-day index (TransfersByTime: PartitionKey = UTC day, RowKey newest
 * first), paging through every day back to `lookbackDays`: unlike listRecent it is not capped at the
 * newest 1,000 rows, so failures older than a burst of later ones are still found.
 */
export function tableFailedTransferSource(
  storage: StorageConnection,
  options: { lookbackDays?: number; clock?: Clock; tableName?: string; keyspace?: CompanyKeyspace } = {},
): FailedTransferSource {
  const lookbackDays = options.lookbackDays ?? FAILED_TRANSFERS_LOOKBACK_DAYS;
  const clock = options.clock ?? systemClock;
  return {
    async *scan() {
      const table = tableClient(storage, options.tableName ?? TRANSFERS_BY_TIME_TABLE);
      let owner: string | undefined;
      try {
        await ensureTable(table);
        // Rows of an older version name no company: they are the owner's of the unprefixed keys.
        owner = options.keyspace ? await options.keyspace.ownerId() : undefined;
      } catch (error) {
        throw storageError('reading failed transfers', error);
      }
      // Tomorrow first: a writer whose clock runs ahead may already have filed rows under the next day.
      const start = clock.now() + DAY_MS;
      for (let offset = 0; offset <= lookbackDays + 1; offset += 1) {
        const day = utcDay(start - offset * DAY_MS);
        const pages = table
          .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${day} and Status eq ${'Failed'}`, select: ['CustomerId', 'ErrorCode', 'CompanyId'] } })
          .byPage({ maxPageSize: 1000 });
        const iterator = pages[Symbol.asyncIterator]();
        for (;;) {
          let page: IteratorResult<Array<Record<string, unknown>>>;
          try {
            page = await iterator.next();
          } catch (error) {
            throw storageError('reading failed transfers', error);
          }
          if (page.done) break;
          for (const entity of page.value) {
            const row = failedRowSchema.safeParse(entity);
            if (!row.success) continue;
            const companyId = row.data.CompanyId ?? owner;
            yield { customerId: row.data.CustomerId, errorCode: row.data.ErrorCode ?? null, ...(companyId ? { companyId } : {}) };
          }
        }
      }
    },
  };
}
