import { dateOf, isoNow, systemClock, type Clock } from '../clock';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BusinessCentralApi } from '../businessCentral/types';
import { describeError, isTransient } from '../errors';
import type { IpaasApi, IpaasCustomer } from '../ipaas/types';
import type { Logger } from '../log';
import type { ReconcileRunStore } from '../storage/reconcileStore';
import type { CustomerLinkLister, QueueSender } from '../storage/types';
import type { CustomerMapping } from '../mapping';
import { newSyncMessage } from '../messages';
import { classifyCustomer, IpaasIndex } from './classify';
import { reportToCsv } from './csv';
import { reconcileSelect } from './expected';
import {
  addCounts,
  CUSTOMER_CATEGORIES,
  emptyCounts,
  FIXABLE,
  progressSchema,
  reportItemSchema,
  reportSchema,
  countsSchema as reportCountsSchema,
  RUN_STATUSES,
  TRIGGERS,
  type ReconcileCounts,
  type ReconcileProgress,
  type ReconcileReport,
  type ReconcileTrigger,
  type ReportItem,
} from './report';

/** Business Central page size: 100,000 customers in 10 requests, as the poll reads them. */
export const DEFAULT_RECONCILE_PAGE_SIZE = 10_000;
/** iPaaS.com list pages read (concurrently, within the client's limit) per step, i.e. per checkpoint. */
export const DEFAULT_IPAAS_PAGES_PER_STEP = 200;
/** A Running run with no checkpoint for this long is taken as abandoned (longer than a function's timeout plus the longest retry wait). */
export const DEFAULT_STALE_AFTER_MS = 30 * 60 * 1000;
/** Transient failures (an outage) a run waits out, with growing pauses, before it gives up: about 2 hours in all. */
export const MAX_TRANSIENT_FAILURES = 16;
const MAX_RETRY_DELAY_MS = 10 * 60 * 1000;
const FIRST_RETRY_DELAY_MS = 30 * 1000;

/** `ReconciliationRun {json}`: one telemetry line per finished run, counts only (no personal data). */
export const RECONCILIATION_EVENT = 'ReconciliationRun';

/** What the run reads of one company: its customers, its iPaaS.com (token), its links and its mapping. */
export interface CompanyReconcileDependencies {
  businessCentral: Pick<BusinessCentralApi, 'readCustomerPage'>;
  ipaas: Pick<IpaasApi, 'listCustomersPage'>;
  links: CustomerLinkLister;
  /** The company's mapping collection; the shipped default file when absent. */
  mapping?: CustomerMapping;
}

export interface ReconcileDependencies {
  businessCentral: Pick<BusinessCentralApi, 'readCustomerPage'>;
  ipaas: Pick<IpaasApi, 'listCustomersPage'>;
  links: CustomerLinkLister;
  /** The mapping collection the sync uses (CUSTOMER_MAPPING_FILE) in a run of no company; the default file when absent. */
  mapping?: CustomerMapping;
  /**
   * A run over configured companies reads each one through these (a run started with `companies`); a company
   * no longer configured fails the run, naming it.
   */
  companyDeps?: (companyId: string) => CompanyReconcileDependencies | undefined;
  /** Every company's links (with their company): an iPaaS.com customer linked in another company is EmailInUse too. */
  allLinks?: CustomerLinkLister;
  runs: ReconcileRunStore;
  /** `customer-sync`, for `fix`. */
  syncQueue: QueueSender;
  logger: Logger;
  clock?: Clock;
  pageSize?: number;
  ipaasPagesPerStep?: number;
  staleAfterMs?: number;
}

const countsSchema = reportSchema.shape.counts;

const stateSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  trigger: z.enum(TRIGGERS),
  fix: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
  enqueued: z.number().int().nonnegative(),
  error: z.string().nullable(),
  transientFailures: z.number().int().nonnegative(),
  counts: countsSchema,
  progress: progressSchema,
  cursor: z.object({
    ipaasNextPage: z.number().int().positive(),
    ipaasTotalPages: z.number().int().nonnegative().nullable(),
    ipaasParts: z.number().int().nonnegative(),
    businessCentralNextLink: z.string().nullable(),
    businessCentralParts: z.number().int().nonnegative(),
  }),
  /** The companies the run covers, one after the other (absent: a run of no company, as before companies existed). */
  companies: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
  /** The company being read, and where its iPaaS.com parts start. */
  companyIndex: z.number().int().nonnegative().optional(),
  companyFirstIpaasPart: z.number().int().nonnegative().optional(),
  /** Each covered company's counts so far. */
  companyCounts: z.array(reportCountsSchema).optional(),
});
export type RunState = z.infer<typeof stateSchema>;

