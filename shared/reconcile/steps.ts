/**
 * The steps of a run: iPaaS.com's customer list (pages read concurrently, kept as parts), then Business Central's
 * customers page by page (each compared, counted and, with `fix`, enqueued), then the report. Each step mutates the
 * run's state; lifecycle.ts writes the checkpoint after it.
 */
import type { CustomerLinkLister } from '../storage/types';
import { newSyncMessage } from '../messages';
import { classifyCustomer, IpaasIndex } from './classify';
import { reportToCsv } from './csv';
import { reconcileSelect } from './expected';
import { addCounts, CUSTOMER_CATEGORIES, emptyCounts, FIXABLE, type ReconcileReport, type ReportItem } from './report';
import { reportFromState } from './reportReading';
import { type CompanyReconcileDependencies, DEFAULT_IPAAS_PAGES_PER_STEP, DEFAULT_RECONCILE_PAGE_SIZE, type ReconcileDependencies, type RunState, businessCentralPartSchema, compact, ipaasPartSchema, partName } from './runState';

export interface Memo {
  index?: IpaasIndex;
  indexParts?: number;
  links?: Map<string, string>;
  /** iPaaS.com id → the (first) Business Central customer linked to it, in any company (`{companyId}|{customerId}` for another company's). */
  owners?: Map<string, string>;
  /** The company the index and links belong to. */
  company?: number;
}

/** The company a run reads now (undefined: a run of no company) and what it reads it through. */
export function currentCompany(deps: ReconcileDependencies, state: RunState): { ref: { id: string; name: string } | undefined; deps: CompanyReconcileDependencies } {
  const ref = state.companies?.[state.companyIndex ?? 0];
  if (!ref) return { ref: undefined, deps };
  const companyDeps = deps.companyDeps?.(ref.id);
  if (!companyDeps) throw new Error(`Company ${ref.name} (${ref.id}) is no longer configured; start a new reconciliation`);
  return { ref, deps: companyDeps };
}

/** Memoized index and links belong to one company: another company's are dropped. */
export function memoFor(memo: Memo, state: RunState): Memo {
  const company = state.companyIndex ?? 0;
  if (memo.company !== company) {
    delete memo.index;
    delete memo.indexParts;
    delete memo.links;
    memo.company = company;
  }
  return memo;
}

/** One step; mutates `state` (the caller restores it when the step throws). Returns the final report on the last step. */
export async function step(deps: ReconcileDependencies, state: RunState, memo: Memo, clock: () => Date): Promise<ReconcileReport | undefined> {
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

export async function ipaasStep(runDeps: ReconcileDependencies, state: RunState, memo: Memo): Promise<void> {
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

export async function ensureIndex(deps: ReconcileDependencies, state: RunState, memo: Memo): Promise<IpaasIndex> {
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
export async function ensureLinks(deps: Pick<CompanyReconcileDependencies, 'links'> & { allLinks?: CustomerLinkLister | undefined }, memo: Memo, companyId?: string): Promise<Map<string, string>> {
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

export async function businessCentralStep(runDeps: ReconcileDependencies, state: RunState, memo: Memo): Promise<void> {
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

export const CATEGORY_ORDER = new Map<string, number>(CUSTOMER_CATEGORIES.map((category, position) => [category, position]));

export async function finish(deps: ReconcileDependencies, state: RunState, memo: Memo, clock: () => Date): Promise<ReconcileReport> {
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
