import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BusinessCentralApi } from '../businessCentral/types';
import { SyncError } from '../errors';
import type { Logger } from '../log';
import type { LeaseStore, QueueSender, StateStore } from '../storage/types';
import { newSyncMessage, snapshotOf } from '../messages';

export const POLL_LEASE = 'poll';
export const POLL_WATERMARK_KEY = 'pollWatermark';

/** Re-read this much before the watermark: Business Central commits are not ordered by their timestamps. */
export const DEFAULT_POLL_OVERLAP_MS = 2 * 60 * 1000;
/** Longer than the function timeout (10 min), so a crashed run's lease frees itself soon after. */
export const DEFAULT_POLL_LEASE_MS = 11 * 60 * 1000;
/**
 * odata.maxpagesize for polls: an initial load of 100,000 customers is 10 requests instead of 100 at the
 * client's default 1,000. Pages are enqueued one at a time, so memory holds one page (about 10 MB of JSON
 * at ~1 KB per customer, several times that once parsed) and never the whole load. Business Central allows
 * 20,000, which halves the requests but measured about 120 MB more peak RSS (docs/performance.md).
 */
export const DEFAULT_POLL_PAGE_SIZE = 10_000;
/** Messages handed to the sender at once (it sends them 32 at a time). */
const SEND_SLICE = 1_000;

const watermarkSchema = z.object({
  lastModifiedDateTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp'),
});
export type PollWatermark = z.infer<typeof watermarkSchema>;
/** A corrupt watermark reads as none (a full pass is safe, merely slower) rather than blocking every poll. */
const parseWatermark = (value: unknown): PollWatermark | null => {
  const parsed = watermarkSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};

export interface PollDependencies {
  businessCentral: Pick<BusinessCentralApi, 'listCustomers'>;
  syncQueue: QueueSender;
  leases: LeaseStore;
  state: StateStore;
  logger: Logger;
  /** POLL_START_FROM: where the first poll starts when no watermark exists; a full load when absent. */
  startFrom?: string | undefined;
  overlapMs?: number;
  leaseTtlMs?: number;
  /** odata.maxpagesize; DEFAULT_POLL_PAGE_SIZE when absent. */
  pageSize?: number;
}

export type PollMode = 'incremental' | 'startFrom' | 'full';

export type PollResult =
  | { outcome: 'skipped'; reason: string }
  | {
      outcome: 'polled' | 'leaseLost';
      mode: PollMode;
      /** The lower bound asked of Business Central; null for a full load. */
      modifiedSince: string | null;
      pages: number;
      customers: number;
      enqueued: number;
      /** The watermark after this run (unchanged when nothing newer was seen, or when the lease was lost). */
      watermark: string | null;
      advanced: boolean;
    };

/**
 * The polling fallback: enqueues every customer changed since the watermark (minus an overlap),
 * page by page, each message carrying the customer as the page returned it (the worker uses that
 * snapshot instead of reading the customer again), and only once all of them are durably enqueued
 * moves the watermark forward to the newest lastModifiedDateTime seen. A lease keeps two runs from
 * polling at once; a failure leaves the watermark where it was, so the next run repeats the window
 * (the sync is idempotent).
 */
