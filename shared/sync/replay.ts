import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors';
import { GUID_PATTERN, normalizeGuid } from '../guid';
import type { Logger } from '../log';
import { FAILED_TRANSFERS_LOOKBACK_DAYS } from '../storage/failedTransfers';
import { decodeMessage } from '../storage/queues';
import type { FailedTransferSource, PoisonMessage, PoisonQueue, QueueSender, TransferRecord, TransferStore } from '../storage/types';
import { newSyncMessage, syncMessageSchema } from '../messages';

/** One call re-enqueues at most this many customers, so a reply (and the queue burst) stays bounded. */
export const MAX_REPLAY_PER_CALL = 1000;
/** How far back the errorCode / all selectors look for failed transfers. */
export const REPLAY_LOOKBACK_DAYS = FAILED_TRANSFERS_LOOKBACK_DAYS;
/** Failed transfer rows read per call at most; beyond it the reply says more may remain. */
export const MAX_SCANNED_ROWS = 200_000;
/** Poison messages taken by a replay stay hidden this long; one that cannot be re-enqueued reappears after it. */
export const POISON_RECEIVE_VISIBILITY_SECONDS = 120;
/** Parallel storage calls (latest-transfer reads, poison deletes). */
const LATEST_CHECK_CONCURRENCY = 16;

const guid = z
  .string({ error: 'each customer id must be a string' })
  .transform((value) => normalizeGuid(value))
  .pipe(z.string().regex(GUID_PATTERN, 'must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301'));

/** The body of POST /api/transfers/replay (and what `npm run replay` builds from its flags). */
export const replayRequestSchema = z
  .strictObject({
    customerIds: z
      .array(guid, { error: 'customerIds must be an array of GUIDs' })
      .min(1, 'customerIds must hold at least one id')
      .max(MAX_REPLAY_PER_CALL, `customerIds may hold at most ${MAX_REPLAY_PER_CALL} ids per call`)
      .optional(),
    errorCode: z.enum(ERROR_CODES, { error: `errorCode must be one of ${ERROR_CODES.join(', ')}` }).optional(),
    all: z.literal(true, { error: 'all must be true when given' }).optional(),
    includePoisonQueue: z.boolean({ error: 'includePoisonQueue must be true or false' }).optional(),
    dryRun: z.boolean({ error: 'dryRun must be true or false' }).optional(),
  })
  .superRefine((body, context) => {
    const selectors = [body.customerIds, body.errorCode, body.all].filter((value) => value !== undefined).length;
    if (selectors !== 1) {
      context.addIssue({ code: 'custom', message: 'give exactly one of "customerIds", "errorCode" or "all": true' });
    }
  });

export type ReplaySelector = { kind: 'customers'; customerIds: string[] } | { kind: 'errorCode'; errorCode: ErrorCode } | { kind: 'all' };

export interface ReplayRequest {
  selector: ReplaySelector;
  /** Also move what waits in customer-sync-poison back to customer-sync. */
  includePoisonQueue: boolean;
  /** Select and count, change nothing. */
  dryRun: boolean;
}

export type ParsedReplayRequest = { ok: true; request: ReplayRequest } | { ok: false; error: string };

/** Validates a replay body; the error names fields and rules, never echoes the values sent. */
export function parseReplayRequest(body: unknown): ParsedReplayRequest {
  const parsed = replayRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    return { ok: false, error: `Invalid replay request: ${issues.join('; ')}${more}` };
  }
  const valid = parsed.data;
  const selector: ReplaySelector = valid.customerIds
    ? { kind: 'customers', customerIds: [...new Set(valid.customerIds)] }
    : valid.errorCode
      ? { kind: 'errorCode', errorCode: valid.errorCode }
      : { kind: 'all' };
  return { ok: true, request: { selector, includePoisonQueue: valid.includePoisonQueue ?? false, dryRun: valid.dryRun ?? false } };
}

export interface ReplayDependencies {
  transfers: Pick<TransferStore, 'listForCustomer'>;
  failedTransfers: FailedTransferSource;
  /** customer-sync */
  syncQueue: QueueSender;
  poisonQueue: PoisonQueue;
  logger: Logger;
  /** Ties the re-enqueued messages to the request in logs. */
  correlationId?: string;
  /** Per-call cap; MAX_REPLAY_PER_CALL unless a test lowers it. */
  maxPerCall?: number;
  maxScannedRows?: number;
}

