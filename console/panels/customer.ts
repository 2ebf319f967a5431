/** Customer: search by number or id, its history, sync now, dry run, and replay of a failed one. */
import { ApiError, customerHistorySchema, queuedSchema, syncPlanSchema, type CustomerHistory, type SyncPlan, type Transfer } from '../api';
import { confirmAction, toast } from '../dialogs';
import { byId, h, renderInto, timeElement, type Child } from '../dom';
import { refresh } from '../loader';
import { resolutionOf } from '../resolutions';
import { api, companyName, companyPrefix, severalCompanies, state } from '../state';
import { changesTable, describe, label, outcomeOf, remember, statusBadge } from '../views';
import { replayFlow } from './replay';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

/** In the selected company (or `companyId`); by id without one, the deployment looks in every company. */
async function loadCustomer(query: string, companyId: string | null | undefined = state.company): Promise<CustomerHistory> {
  const trimmed = query.trim();
  const prefix = companyPrefix(companyId);
  if (GUID.test(trimmed)) return api.get(`${prefix}customers/${encodeURIComponent(trimmed.toLowerCase())}/transfers?limit=50`, customerHistorySchema);
  return api.get(`${prefix}customers/by-number/${encodeURIComponent(trimmed)}/transfers?limit=50`, customerHistorySchema);
}

export async function showCustomer(query: string, focus = true, companyId?: string): Promise<void> {
  const region = byId('customer-body');
  const input = byId<HTMLInputElement>('search-input');
  if (input.value.trim() !== query) input.value = state.numbers.get(query) ?? query;
  renderInto(region, `loading:${query}`, h('p', {}, 'Loading…'));
  try {
    const history = await loadCustomer(query, companyId ?? state.company);
    remember(history.transfers);
    state.customer = history;
    renderCustomer(history);
  } catch (error) {
    const code = error instanceof ApiError ? error.code : null;
    const message =
      code === 'CompanyRequired' || code === 'AmbiguousCustomer'
        ? `${describe(error)} Choose the company above.`
        : error instanceof ApiError && error.status === 404 && code !== 'UnknownCompany'
          ? `No customer has the number or id "${query}"${state.company ? ` in ${companyName(state.company) ?? 'this company'}` : ''}.`
          : describe(error);
    renderInto(region, `error:${query}:${message}`, h('p', { class: 'error', role: 'alert' }, message));
  }
  if (focus) byId('customer-title').focus();
}

function renderCustomer(history: CustomerHistory, plan?: Child): void {
  const number = history.customerNumber ?? history.transfers.find((t) => t.customerNumber)?.customerNumber ?? null;
  const latest = history.transfers[0];
  const dryRunAvailable = state.status.value?.features.dryRun ?? false;
  renderInto(
    byId('customer-body'),
    `${JSON.stringify(history)}:${plan ? Math.random() : ''}`,
    h(
      'div',
      { class: 'customer-head' },
      h('h3', { id: 'customer-name' }, `Customer ${number ?? ''}`),
      h('p', { class: 'mono muted' }, history.customerId),
      severalCompanies() && history.companyName ? h('p', { class: 'company', 'data-field': 'company' }, history.companyName) : null,
      latest ? h('p', {}, 'Latest: ', statusBadge(latest.status), ' ', outcomeOf(latest)) : h('p', { class: 'muted' }, 'No transfer recorded yet.'),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'sync-now', onclick: () => void syncNow(history.customerId, number, history.companyId) }, 'Sync now…'),
      h('button', { type: 'button', id: 'dry-run', onclick: () => void dryRun(history), 'aria-describedby': dryRunAvailable ? null : 'dry-run-note' }, 'Dry run'),
      latest?.status === 'Failed'
        ? h(
            'button',
            { type: 'button', id: 'replay-customer', onclick: () => void replayFlow({ customerIds: [history.customerId] }, `customer ${number ?? history.customerId}`, () => void watchCustomerUntilNewTransfer(history.customerId), history.companyId ?? state.company) },
            'Replay…',
          )
        : null,
      dryRunAvailable ? null : h('span', { id: 'dry-run-note', class: 'hint' }, 'Dry run is not available in this deployment.'),
    ),
    h('div', { id: 'plan', 'aria-live': 'polite' }, plan ?? null),
    latest?.errorCode ? h('p', { class: 'resolution' }, h('strong', {}, `${latest.errorCode}: `), resolutionOf(latest.errorCode).resolution) : null,
    historyTable(history.transfers),
  );
}

function historyTable(transfers: Transfer[]): HTMLElement {
  // A customer's history is one company's; the company is named above it.
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'history' },
      h('caption', {}, 'Transfer history, newest first'),
      h(
        'thead',
        {},
        h('tr', {}, ['Started', 'Source', 'Status', 'Outcome', 'Addresses', 'Attempt', 'Duration', 'Details'].map((title) => h('th', { scope: 'col' }, title))),
      ),
      h(
        'tbody',
        {},
        transfers.map((transfer) =>
          h(
            'tr',
            { 'data-status': transfer.status, 'data-source': transfer.source },
            h('td', {}, timeElement(transfer.startedAt)),
            h('td', {}, transfer.source),
            h('td', {}, statusBadge(transfer.status)),
            h('td', {}, outcomeOf(transfer)),
            h('td', { class: 'num' }, String(transfer.addressesAdded)),
            h('td', { class: 'num' }, String(transfer.attempt)),
            h('td', { class: 'num' }, `${transfer.durationMs} ms`),
            h('td', {}, [transfer.errorMessage ?? '', ...(transfer.warnings ?? []).map((warning) => h('div', { class: 'hint' }, warning))]),
          ),
        ),
      ),
    ),
  );
}

