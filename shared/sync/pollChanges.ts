import { isoNow, systemClock, type Clock } from '../clock';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BusinessCentralApi } from '../businessCentral/types';
import { describeError, isTransient, SERVICE_LABELS, SyncError, type ServiceName } from '../errors';
import type { Logger } from '../log';
import type { LeaseStore, QueueSender, StateStore } from '../storage/types';
import { enqueueCustomerPages } from './enqueuePages';
import { OVERLAP_KEYS_MAX, overlapKey, OverlapTracker } from './pollOverlap';
import type { CustomerPage } from '../businessCentral/types';

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

const watermarkSchema = z.object({
  lastModifiedDateTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp'),
  /** Keys of the customers already enqueued whose change lies in the overlap (shared/sync/pollOverlap.ts); unreadable reads as none. */
  overlapKeys: z.array(z.string()).max(OVERLAP_KEYS_MAX).optional().catch(undefined),
});
export type PollWatermark = z.infer<typeof watermarkSchema>;
/** A corrupt watermark reads as none (a full pass is safe, merely slower) rather than blocking every poll. */
const parseWatermark = (value: unknown): PollWatermark | null => {
  const parsed = watermarkSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};

export interface PollDependencies {
  businessCentral: Pick<BusinessCentralApi, 'listCustomerPages'>;
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
  clock?: Clock;
  /**
   * The first service the transfers need that is on hold now (the breakers; shared/sync/outages.ts), or null. While
   * one is, the poll enqueues nothing and keeps its watermark: the customers changed meanwhile are enqueued once,
   * by the first poll after the outage, instead of at every poll into a queue that only holds them.
   */
  onHold?: () => Promise<ServiceName | null>;
  /** The company polled: its messages name it (its watermark, checkpoint and lease are in `state` and `leases`). */
  companyId?: string;
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
      /** This run went on from the checkpoint of an interrupted pass. */
      resumed: boolean;
    };

/**
 * Where an interrupted pass stands: the nextLink of the first page not yet enqueued, with what the pass had
 * seen. Written after every page (one small write per page of up to 10,000 customers), so a 100,000-customer
 * initial load that meets the function timeout or a host restart goes on from the last page enqueued at the
 * next run instead of starting over.
 */
export const POLL_CHECKPOINT_KEY = 'pollCheckpoint';
const isoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');
const checkpointSchema = z.object({
  mode: z.enum(['incremental', 'startFrom', 'full']),
  modifiedSince: isoTimestamp.nullable(),
  nextLink: z.string().min(1).max(8000),
  newest: isoTimestamp.nullable(),
  pages: z.number().int().nonnegative(),
  customers: z.number().int().nonnegative(),
  enqueued: z.number().int().nonnegative(),
  startedAt: isoTimestamp,
});
export type PollCheckpoint = z.infer<typeof checkpointSchema>;
const parseCheckpoint = (value: unknown): PollCheckpoint | null => {
  const parsed = checkpointSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};

/**
 * The polling fallback: enqueues every customer changed since the watermark (minus an overlap),
 * page by page, each message carrying the customer as the page returned it (the worker uses that
 * snapshot instead of reading the customer again), and only once all of them are durably enqueued
 * moves the watermark forward, to the newest lastModifiedDateTime seen but never past the time the pass
 * began (a customer changed after its page was read is then polled again). A lease keeps two runs from
 * polling at once; after each page a checkpoint records where the pass stands, so a run that dies or
 * times out midway is continued by the next one, not repeated (the sync is idempotent either way).
 */