export interface ReplayResult {
  /** Customers re-enqueued (or, on a dry run, that would be). */
  replayed: number;
  customerIds: string[];
  dryRun: boolean;
  /** True when more customers match than one call takes: call again once these are processed. */
  moreRemain: boolean;
  /** One sentence for people: what happened and what to do next. */
  message: string;
  /** Named customers left alone (customerIds selector only), with why. */
  skipped: Array<{ customerId: string; reason: string }>;
  /** With includePoisonQueue: messages moved back (on a dry run: waiting) and unreadable ones left in place. */
  poison?: { requeued: number; unreadable: number; waiting?: number };
}

/**
 * Re-drives failed transfers: selects customers whose latest transfer is Failed (all of them, those
 * with one error code, or those named), optionally takes the dead letters in customer-sync-poison,
 * and enqueues one customer-sync message per customer with source `replay`. Replaying is safe to
 * repeat: the sync re-reads Business Central and is idempotent, so a duplicate ends `Unchanged`.
 */
export async function replayTransfers(deps: ReplayDependencies, request: ReplayRequest): Promise<ReplayResult> {
  const cap = deps.maxPerCall ?? MAX_REPLAY_PER_CALL;
  const correlationId = deps.correlationId ?? randomUUID();
  const skipped: ReplayResult['skipped'] = [];
  let selected: string[];
  let moreRemain = false;

  if (request.selector.kind === 'customers') {
    const latest = await latestTransfers(deps.transfers, request.selector.customerIds);
    selected = [];
    for (const customerId of request.selector.customerIds) {
      const transfer = latest.get(customerId);
      if (!transfer) skipped.push({ customerId, reason: 'no transfer is recorded for this customer; use POST /api/customers/{id}/sync' });
      else if (transfer.status !== 'Failed') {
        skipped.push({ customerId, reason: `the latest transfer is ${transfer.status}, not Failed; use POST /api/customers/{id}/sync for a fresh transfer` });
      } else selected.push(customerId);
    }
  } else {
    const found = await selectFailedCustomers(deps, request.selector.kind === 'errorCode' ? request.selector.errorCode : null, cap);
    selected = found.customerIds;
    moreRemain = found.moreRemain;
  }

  let poison: ReplayResult['poison'];
  const poisonIds: string[] = [];
  const poisonTaken: PoisonMessage[] = [];
  if (request.includePoisonQueue) {
    if (request.dryRun) {
      poison = { requeued: 0, unreadable: 0, waiting: await deps.poisonQueue.count() };
    } else {
      const room = cap - selected.length;
      const taken =
        room > 0 ? await takePoison(deps.poisonQueue, room) : { messages: [], customerIds: [], unreadable: 0, full: (await deps.poisonQueue.count()) > 0 };
      poisonTaken.push(...taken.messages);
      poisonIds.push(...taken.customerIds);
      if (taken.full) moreRemain = true;
      poison = { requeued: taken.messages.length, unreadable: taken.unreadable };
    }
  }

  const customerIds = [...new Set([...selected, ...poisonIds])];
  if (!request.dryRun && customerIds.length > 0) {
    await deps.syncQueue.send(customerIds.map((customerId) => newSyncMessage(customerId, 'replay', { correlationId })));
  }
  // Dead letters are removed only once their customers are durably back in customer-sync.
  for (let index = 0; index < poisonTaken.length; index += LATEST_CHECK_CONCURRENCY) {
    await Promise.all(poisonTaken.slice(index, index + LATEST_CHECK_CONCURRENCY).map((message) => deps.poisonQueue.delete(message)));
  }

  const result: ReplayResult = {
    replayed: customerIds.length,
    customerIds,
    dryRun: request.dryRun,
    moreRemain,
    message: describe(request, customerIds.length, moreRemain, cap),
    skipped,
    ...(poison ? { poison } : {}),
  };
  deps.logger.info(
    `replay${request.dryRun ? ' (dry run)' : ''}: ${customerIds.length} customers ${request.dryRun ? 'selected' : 're-enqueued'} ` +
      `(${describeSelector(request.selector)}${poison ? `, poison queue: ${poison.requeued} moved back, ${poison.unreadable} unreadable` : ''}` +
      `${skipped.length > 0 ? `, ${skipped.length} skipped` : ''}${moreRemain ? ', more remain' : ''}; correlation ${correlationId})`,
  );
  return result;
}