/** A page of iPaaS.com customers as a part keeps it: [id, customerNumber, firstName, lastName, emailAddress, company]. */
const ipaasPartSchema = z.array(z.tuple([z.string(), z.string(), z.string(), z.string(), z.string(), z.string(), z.string()]));
const businessCentralPartSchema = z.object({ counts: countsSchema, items: z.array(reportItemSchema), customerIds: z.array(z.string()), companyId: z.string().optional() });

const partName = (kind: 'ipaas' | 'bc', index: number) => `${kind}-${String(index).padStart(5, '0')}`;

/** Sortable, unique run ids: 20261127T101500Z-3f9a1c. */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/gu, '').replace(/\.\d{3}/u, '')}-${randomBytes(3).toString('hex')}`;
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/u;

export type StartResult = { started: true; runId: string; report: ReconcileReport } | { started: false; runningRunId: string };

/**
 * Starts a run unless one is running (one at a time): writes its first checkpoint and makes it the latest.
 * A Running run without a checkpoint for `staleAfterMs` is marked Failed (abandoned) and no longer blocks.
 * The caller then advances it (in-process, or through the reconcile queue).
 */
export async function startReconciliation(
  deps: ReconcileDependencies,
  options: { fix: boolean; trigger: ReconcileTrigger; companies?: ReadonlyArray<{ id: string; name: string }> },
): Promise<StartResult> {
  const clock = (): Date => dateOf(deps.clock ?? systemClock);
  const latest = await deps.runs.readLatest();
  if (latest) {
    const current = await readState(deps.runs, latest.value.runId);
    if (current && current.state.status === 'Running') {
      const idleMs = clock().getTime() - Date.parse(current.state.updatedAt);
      if (idleMs < (deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS)) return { started: false, runningRunId: current.state.runId };
      const abandoned: RunState = {
        ...current.state,
        status: 'Failed',
        finishedAt: clock().toISOString(),
        updatedAt: clock().toISOString(),
        error: `Abandoned: no progress for ${Math.round(idleMs / 60_000)} minutes`,
      };
      await deps.runs.writeState(abandoned.runId, abandoned, current.etag);
      deps.logger.warn(`reconcile: run ${abandoned.runId} made no progress for ${Math.round(idleMs / 60_000)} minutes; marked Failed`);
    }
  }
  const now = clock();
  const runId = newRunId(now);
  const state: RunState = {
    version: 1,
    runId,
    status: 'Running',
    trigger: options.trigger,
    fix: options.fix,
    startedAt: now.toISOString(),
    finishedAt: null,
    updatedAt: now.toISOString(),
    enqueued: 0,
    error: null,
    transientFailures: 0,
    counts: emptyCounts(),
    progress: { phase: 'ipaas', ipaasPagesRead: 0, ipaasTotalPages: null, ipaasCustomers: 0, businessCentralPagesRead: 0, businessCentralCustomers: 0 },
    cursor: { ipaasNextPage: 1, ipaasTotalPages: null, ipaasParts: 0, businessCentralNextLink: null, businessCentralParts: 0 },
    ...(options.companies && options.companies.length > 0
      ? {
          companies: options.companies.map((company) => ({ id: company.id, name: company.name })),
          companyIndex: 0,
          companyFirstIpaasPart: 0,
          companyCounts: options.companies.map(() => emptyCounts()),
        }
      : {}),
  };
  await deps.runs.writeState(runId, state, null);
  if (!(await deps.runs.writeLatest(runId, latest?.etag ?? null))) {
    // Another start won the race: this run never becomes the latest and is closed at once.
    await deps.runs.writeState(runId, { ...state, status: 'Failed', finishedAt: now.toISOString(), error: 'Not started: another run started at the same moment' }, null);
    const winner = await deps.runs.readLatest();
    return { started: false, runningRunId: winner?.value.runId ?? runId };
  }
  deps.logger.info(
    `reconcile: run ${runId} started (${options.trigger}${options.fix ? ', fix' : ''}${state.companies ? `, ${state.companies.map((company) => company.name).join(', ')}` : ''})`,
  );
  return { started: true, runId, report: reportFromState(state) };
}

export interface AdvanceOptions {
  /** Stop after the step that ends past this many milliseconds (a function's time budget); default no limit. */
  budgetMs?: number;
  /** Called after every checkpoint. */
  onProgress?: (report: ReconcileReport) => void;
  /**
   * A transient failure (an outage, throttling) of either service or storage: true (the queue-driven run) keeps
   * the checkpoint and asks to be called again after `retryAfterMs`; false (the command) fails the run.
   */
  retryTransient?: boolean;
  /** Stop after this many steps (tests simulate an interruption with it). */
  maxSteps?: number;
  /** Checked after every checkpoint: true stops (Ctrl-C in the command). */
  shouldStop?: () => boolean;
}

export type AdvanceResult =
  | { outcome: 'completed' | 'failed' | 'notRunning'; report: ReconcileReport }
  | { outcome: 'continue'; report: ReconcileReport }
  | { outcome: 'retry'; report: ReconcileReport; retryAfterMs: number }
  | { outcome: 'superseded'; report: ReconcileReport }
  | { outcome: 'notFound' };

interface Memo {
  index?: IpaasIndex;
  indexParts?: number;
  links?: Map<string, string>;
  /** iPaaS.com id → the (first) Business Central customer linked to it, in any company (`{companyId}|{customerId}` for another company's). */
  owners?: Map<string, string>;
  /** The company the index and links belong to. */
  company?: number;
}

/** The company a run reads now (undefined: a run of no company) and what it reads it through. */
function currentCompany(deps: ReconcileDependencies, state: RunState): { ref: { id: string; name: string } | undefined; deps: CompanyReconcileDependencies } {
  const ref = state.companies?.[state.companyIndex ?? 0];
  if (!ref) return { ref: undefined, deps };
  const companyDeps = deps.companyDeps?.(ref.id);
  if (!companyDeps) throw new Error(`Company ${ref.name} (${ref.id}) is no longer configured; start a new reconciliation`);
  return { ref, deps: companyDeps };
}

/** Memoized index and links belong to one company: another company's are dropped. */
function memoFor(memo: Memo, state: RunState): Memo {
  const company = state.companyIndex ?? 0;
  if (memo.company !== company) {
    delete memo.index;
    delete memo.indexParts;
    delete memo.links;
    memo.company = company;
  }
  return memo;
}

/**
 * Moves a run forward from its last checkpoint, step by step, writing a checkpoint after each: iPaaS.com's
 * customer list (pages, read concurrently), then Business Central's customers page by page (each customer
 * compared and counted; with `fix` the Missing and Drifted ones enqueued with source `reconcile`), then the
 * report. Any step can be interrupted (timeout, crash, redelivery): the next call repeats at most that step.
 * Checkpoints are written under an ETag condition, so two workers never advance one run twice.
 */
export async function advanceReconciliation(deps: ReconcileDependencies, runId: string, options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const clock = (): Date => dateOf(deps.clock ?? systemClock);
  const loaded = await readState(deps.runs, runId);
  if (!loaded) return { outcome: 'notFound' };
  let { state, etag } = loaded;
  if (state.status !== 'Running') return { outcome: 'notRunning', report: await readReport(deps, runId).then((report) => report ?? reportFromState(state)) };
  const began = (deps.clock ?? systemClock).now();
  const memo: Memo = {};
  let steps = 0;
  for (;;) {
    const before = structuredClone(state);
    let report: ReconcileReport | undefined;
    try {
      report = await step(deps, state, memo, clock);
      state.updatedAt = clock().toISOString();
      state.error = null;
      state.transientFailures = 0;
    } catch (error) {
      state = before;
      const message = describeError(error);
      if (options.retryTransient && isTransient(error) && state.transientFailures < MAX_TRANSIENT_FAILURES) {
        state.transientFailures += 1;
        state.error = `Waiting to retry: ${message}`;
        state.updatedAt = clock().toISOString();
        const saved = await deps.runs.writeState(runId, state, etag);
        if (saved === null) return { outcome: 'superseded', report: reportFromState(state) };
        const retryAfterMs = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (state.transientFailures - 1));
        deps.logger.warn(`reconcile: run ${runId} paused after a transient failure (${state.transientFailures} in a row), retrying in ${Math.round(retryAfterMs / 1000)} s: ${message}`);
        return { outcome: 'retry', report: reportFromState(state), retryAfterMs };
      }
      state.status = 'Failed';
      state.error = message;
      state.finishedAt = clock().toISOString();
      state.updatedAt = state.finishedAt;
      const saved = await deps.runs.writeState(runId, state, etag);
      if (saved === null) return { outcome: 'superseded', report: reportFromState(state) };
      deps.logger.error(`reconcile: run ${runId} failed: ${message}`);
      deps.logger.warn(runEventLine(state));
      return { outcome: 'failed', report: reportFromState(state) };
    }
    const saved = await deps.runs.writeState(runId, state, etag);
    if (saved === null) {
      deps.logger.warn(`reconcile: run ${runId} was advanced elsewhere meanwhile; this worker stops`);
      return { outcome: 'superseded', report: reportFromState(state) };
    }
    etag = saved;
    steps += 1;
    const current = report ?? reportFromState(state);
    options.onProgress?.(current);
    if ((state.status as RunState['status']) === 'Completed') {
      deps.logger.info(runEventLine(state));
      await deps.runs.deleteParts(runId).catch((error: unknown) => deps.logger.warn(`reconcile: could not delete the parts of run ${runId}: ${describeError(error)}`));
      return { outcome: 'completed', report: current };
    }
    if (options.maxSteps !== undefined && steps >= options.maxSteps) return { outcome: 'continue', report: current };
    if (options.shouldStop?.()) return { outcome: 'continue', report: current };
    if (options.budgetMs !== undefined && (deps.clock ?? systemClock).now() - began >= options.budgetMs) return { outcome: 'continue', report: current };
  }
}

/** One step; mutates `state` (the caller restores it when the step throws). Returns the final report on the last step. */
async function step(deps: ReconcileDependencies, state: RunState, memo: Memo, clock: () => Date): Promise<ReconcileReport | undefined> {
  switch (state.progress.phase) {
    case 'ipaas':
      await ipaasStep(deps, state, memoFor(memo, state));
      return undefined;
    case 'businessCentral':
      await businessCentralStep(deps, state, memoFor(memo, state));
      return undefined;
    case 'finishing':
      return finish(deps, state, memo, clock);
    case 'done':
      return undefined;
  }
}

async function ipaasStep(runDeps: ReconcileDependencies, state: RunState, memo: Memo): Promise<void> {
  const deps = { ...runDeps, ...currentCompany(runDeps, state).deps };
  const { cursor, progress } = state;
  const firstPart = state.companyFirstIpaasPart ?? 0;
  const perStep = deps.ipaasPagesPerStep ?? DEFAULT_IPAAS_PAGES_PER_STEP;
  const pages = [];
  let from = cursor.ipaasNextPage;
  let total = cursor.ipaasTotalPages;
  if (total === null) {
    // The first page tells how many there are; the rest of the step reads the following pages concurrently.
    const first = await deps.ipaas.listCustomersPage(from);
    pages.push(first);
    total = first.totalPages;
    from += 1;
  }
  const last = Math.min(total, cursor.ipaasNextPage + perStep - 1);
  const numbers = Array.from({ length: Math.max(0, last - from + 1) }, (_, offset) => from + offset);
  pages.push(...(await Promise.all(numbers.map((pageNumber) => deps.ipaas.listCustomersPage(pageNumber)))));
  // Customers created meanwhile can add pages; the list is read up to the last page any reply announced.
  const announced = Math.max(total, ...pages.map((page) => page.totalPages));
  const customers = pages.flatMap((page) => page.customers);
  await deps.runs.writePart(state.runId, partName('ipaas', cursor.ipaasParts), customers.map(compact));
  if (memo.index && memo.indexParts === cursor.ipaasParts) {
    for (const customer of customers) memo.index.add(customer);
    memo.indexParts = cursor.ipaasParts + 1;
  } else if (cursor.ipaasParts === firstPart) {
    memo.index = new IpaasIndex();
    for (const customer of customers) memo.index.add(customer);
    memo.indexParts = 1;
  }
  cursor.ipaasParts += 1;
  cursor.ipaasNextPage = Math.max(cursor.ipaasNextPage, last + 1, from);
  cursor.ipaasTotalPages = announced;
  progress.ipaasPagesRead += pages.length;
  progress.ipaasTotalPages = announced;
  progress.ipaasCustomers += customers.length;
  if (cursor.ipaasNextPage > announced) progress.phase = 'businessCentral';
}

async function ensureIndex(deps: ReconcileDependencies, state: RunState, memo: Memo): Promise<IpaasIndex> {
  if (memo.index && memo.indexParts === state.cursor.ipaasParts) return memo.index;
  const index = new IpaasIndex();
  // The current company's parts only (its iPaaS.com, with its token).
  for (let part = state.companyFirstIpaasPart ?? 0; part < state.cursor.ipaasParts; part += 1) {
    const rows = ipaasPartSchema.parse(await deps.runs.readPart(state.runId, partName('ipaas', part)));
    for (const [id, customerNumber, firstName, lastName, emailAddress, company, comment] of rows) {
      index.add({ id, customerNumber, firstName, lastName, emailAddress, company, comment });
    }
  }
  memo.index = index;
  memo.indexParts = state.cursor.ipaasParts;
  return index;
}

/**
 * The company's links (customer → iPaaS.com id) and who owns each iPaaS.com customer. With `allLinks` (a run over
 * companies) the owners are every company's, since one iPaaS.com customer belongs to one Business Central customer of
 * any company: another company's owner is kept as `{companyId}|{customerId}`, which never equals a customer id here.
 */
async function ensureLinks(deps: Pick<CompanyReconcileDependencies, 'links'> & { allLinks?: CustomerLinkLister | undefined }, memo: Memo, companyId?: string): Promise<Map<string, string>> {
  if (memo.links) return memo.links;
  const links = new Map<string, string>();
  const owners = new Map<string, string>();
  for await (const page of deps.links.listLinkedIds()) {
    for (const link of page) {
      links.set(link.customerId.toLowerCase(), link.ipaasCustomerId);
      if (!owners.has(link.ipaasCustomerId)) owners.set(link.ipaasCustomerId, link.customerId);
    }
  }
  if (deps.allLinks && companyId) {
    for await (const page of deps.allLinks.listLinkedIds()) {
      for (const link of page) {
        if (owners.has(link.ipaasCustomerId) || link.companyId === undefined || link.companyId === companyId) continue;
        owners.set(link.ipaasCustomerId, `${link.companyId}|${link.customerId}`);
      }
    }
  }
  memo.links = links;
  memo.owners = owners;
  return links;
}

async function businessCentralStep(runDeps: ReconcileDependencies, state: RunState, memo: Memo): Promise<void> {
  const current = currentCompany(runDeps, state);
  const deps = { ...runDeps, ...current.deps };
  const company = current.ref;
  const index = await ensureIndex(deps, state, memo);
  const links = await ensureLinks({ ...deps, allLinks: runDeps.allLinks }, memo, company?.id);
  const { cursor, progress } = state;
  const page = await deps.businessCentral.readCustomerPage(
    { pageSize: deps.pageSize ?? DEFAULT_RECONCILE_PAGE_SIZE, select: reconcileSelect(deps.mapping) },
    cursor.businessCentralNextLink ?? undefined,
  );
  const counts = emptyCounts();
  const items: ReportItem[] = [];
  const customerIds: string[] = [];
  const toFix: string[] = [];
  for (const customer of page.customers) {
    const result = classifyCustomer(customer, index, links.get(customer.id.toLowerCase()), deps.mapping, (ipaasCustomerId) => memo.owners?.get(ipaasCustomerId));
    counts[result.category] += 1;
    customerIds.push(customer.id);
    if (result.item) items.push(company ? { ...result.item, companyId: company.id, companyName: company.name } : result.item);
    if (state.fix && FIXABLE.includes(result.category)) toFix.push(customer.id);
  }
  if (toFix.length > 0) {
    // Enqueued before the checkpoint: a repeated step enqueues them again, which the idempotent sync absorbs.
    const correlationId = `reconcile-${state.runId}`;
    await deps.syncQueue.send(toFix.map((customerId) => newSyncMessage(customerId, 'reconcile', { correlationId, companyId: company?.id, ...(deps.clock ? { clock: deps.clock } : {}) })));
  }
  await deps.runs.writePart(state.runId, partName('bc', cursor.businessCentralParts), { counts, items, customerIds, ...(company ? { companyId: company.id } : {}) });
  cursor.businessCentralParts += 1;
  cursor.businessCentralNextLink = page.nextLink ?? null;
  addCounts(state.counts, counts);
  const companyCounts = state.companyCounts?.[state.companyIndex ?? 0];
  if (companyCounts) addCounts(companyCounts, counts);
  state.enqueued += toFix.length;
  progress.businessCentralPagesRead += 1;
  progress.businessCentralCustomers += page.customers.length;
  if (page.nextLink !== undefined) return;
  const next = (state.companyIndex ?? 0) + 1;
  if (state.companies && next < state.companies.length) {
    // The next company: its own iPaaS.com list (its token) and its own customers.
    state.companyIndex = next;
    state.companyFirstIpaasPart = cursor.ipaasParts;
    cursor.ipaasNextPage = 1;
    cursor.ipaasTotalPages = null;
    cursor.businessCentralNextLink = null;
    progress.phase = 'ipaas';
    return;
  }
  progress.phase = 'finishing';
}

const CATEGORY_ORDER = new Map<string, number>(CUSTOMER_CATEGORIES.map((category, position) => [category, position]));

async function finish(deps: ReconcileDependencies, state: RunState, memo: Memo, clock: () => Date): Promise<ReconcileReport> {
  const companies = state.companies ?? [];
  // Per company: its counts, and the customers it has (a link is orphaned when its company no longer has the customer).
  const perCompany = companies.map(() => ({ counts: emptyCounts(), seen: new Set<string>() }));
  const counts = emptyCounts();
  const items: ReportItem[] = [];
  const seen = new Set<string>();
  for (let part = 0; part < state.cursor.businessCentralParts; part += 1) {
    const result = businessCentralPartSchema.parse(await deps.runs.readPart(state.runId, partName('bc', part)));
    addCounts(counts, result.counts);
    items.push(...result.items);
    const at = result.companyId === undefined ? -1 : companies.findIndex((company) => company.id === result.companyId);
    const into = at >= 0 ? perCompany[at]! : undefined;
    if (into) addCounts(into.counts, result.counts);
    for (const customerId of result.customerIds) (into?.seen ?? seen).add(customerId.toLowerCase());
  }
  let orphaned = 0;
  if (companies.length === 0) {
    const links = await ensureLinks(deps, memo);
    for (const customerId of links.keys()) if (!seen.has(customerId)) orphaned += 1;
  } else {
    for (const [at, company] of companies.entries()) {
      const companyDeps = deps.companyDeps?.(company.id);
      if (!companyDeps) throw new Error(`Company ${company.name} (${company.id}) is no longer configured; start a new reconciliation`);
      const links = await ensureLinks(companyDeps, {});
      let companyOrphans = 0;
      for (const customerId of links.keys()) if (!perCompany[at]!.seen.has(customerId)) companyOrphans += 1;
      perCompany[at]!.counts.Orphaned = companyOrphans;
      orphaned += companyOrphans;
    }
  }
  counts.Orphaned = orphaned;
  const companyOrder = new Map(companies.map((company, at) => [company.id, at]));
  items.sort(
    (a, b) =>
      (CATEGORY_ORDER.get(a.category) ?? 0) - (CATEGORY_ORDER.get(b.category) ?? 0) ||
      (companyOrder.get(a.companyId ?? '') ?? 0) - (companyOrder.get(b.companyId ?? '') ?? 0) ||
      (a.customerNumber ?? '').localeCompare(b.customerNumber ?? '') ||
      (a.customerId ?? '').localeCompare(b.customerId ?? ''),
  );
  if (companies.length > 0) state.companyCounts = perCompany.map((company) => company.counts);
  const finishedAt = clock().toISOString();
  state.counts = counts;
  state.status = 'Completed';
  state.finishedAt = finishedAt;
  state.progress.phase = 'done';
  const report: ReconcileReport = { ...reportFromState(state), items };
  await deps.runs.writeReport(state.runId, JSON.stringify(report), reportToCsv(report));
  return report;
}

/** Ends a Running run as Failed with `reason` (an operator stopped it); false when it was no longer Running. */
export async function cancelReconciliation(deps: Pick<ReconcileDependencies, 'runs' | 'clock'>, runId: string, reason: string): Promise<boolean> {
  const loaded = await readState(deps.runs, runId);
  if (!loaded || loaded.state.status !== 'Running') return false;
  const now = isoNow(deps.clock ?? systemClock);
  const state: RunState = { ...loaded.state, status: 'Failed', finishedAt: now, updatedAt: now, error: reason };
  return (await deps.runs.writeState(runId, state, loaded.etag)) !== null;
}

async function readState(runs: ReconcileRunStore, runId: string): Promise<{ state: RunState; etag: string } | null> {
  const stored = await runs.readState(runId);
  if (!stored) return null;
  const parsed = stateSchema.safeParse(stored.value);
  if (!parsed.success) throw new Error(`The checkpoint of reconciliation ${runId} is unreadable`);
  return { state: parsed.data, etag: stored.etag };
}

function compact(customer: IpaasCustomer): z.infer<typeof ipaasPartSchema>[number] {
  return [customer.id, customer.customerNumber, customer.firstName, customer.lastName, customer.emailAddress, customer.company, customer.comment];
}

/** The report as it stands: while Running, the counts so far and no items (they are listed once the run completes). */
export function reportFromState(state: RunState): ReconcileReport {
  return {
    runId: state.runId,
    status: state.status,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    counts: { ...state.counts },
    items: [],
    fix: state.fix,
    enqueued: state.enqueued,
    trigger: state.trigger,
    progress: { ...state.progress },
    error: state.error,
    ...(state.companies
      ? {
          companies: state.companies.map((company, at) => ({
            companyId: company.id,
            companyName: company.name,
            counts: { ...(state.companyCounts?.[at] ?? emptyCounts()) },
          })),
        }
      : {}),
  };
}

/** A run's report by id, or the latest run's for 'latest'; null when there is no such run. */
export async function readReport(deps: Pick<ReconcileDependencies, 'runs'>, runId: string): Promise<ReconcileReport | null> {
  const id = runId === 'latest' ? (await deps.runs.readLatest())?.value.runId : runId;
  if (id === undefined) return null;
  const loaded = await readState(deps.runs, id);
  if (!loaded) return null;
  if (loaded.state.status === 'Completed') {
    const text = await deps.runs.readReport(id, 'json');
    if (text !== null) {
      const parsed = reportSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data as ReconcileReport;
    }
  }
  return reportFromState(loaded.state);
}

/** The finished report as CSV, or null when the run is unknown or not completed. */
export async function readReportCsv(deps: Pick<ReconcileDependencies, 'runs'>, runId: string): Promise<string | null> {
  const id = runId === 'latest' ? (await deps.runs.readLatest())?.value.runId : runId;
  return id === undefined ? null : deps.runs.readReport(id, 'csv');
}

export function runEventLine(state: Pick<RunState, 'runId' | 'status' | 'trigger' | 'fix' | 'enqueued' | 'counts' | 'startedAt' | 'finishedAt' | 'companies'>): string {
  const durationMs = state.finishedAt ? Date.parse(state.finishedAt) - Date.parse(state.startedAt) : null;
  const counts: ReconcileCounts = state.counts;
  return `${RECONCILIATION_EVENT} ${JSON.stringify({
    runId: state.runId,
    status: state.status,
    trigger: state.trigger,
    fix: state.fix,
    enqueued: state.enqueued,
    durationMs,
    ...counts,
    ...(state.companies ? { companies: state.companies.map((company) => company.name).join(', ') } : {}),
  })}`;
}

export type { ReconcileProgress };