export async function pollChanges(deps: PollDependencies): Promise<PollResult> {
  const held = deps.onHold ? await deps.onHold() : null;
  if (held) {
    deps.logger.info(`poll skipped: ${SERVICE_LABELS[held]} is on hold; the watermark stays, so the first poll after the outage enqueues every change made meanwhile`);
    return { outcome: 'skipped', reason: `${SERVICE_LABELS[held]} is on hold` };
  }
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
    const checkpoint = (await deps.state.get(POLL_CHECKPOINT_KEY, parseCheckpoint))?.value ?? null;
    const window = checkpoint
      ? { mode: checkpoint.mode, modifiedSince: checkpoint.modifiedSince }
      : pollWindow(previous ?? undefined, deps.startFrom, deps.overlapMs ?? DEFAULT_POLL_OVERLAP_MS);
    const { mode, modifiedSince } = window;
    const startedAt = checkpoint?.startedAt ?? isoNow(deps.clock ?? systemClock);
    deps.logger.info(
      checkpoint
        ? `poll resumed: ${mode} pass begun ${checkpoint.startedAt}, ${checkpoint.pages} pages and ${checkpoint.enqueued} customers already enqueued`
        : `poll started: ${mode}${modifiedSince ? ` since ${modifiedSince}` : ''}`,
    );

    const pageSize = deps.pageSize ?? DEFAULT_POLL_PAGE_SIZE;
    const overlapMs = deps.overlapMs ?? DEFAULT_POLL_OVERLAP_MS;
    // The customers the last poll enqueued within this poll's overlap: the same changes are not enqueued again.
    const enqueuedBefore = mode === 'incremental' ? new Set(stored?.value?.overlapKeys ?? []) : new Set<string>();
    const overlap = new OverlapTracker(overlapMs, Date.parse(startedAt));
    let leaseLost = false;
    let result;
    try {
      const pages = deps.businessCentral.listCustomerPages(
        checkpoint ? { resumeFrom: checkpoint.nextLink, pageSize } : { ...(modifiedSince ? { modifiedSince } : {}), pageSize },
      );
      result = await enqueueCustomerPages({ syncQueue: deps.syncQueue, logger: deps.logger }, noting(pages, overlap), {
        source: 'poll',
        correlationId: `poll-${randomUUID()}`,
        label: 'poll',
        ...(deps.companyId ? { companyId: deps.companyId } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(enqueuedBefore.size > 0 ? { alreadyEnqueued: (customer) => enqueuedBefore.has(overlapKey(customer)) } : {}),
        ...(checkpoint
          ? {
              start: {
                pages: checkpoint.pages,
                customers: checkpoint.customers,
                enqueued: checkpoint.enqueued,
                newestMs: checkpoint.newest ? Date.parse(checkpoint.newest) : Number.NEGATIVE_INFINITY,
              },
            }
          : {}),
        afterPage: async (progress) => {
          if (progress.nextLink) {
            const next: PollCheckpoint = {
              mode,
              modifiedSince,
              nextLink: progress.nextLink,
              newest: Number.isFinite(progress.newestMs) ? new Date(progress.newestMs).toISOString() : null,
              pages: progress.pages,
              customers: progress.customers,
              enqueued: progress.enqueued,
              startedAt,
            };
            await deps.state.put(POLL_CHECKPOINT_KEY, next);
          }
          if (await deps.leases.renew(lease, leaseTtlMs)) return true;
          leaseLost = true;
          return false;
        },
      });
    } catch (error) {
      // A checkpoint Business Central refuses (say, a continuation it no longer honours) must not block every run.
      if (checkpoint && !isTransient(error)) {
        deps.logger.warn(`poll: the checkpoint could not be resumed (${describeError(error)}); the next run starts the pass over`);
        await deps.state.delete(POLL_CHECKPOINT_KEY);
      }
      throw error;
    }
    if (leaseLost) {
      deps.logger.warn(`poll stopped after page ${result.pages}: the poll lease was lost; the next run goes on from the checkpoint`);
      return { outcome: 'leaseLost', mode, modifiedSince, pages: result.pages, customers: result.customers, enqueued: result.enqueued, watermark: previous, advanced: false, resumed: checkpoint !== null };
    }

    // Never past the start of the pass: a customer changed after its page was read would otherwise be skipped.
    const candidateMs = Math.min(result.newestMs, Date.parse(startedAt));
    const candidate = Number.isFinite(candidateMs) ? new Date(candidateMs).toISOString() : null;
    const watermark = candidate ? await advanceWatermark(deps.state, candidate, overlap.keysFor(candidate)) : previous;
    if (checkpoint || result.pages > 1) await deps.state.delete(POLL_CHECKPOINT_KEY);
    const advanced = watermark !== previous;
    const repeats = result.repeatsSkipped > 0 ? ` (${result.repeatsSkipped} in the overlap already enqueued by the last poll)` : '';
    deps.logger.info(`poll finished: ${result.pages} pages, ${result.customers} customers, ${result.enqueued} enqueued${repeats}, watermark ${watermark ?? '(none)'}`);
    return { outcome: 'polled', mode, modifiedSince, pages: result.pages, customers: result.customers, enqueued: result.enqueued, watermark, advanced, resumed: checkpoint !== null };
  } finally {
    await deps.leases.release(lease).catch(() => undefined);
  }
}

function pollWindow(watermark: string | undefined, startFrom: string | undefined, overlapMs: number): { mode: PollMode; modifiedSince: string | null } {
  if (watermark) return { mode: 'incremental', modifiedSince: new Date(Date.parse(watermark) - overlapMs).toISOString() };
  if (startFrom) return { mode: 'startFrom', modifiedSince: new Date(Date.parse(startFrom)).toISOString() };
  return { mode: 'full', modifiedSince: null };
}

/** Every customer of the pages, noted (for the next poll's overlap) as it passes. */
async function* noting(pages: AsyncIterable<CustomerPage>, overlap: OverlapTracker): AsyncIterable<CustomerPage> {
  for await (const page of pages) {
    for (const customer of page.customers) overlap.note(customer);
    yield page;
  }
}

/**
 * Moves the watermark forward to `candidate`, never backwards, safe against a concurrent writer (ETag), with the keys
 * of the customers enqueued within the overlap before it. At an unchanged watermark, keys not stored yet (a change
 * committed late with an older timestamp) are added. Returns the stored watermark.
 */
async function advanceWatermark(state: StateStore, candidate: string, overlapKeys: string[]): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await state.get(POLL_WATERMARK_KEY, parseWatermark);
    let value: PollWatermark = { lastModifiedDateTime: candidate, ...(overlapKeys.length > 0 ? { overlapKeys } : {}) };
    if (current?.value) {
      const stored = current.value;
      const storedMs = Date.parse(stored.lastModifiedDateTime);
      if (storedMs > Date.parse(candidate)) return stored.lastModifiedDateTime;
      if (storedMs === Date.parse(candidate)) {
        const known = new Set(stored.overlapKeys ?? []);
        const added = overlapKeys.filter((key) => !known.has(key));
        if (added.length === 0 || known.size >= OVERLAP_KEYS_MAX) return stored.lastModifiedDateTime;
        value = { lastModifiedDateTime: stored.lastModifiedDateTime, overlapKeys: [...known, ...added].slice(0, OVERLAP_KEYS_MAX) };
      }
    }
    if (await state.put(POLL_WATERMARK_KEY, value, current ? current.etag : null)) return value.lastModifiedDateTime;
  }
  throw new SyncError('StorageUnavailable', 'The poll watermark kept changing during the update; the next run advances it', { transient: true });
}
