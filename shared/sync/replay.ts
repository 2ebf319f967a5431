import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock';
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
    /** One company only (GUID or configured name); default: every company. */
    company: z.string({ error: 'company must be a company GUID or configured name' }).trim().min(1, 'company must not be empty').max(200, 'company is too long').optional(),
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
  /** `company` of the body as given (the caller resolves it to `ReplayDependencies.company`). */
  company?: string;
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
  return {
    ok: true,
    request: { selector, includePoisonQueue: valid.includePoisonQueue ?? false, dryRun: valid.dryRun ?? false, ...(valid.company ? { company: valid.company } : {}) },
  };
}

export interface ReplayDependencies {
  /** The history to judge a customer by (its latest transfer); with `companies`, used for rows that name no company. */
  transfers: Pick<TransferStore, 'listForCustomer'>;
  /**
   * With several companies: each company's history, by id. A customer is replayed in its company (the
   * failed row's, or, for named customers, every company whose latest transfer of it failed).
   */
  companies?: { ids: readonly string[]; transfersOf(companyId: string): Pick<TransferStore, 'listForCustomer'> };
  /** Only this company (a resolved `company` of the request). */
  company?: string;
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
  /** The process's clock (the re-enqueued messages' enqueuedAt). */
  clock?: Clock;
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
  /** With several companies: each customer replayed with its company. */
  targets?: Array<{ customerId: string; companyId: string }>;
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
  let selected: Target[];
  let moreRemain = false;
  const scope = companyScope(deps);

  if (request.selector.kind === 'customers') {
    const candidates = request.selector.customerIds.flatMap((customerId) => scope.companies.map((companyId) => ({ customerId, companyId })));
    const latest = await latestTransfers(deps, candidates);
    selected = [];
    for (const customerId of request.selector.customerIds) {
      const mine = candidates.filter((candidate) => candidate.customerId === customerId);
      const failed = mine.filter((candidate) => latest.get(targetKey(candidate))?.status === 'Failed');
      if (failed.length > 0) {
        selected.push(...failed);
        continue;
      }
      const found = mine.map((candidate) => latest.get(targetKey(candidate))).find((transfer) => transfer !== undefined);
      if (!found) skipped.push({ customerId, reason: 'no transfer is recorded for this customer; use POST /api/customers/{id}/sync' });
      else skipped.push({ customerId, reason: `the latest transfer is ${found.status}, not Failed; use POST /api/customers/{id}/sync for a fresh transfer` });
    }
  } else {
    const found = await selectFailedCustomers(deps, request.selector.kind === 'errorCode' ? request.selector.errorCode : null, cap);
    selected = found.targets;
    moreRemain = found.moreRemain;
  }

  let poison: ReplayResult['poison'];
  const poisonTargets: Target[] = [];
  const poisonTaken: PoisonMessage[] = [];
  if (request.includePoisonQueue) {
    if (request.dryRun) {
      poison = { requeued: 0, unreadable: 0, waiting: await deps.poisonQueue.count() };
    } else {
      const room = cap - selected.length;
      const taken =
        room > 0 ? await takePoison(deps.poisonQueue, room, deps.company) : { messages: [], targets: [], unreadable: 0, full: (await deps.poisonQueue.count()) > 0 };
      poisonTaken.push(...taken.messages);
      // Without companies every customer is the one company's: the same customer failed and in the poison queue is replayed once.
      poisonTargets.push(...(deps.companies ? taken.targets : taken.targets.map((target) => ({ customerId: target.customerId }))));
      if (taken.full) moreRemain = true;
      poison = { requeued: taken.messages.length, unreadable: taken.unreadable };
    }
  }

  const targets = uniqueTargets([...selected, ...poisonTargets]);
  if (!request.dryRun && targets.length > 0) {
    await deps.syncQueue.send(targets.map((target) => newSyncMessage(target.customerId, 'replay', { correlationId, companyId: target.companyId, ...(deps.clock ? { clock: deps.clock } : {}) })));
  }
  // Dead letters are removed only once their customers are durably back in customer-sync.
  for (let index = 0; index < poisonTaken.length; index += LATEST_CHECK_CONCURRENCY) {
    await Promise.all(poisonTaken.slice(index, index + LATEST_CHECK_CONCURRENCY).map((message) => deps.poisonQueue.delete(message)));
  }

  const customerIds = [...new Set(targets.map((target) => target.customerId))];
  const result: ReplayResult = {
    replayed: targets.length,
    customerIds,
    dryRun: request.dryRun,
    moreRemain,
    message: describe(request, targets.length, moreRemain, cap),
    skipped,
    ...(poison ? { poison } : {}),
    ...(deps.companies
      ? { targets: targets.map((target) => ({ customerId: target.customerId, companyId: target.companyId ?? scope.companies[0] ?? '' })) }
      : {}),
  };
  deps.logger.info(
    `replay${request.dryRun ? ' (dry run)' : ''}: ${targets.length} customers ${request.dryRun ? 'selected' : 're-enqueued'} ` +
      `(${describeSelector(request.selector)}${poison ? `, poison queue: ${poison.requeued} moved back, ${poison.unreadable} unreadable` : ''}` +
      `${skipped.length > 0 ? `, ${skipped.length} skipped` : ''}${moreRemain ? ', more remain' : ''}; correlation ${correlationId})`,
  );
  return result;
}