export async function pollChanges(deps: PollDependencies): Promise<PollResult> {
  const leaseTtlMs = deps.leaseTtlMs ?? DEFAULT_POLL_LEASE_MS;
  const lease = await deps.leases.tryAcquire(POLL_LEASE, leaseTtlMs);
  if (!lease) {
    deps.logger.info('poll skipped: another poll is running');
    return { outcome: 'skipped', reason: 'another poll is running' };
  }
  try {
    const stored = await deps.state.get(POLL_WATERMARK_KEY, parseWatermark);
    if (stored && !stored.value) deps.logger.warn(`poll: the stored ${POLL_WATERMARK_KEY} is not readable; polling as if there were none`);
    const previous = stored?.value?.lastModifiedDateTime ?? null;
    const { mode, modifiedSince } = pollWindow(previous ?? undefined, deps.startFrom, deps.overlapMs ?? DEFAULT_POLL_OVERLAP_MS);
    deps.logger.info(`poll started: ${mode}${modifiedSince ? ` since ${modifiedSince}` : ''}`);

    const correlationId = `poll-${randomUUID()}`;
    const seen = new Set<string>();
    let newest = Number.NEGATIVE_INFINITY;
    let pages = 0;
    let customers = 0;
    const pageOptions = {
      ...(modifiedSince ? { modifiedSince } : {}),
      pageSize: deps.pageSize ?? DEFAULT_POLL_PAGE_SIZE,
    };
    for await (const page of deps.businessCentral.listCustomers(pageOptions)) {
      pages += 1;
      customers += page.length;
      // Type is not filtered at the source (the client has no such option); syncCustomer filters.
      const fresh = page.filter((customer) => !seen.has(customer.id));
      fresh.forEach((customer) => seen.add(customer.id));
      // Each message carries the customer as read, so the worker need not read it again (see syncCustomer).
      // Sent in slices so only one slice of encoded messages exists at a time beside the page.
      for (let start = 0; start < fresh.length; start += SEND_SLICE) {
        const slice = fresh.slice(start, start + SEND_SLICE);
        await deps.syncQueue.send(slice.map((customer) => newSyncMessage(customer.id, 'poll', { correlationId, snapshot: snapshotOf(customer) })));
      }
      for (const customer of page) {
        const modifiedAt = Date.parse(customer.lastModifiedDateTime);
        if (!Number.isNaN(modifiedAt) && modifiedAt > newest) newest = modifiedAt;
      }
      deps.logger.info(`poll page ${pages}: ${page.length} customers, ${seen.size} enqueued so far`);
      if (!(await deps.leases.renew(lease, leaseTtlMs))) {
        deps.logger.warn(`poll stopped after page ${pages}: the poll lease was lost; the watermark stays for the next run`);
        return { outcome: 'leaseLost', mode, modifiedSince, pages, customers, enqueued: seen.size, watermark: previous, advanced: false };
      }
    }

    const candidate = Number.isFinite(newest) ? new Date(newest).toISOString() : null;
    const watermark = candidate ? await advanceWatermark(deps.state, candidate) : previous;
    const advanced = watermark !== previous;
    deps.logger.info(`poll finished: ${pages} pages, ${customers} customers, ${seen.size} enqueued, watermark ${watermark ?? '(none)'}`);
    return { outcome: 'polled', mode, modifiedSince, pages, customers, enqueued: seen.size, watermark, advanced };
  } finally {
    await deps.leases.release(lease).catch(() => undefined);
  }
}

function pollWindow(watermark: string | undefined, startFrom: string | undefined, overlapMs: number): { mode: PollMode; modifiedSince: string | null } {
  if (watermark) return { mode: 'incremental', modifiedSince: new Date(Date.parse(watermark) - overlapMs).toISOString() };
  if (startFrom) return { mode: 'startFrom', modifiedSince: new Date(Date.parse(startFrom)).toISOString() };
  return { mode: 'full', modifiedSince: null };
}

/** Moves the watermark forward to `candidate`, never backwards, safe against a concurrent writer (ETag). Returns the stored value. */
async function advanceWatermark(state: StateStore, candidate: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await state.get(POLL_WATERMARK_KEY, parseWatermark);
    if (current?.value && Date.parse(current.value.lastModifiedDateTime) >= Date.parse(candidate)) return current.value.lastModifiedDateTime;
    const value: PollWatermark = { lastModifiedDateTime: candidate };
    if (await state.put(POLL_WATERMARK_KEY, value, current ? current.etag : null)) return candidate;
  }
  throw new SyncError('StorageUnavailable', 'The poll watermark kept changing during the update; the next run advances it', { transient: true });
}