export async function syncNow(customerId: string, number: string | null, companyId: string | null | undefined = state.company): Promise<void> {
  const company = companyName(companyId);
  const ok = await confirmAction(
    `Sync customer ${number ?? customerId}${severalCompanies() && company ? ` of ${company}` : ''} now?`,
    h('p', {}, 'This queues a manual sync: the customer is read from Business Central and, if it passes the filter and validation, created or updated in iPaaS.com with its addresses.'),
    'Sync now',
  );
  if (!ok) return;
  try {
    const queued = await api.post(`${companyPrefix(companyId)}customers/${customerId}/sync`, {}, queuedSchema);
    companyId ??= queued.companyId ?? null;
    toast(`Customer ${number ?? customerId} queued.`, 'success');
  } catch (error) {
    toast(`Sync failed: ${describe(error)}`, 'error');
    return;
  }
  void watchCustomerUntilNewTransfer(customerId, companyId);
}

/** After a write, shows the customer's next transfer as soon as it is recorded (up to a minute). */
async function watchCustomerUntilNewTransfer(customerId: string, companyId: string | null | undefined = state.customer?.companyId ?? state.company): Promise<void> {
  const known = new Set((state.customer?.customerId === customerId ? state.customer.transfers : []).map((t) => t.transferId));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (state.customer && state.customer.customerId !== customerId) return; // the operator moved on
    let history: CustomerHistory;
    try {
      history = await api.get(`${companyPrefix(companyId)}customers/${customerId}/transfers?limit=50`, customerHistorySchema);
    } catch {
      continue;
    }
    const fresh = history.transfers.find((t) => !known.has(t.transferId));
    if (fresh) {
      state.customer = { ...history, customerNumber: history.customerNumber ?? state.customer?.customerNumber ?? null };
      remember(history.transfers);
      renderCustomer(state.customer);
      toast(`Customer ${label(customerId)}: ${fresh.status} ${outcomeOf(fresh)}`, fresh.status === 'Failed' ? 'error' : 'success');
      void refresh();
      return;
    }
  }
}

function planView(plan: SyncPlan): HTMLElement {
  const addressFields = [...new Set(plan.addressesToAdd.flatMap((address) => Object.keys(address)))];
  return h(
    'section',
    { class: 'plan', 'aria-labelledby': 'plan-title', 'data-outcome': plan.outcome },
    h('h4', { id: 'plan-title' }, 'Dry run: ', statusBadge(plan.outcome), plan.errorCode ? [' ', h('code', {}, plan.errorCode)] : null),
    h('p', { class: 'muted' }, 'Nothing was written: this is what a sync would do now.'),
    plan.reason ? h('p', {}, plan.reason) : null,
    plan.errorCode ? h('p', { class: 'resolution' }, h('strong', {}, 'Resolution: '), resolutionOf(plan.errorCode).resolution) : null,
    plan.ipaasCustomerId ? h('p', {}, 'iPaaS.com customer ', h('span', { class: 'mono' }, plan.ipaasCustomerId)) : null,
    plan.changes.length > 0 ? changesTable(plan.changes, 'Field changes') : h('p', { class: 'muted' }, 'No field changes.'),
    plan.addressesToAdd.length > 0
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'addresses' },
            h('caption', {}, `Addresses to add (${plan.addressesToAdd.length})`),
            h('thead', {}, h('tr', {}, addressFields.map((field) => h('th', { scope: 'col' }, field)))),
            h('tbody', {}, plan.addressesToAdd.map((address) => h('tr', {}, addressFields.map((field) => h('td', {}, h('ins', {}, address[field] === null || address[field] === undefined ? '' : String(address[field]))))))),
          ),
        )
      : h('p', { class: 'muted' }, 'No address to add.'),
    h('p', { class: 'muted' }, plan.externalIdLink ? 'The external id link would be written.' : 'No external id link call.'),
  );
}

async function dryRun(history: CustomerHistory): Promise<void> {
  if (!(state.status.value?.features.dryRun ?? false)) {
    renderCustomer(history, h('p', { class: 'muted' }, 'Dry run is not available in this deployment.'));
    return;
  }
  renderCustomer(history, h('p', {}, 'Computing the plan…'));
  try {
    const plan = await api.post(`${companyPrefix(history.companyId ?? state.company)}customers/${history.customerId}/sync?dryRun=true`, {}, syncPlanSchema);
    renderCustomer(history, planView(plan));
  } catch (error) {
    renderCustomer(history, h('p', { class: 'error' }, `Dry run failed: ${describe(error)}`));
  }
  document.getElementById('plan-title')?.scrollIntoView({ block: 'nearest' });
}