function describeSelector(selector: ReplaySelector): string {
  if (selector.kind === 'customers') return `${selector.customerIds.length} named customers`;
  if (selector.kind === 'errorCode') return `latest transfer Failed with ${selector.errorCode}`;
  return 'latest transfer Failed';
}

function describe(request: ReplayRequest, count: number, moreRemain: boolean, cap: number): string {
  const verb = request.dryRun ? 'would be re-enqueued' : 're-enqueued to customer-sync with source replay';
  const base = `${count} customer${count === 1 ? '' : 's'} ${verb}.`;
  if (!moreRemain) return base;
  return `${base} More remain: at most ${cap} customers are replayed per call; call again once these are processed (GET /api/transfers?status=Failed shows the progress).`;
}

/** The latest transfer of each customer (absent when none is recorded). */
async function latestTransfers(transfers: Pick<TransferStore, 'listForCustomer'>, customerIds: readonly string[]): Promise<Map<string, TransferRecord>> {
  const latest = new Map<string, TransferRecord>();
  let next = 0;
  const worker = async () => {
    while (next < customerIds.length) {
      const customerId = customerIds[next++] as string;
      const [transfer] = await transfers.listForCustomer(customerId, 1);
      if (transfer) latest.set(customerId, transfer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LATEST_CHECK_CONCURRENCY, customerIds.length) }, worker));
  return latest;
}

/**
 * Customers whose latest transfer is Failed (with `errorCode`, when given), newest failures first.
 * The scan proposes candidates; each one's latest transfer decides, so a customer that has since
 * succeeded is not replayed however many failures it has in its history.
 */
async function selectFailedCustomers(
  deps: ReplayDependencies,
  errorCode: ErrorCode | null,
  cap: number,
): Promise<{ customerIds: string[]; moreRemain: boolean }> {
  const budget = deps.maxScannedRows ?? MAX_SCANNED_ROWS;
  const seen = new Set<string>();
  const selected: string[] = [];
  let pending: string[] = [];
  let scanned = 0;

  const decide = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    const latest = await latestTransfers(deps.transfers, batch);
    for (const customerId of batch) {
      const transfer = latest.get(customerId);
      if (transfer?.status === 'Failed' && (errorCode === null || transfer.errorCode === errorCode)) selected.push(customerId);
    }
  };

  for await (const row of deps.failedTransfers.scan()) {
    scanned += 1;
    if (scanned > budget) {
      await decide();
      // The rows not read may hold more; say so rather than pretend the selection is complete.
      return { customerIds: selected.slice(0, cap), moreRemain: true };
    }
    if (errorCode !== null && row.errorCode !== errorCode) continue;
    const customerId = normalizeGuid(row.customerId);
    if (!GUID_PATTERN.test(customerId) || seen.has(customerId)) continue;
    seen.add(customerId);
    pending.push(customerId);
    if (pending.length >= LATEST_CHECK_CONCURRENCY * 4) {
      await decide();
      // One more than the cap proves that more remain.
      if (selected.length > cap) return { customerIds: selected.slice(0, cap), moreRemain: true };
    }
  }
  await decide();
  return { customerIds: selected.slice(0, cap), moreRemain: selected.length > cap };
}

/** Takes up to `limit` poison messages; unreadable ones stay hidden for a while and are reported, not deleted. */
async function takePoison(
  queue: PoisonQueue,
  limit: number,
): Promise<{ messages: PoisonMessage[]; customerIds: string[]; unreadable: number; full: boolean }> {
  const messages: PoisonMessage[] = [];
  const customerIds: string[] = [];
  let unreadable = 0;
  while (messages.length < limit) {
    const batch = await queue.receive(Math.min(32, limit - messages.length), POISON_RECEIVE_VISIBILITY_SECONDS);
    if (batch.length === 0) return { messages, customerIds, unreadable, full: false };
    for (const message of batch) {
      const parsed = syncMessageSchema.safeParse(decodeMessage(message.messageText));
      if (!parsed.success) {
        // Left for a person to look at: it names no customer we could replay.
        unreadable += 1;
        continue;
      }
      messages.push(message);
      customerIds.push(parsed.data.customerId);
    }
  }
  // Stopped at the limit: more may wait behind these.
  return { messages, customerIds, unreadable, full: true };
}