/** A customer in a company (undefined: a deployment of no company, or a message that names none). */
interface Target {
  customerId: string;
  companyId?: string | undefined;
}

const targetKey = (target: Target): string => `${target.companyId ?? ''}|${target.customerId}`;

function uniqueTargets(targets: readonly Target[]): Target[] {
  const seen = new Map<string, Target>();
  for (const target of targets) if (!seen.has(targetKey(target))) seen.set(targetKey(target), target);
  return [...seen.values()];
}

/** The companies a replay looks in: the one asked for, or every configured one ([undefined] without companies). */
function companyScope(deps: ReplayDependencies): { companies: Array<string | undefined> } {
  if (!deps.companies) return { companies: [deps.company] };
  return { companies: deps.company ? [deps.company] : [...deps.companies.ids] };
}

function historyOf(deps: ReplayDependencies, companyId: string | undefined): Pick<TransferStore, 'listForCustomer'> {
  return companyId && deps.companies ? deps.companies.transfersOf(companyId) : deps.transfers;
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

/** The latest transfer of each customer in its company (absent when none is recorded), by targetKey. */
async function latestTransfers(deps: ReplayDependencies, targets: readonly Target[]): Promise<Map<string, TransferRecord>> {
  const latest = new Map<string, TransferRecord>();
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++] as Target;
      const [transfer] = await historyOf(deps, target.companyId).listForCustomer(target.customerId, 1);
      if (transfer) latest.set(targetKey(target), transfer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LATEST_CHECK_CONCURRENCY, targets.length) }, worker));
  return latest;
}

/**
 * Customers whose latest transfer is Failed (with `errorCode`, when given), newest failures first, each in the
 * company of its failed row. The scan proposes candidates; each one's latest transfer decides, so a customer that
 * has since succeeded is not replayed however many failures it has in its history.
 */
async function selectFailedCustomers(deps: ReplayDependencies, errorCode: ErrorCode | null, cap: number): Promise<{ targets: Target[]; moreRemain: boolean }> {
  const budget = deps.maxScannedRows ?? MAX_SCANNED_ROWS;
  const seen = new Set<string>();
  const selected: Target[] = [];
  let pending: Target[] = [];
  let scanned = 0;

  const decide = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    const latest = await latestTransfers(deps, batch);
    for (const target of batch) {
      const transfer = latest.get(targetKey(target));
      if (transfer?.status === 'Failed' && (errorCode === null || transfer.errorCode === errorCode)) selected.push(target);
    }
  };

  for await (const row of deps.failedTransfers.scan()) {
    scanned += 1;
    if (scanned > budget) {
      await decide();
      // The rows not read may hold more; say so rather than pretend the selection is complete.
      return { targets: selected.slice(0, cap), moreRemain: true };
    }
    if (errorCode !== null && row.errorCode !== errorCode) continue;
    if (deps.company && row.companyId !== undefined && row.companyId !== deps.company) continue;
    const customerId = normalizeGuid(row.customerId);
    const target: Target = { customerId, companyId: deps.companies ? row.companyId : undefined };
    if (!GUID_PATTERN.test(customerId) || seen.has(targetKey(target))) continue;
    seen.add(targetKey(target));
    pending.push(target);
    if (pending.length >= LATEST_CHECK_CONCURRENCY * 4) {
      await decide();
      // One more than the cap proves that more remain.
      if (selected.length > cap) return { targets: selected.slice(0, cap), moreRemain: true };
    }
  }
  await decide();
  return { targets: selected.slice(0, cap), moreRemain: selected.length > cap };
}

/**
 * Takes up to `limit` poison messages (of `company` only, when given); unreadable ones stay hidden for a while
 * and are reported, not deleted. Each customer goes back with the company its message named.
 */
async function takePoison(
  queue: PoisonQueue,
  limit: number,
  company: string | undefined,
): Promise<{ messages: PoisonMessage[]; targets: Target[]; unreadable: number; full: boolean }> {
  const messages: PoisonMessage[] = [];
  const targets: Target[] = [];
  let unreadable = 0;
  while (messages.length < limit) {
    const batch = await queue.receive(Math.min(32, limit - messages.length), POISON_RECEIVE_VISIBILITY_SECONDS);
    if (batch.length === 0) return { messages, targets, unreadable, full: false };
    for (const message of batch) {
      const parsed = syncMessageSchema.safeParse(decodeMessage(message.messageText));
      if (!parsed.success) {
        // Left for a person to look at: it names no customer we could replay.
        unreadable += 1;
        continue;
      }
      // Another company's dead letter is left where it is (it reappears after the visibility timeout).
      if (company && parsed.data.companyId !== undefined && parsed.data.companyId !== company) continue;
      messages.push(message);
      targets.push({ customerId: parsed.data.customerId, ...(parsed.data.companyId ? { companyId: parsed.data.companyId } : {}) });
    }
  }
  // Stopped at the limit: more may wait behind these.
  return { messages, targets, unreadable, full: true };
}
