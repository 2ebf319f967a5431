import type { Clock } from '../clock';
import type { BcCustomer, CustomerPage } from '../businessCentral/types';
import type { Logger } from '../log';
import { snapshotOf, type SyncSource } from '../messages';
import type { QueueSender } from '../storage/types';
import { newSyncMessage } from '../messages';

/** Messages handed to the sender at once (it sends them 32 at a time). */
const SEND_SLICE = 1_000;

export interface PageProgress {
  pages: number;
  customers: number;
  /** Distinct customers enqueued. */
  enqueued: number;
  /** Customers not enqueued because an earlier pass enqueued the same change (`alreadyEnqueued`). */
  repeatsSkipped: number;
  /** Newest lastModifiedDateTime seen, epoch ms (-Infinity when none). */
  newestMs: number;
  /** Where the pass goes on after the page just enqueued; undefined after the last page. */
  nextLink: string | undefined;
}

export interface EnqueuePagesOptions {
  source: SyncSource;
  correlationId: string;
  changeType?: string;
  /** For the log lines: "poll", "catch-up". */
  label: string;
  /** Progress carried over from an earlier, interrupted pass. */
  start?: Partial<Pick<PageProgress, 'pages' | 'customers' | 'enqueued' | 'newestMs'>>;
  /** The company whose customers these are: every message names it. */
  companyId?: string;
  /** The process's clock (each message's enqueuedAt). */
  clock?: Clock;
  /** True for a customer an earlier pass already enqueued as it is now (the poll's overlap): it is not sent again. */
  alreadyEnqueued?: (customer: BcCustomer) => boolean;
  /** Called once a page is durably enqueued; false stops the pass there (e.g. a lost lease). */
  afterPage?: (progress: PageProgress) => Promise<boolean>;
}

/**
 * The one page-to-queue loop of the poll, the initial load and `collection` catch-ups: each page's customers
 * become customer-sync messages carrying the customer as read (the worker need not read it again), sent in
 * slices so only one slice of encoded messages exists beside the page, a customer repeated on a later page
 * of the same pass enqueued once. A page may come in parts (`pageComplete: false` on all but its last): each
 * part is enqueued as it comes, so only one part exists as objects. Only after a page's last part is enqueued is
 * `afterPage` told where the pass stands, so a checkpoint written there never skips a customer.
 */
export async function enqueueCustomerPages(
  deps: { syncQueue: QueueSender; logger: Logger },
  pages: AsyncIterable<CustomerPage>,
  options: EnqueuePagesOptions,
): Promise<PageProgress & { stopped: boolean }> {
  const seen = new Set<string>();
  const progress: PageProgress = {
    pages: options.start?.pages ?? 0,
    customers: options.start?.customers ?? 0,
    enqueued: options.start?.enqueued ?? 0,
    repeatsSkipped: 0,
    newestMs: options.start?.newestMs ?? Number.NEGATIVE_INFINITY,
    nextLink: undefined,
  };
  let customersBefore = progress.customers;
  for await (const page of pages) {
    progress.customers += page.customers.length;
    let fresh = page.customers.filter((customer) => !seen.has(customer.id));
    fresh.forEach((customer) => seen.add(customer.id));
    if (options.alreadyEnqueued) {
      const before = fresh.length;
      fresh = fresh.filter((customer) => !options.alreadyEnqueued!(customer));
      progress.repeatsSkipped += before - fresh.length;
    }
    for (let start = 0; start < fresh.length; start += SEND_SLICE) {
      const slice = fresh.slice(start, start + SEND_SLICE);
      await deps.syncQueue.send(
        slice.map((customer) =>
          newSyncMessage(customer.id, options.source, {
            correlationId: options.correlationId,
            snapshot: snapshotOf(customer),
            companyId: options.companyId,
            ...(options.clock ? { clock: options.clock } : {}),
            ...(options.changeType ? { changeType: options.changeType } : {}),
          }),
        ),
      );
    }
    progress.enqueued += fresh.length;
    for (const customer of page.customers) {
      const modifiedAt = Date.parse(customer.lastModifiedDateTime);
      if (!Number.isNaN(modifiedAt) && modifiedAt > progress.newestMs) progress.newestMs = modifiedAt;
    }
    // A part of a page: the next part follows; the page counts, and is checkpointed, once its last part is enqueued.
    if (page.pageComplete === false) continue;
    progress.pages += 1;
    progress.nextLink = page.nextLink;
    deps.logger.info(`${options.label} page ${progress.pages}: ${progress.customers - customersBefore} customers, ${progress.enqueued} enqueued so far (correlation ${options.correlationId})`);
    customersBefore = progress.customers;
    if (options.afterPage && !(await options.afterPage({ ...progress }))) return { ...progress, stopped: true };
  }
  return { ...progress, stopped: false };
}
