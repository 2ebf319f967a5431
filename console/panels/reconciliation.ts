/** Reconciliation: start a run (optionally fixing what it finds), follow it, and read the latest report. */
import { ApiError, NotAvailableError, reconciliationSchema, reconciliationStartSchema, type Reconciliation } from '../api';
import { confirmAction, toast } from '../dialogs';
import { byId, h, renderInto, timeElement } from '../dom';
import { resolutionOf } from '../resolutions';
import { api, companyName, severalCompanies, state } from '../state';
import { describe, statusBadge } from '../views';
import { syncNow } from './customer';

export function renderFeatureNotes(): void {
  const available = state.status.value?.features.reconciliation ?? false;
  for (const id of ['reconcile-start', 'reconcile-latest']) byId<HTMLButtonElement>(id).disabled = !available;
  if (!available && state.status.value) {
    renderInto(byId('reconciliation-body'), 'unavailable', h('p', { class: 'muted', id: 'reconciliation-unavailable' }, 'Reconciliation is not available in this deployment.'));
  } else if (available && byId('reconciliation-body').dataset.key === 'unavailable') {
    renderInto(byId('reconciliation-body'), 'empty');
  }
}

function reportView(report: Reconciliation): HTMLElement {
  const categories = Object.entries(report.counts);
  const perCompany = report.companies && report.companies.length > 0 ? report.companies : null;
  return h(
    'div',
    { class: 'report', 'data-run': report.runId, 'data-status': report.status },
    h('p', {}, 'Run ', h('span', { class: 'mono' }, report.runId), ' ', statusBadge(report.status), ' started ', timeElement(report.startedAt), report.finishedAt ? [', finished ', timeElement(report.finishedAt)] : null),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'counts' },
        h('caption', {}, perCompany ? 'Customers by category and company' : 'Customers by category'),
        h('thead', {}, h('tr', {}, perCompany ? h('th', { scope: 'col' }, 'Company') : null, categories.map(([category]) => h('th', { scope: 'col' }, category)))),
        h(
          'tbody',
          {},
          (perCompany ?? [{ companyId: '', companyName: '', counts: report.counts }]).map((row) =>
            h(
              'tr',
              perCompany ? { 'data-company': row.companyId } : {},
              perCompany ? h('th', { scope: 'row' }, row.companyName) : null,
              categories.map(([category]) => {
                const count = row.counts[category] ?? 0;
                return h('td', { class: `num ${count > 0 && !['InSync', 'Filtered'].includes(category) ? 'attention' : ''}` }, String(count));
              }),
            ),
          ),
        ),
      ),
    ),
    report.items.length === 0
      ? h('p', {}, h('span', { class: 'badge badge-ok' }, 'In sync'), ' nothing to fix.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'items' },
            h('caption', {}, `What differs (${report.items.length})`),
            h('thead', {}, h('tr', {}, [...(perCompany ? ['Company'] : []), 'Category', 'Customer', 'iPaaS.com id', 'Error', 'Changes', 'Fix'].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              report.items.slice(0, 500).map((item) =>
                h(
                  'tr',
                  { 'data-category': item.category },
                  perCompany ? h('td', {}, item.companyName ?? '—') : null,
                  h('td', {}, item.category),
                  h('td', {}, item.customerNumber ?? item.customerId ?? '—'),
                  h('td', { class: 'mono' }, item.ipaasCustomerId ?? '—'),
                  h('td', {}, item.errorCode ? [h('code', {}, item.errorCode), h('div', { class: 'hint' }, resolutionOf(item.errorCode).resolution)] : '—'),
                  h('td', {}, item.changes && item.changes.length > 0 ? item.changes.map((change) => h('div', {}, `${change.field}: `, h('del', {}, change.from ?? '(empty)'), ' → ', h('ins', {}, change.to ?? '(empty)'))) : '—'),
                  h(
                    'td',
                    {},
                    item.customerId && ['Missing', 'Drifted', 'Unlinked'].includes(item.category)
                      ? h('button', { type: 'button', onclick: () => void syncNow(item.customerId!, item.customerNumber, item.companyId ?? state.company) }, 'Sync now…')
                      : '—',
                  ),
                ),
              ),
            ),
          ),
        ),
    report.items.length > 500 ? h('p', { class: 'muted' }, `The first 500 of ${report.items.length} are shown; the full report is in storage.`) : null,
  );
}

export async function showLatestReport(): Promise<void> {
  const region = byId('reconciliation-body');
  renderInto(region, `loading:${Date.now()}`, h('p', {}, 'Loading…'));
  try {
    const report = await api.get('reconciliations/latest', reconciliationSchema);
    renderInto(region, `report:${JSON.stringify(report)}`, reportView(report));
  } catch (error) {
    // This build has the routes (the button is enabled only then), so a 404 means no run yet.
    const none = error instanceof NotAvailableError || (error instanceof ApiError && error.status === 404);
    const message = none ? 'No reconciliation has run yet.' : describe(error);
    renderInto(region, `error:${message}`, h('p', { class: none ? 'muted' : 'error' }, message));
  }
}

export async function startReconciliation(): Promise<void> {
  const fix = byId<HTMLInputElement>('reconcile-fix').checked;
  const company = state.company && severalCompanies() ? state.company : null;
  const ok = await confirmAction(
    fix ? 'Reconcile and fix?' : 'Start a reconciliation?',
    [
      h(
        'p',
        {},
        `This reads every customer in Business Central${company ? ` (${companyName(company)} only)` : severalCompanies() ? ' (every company, counted per company)' : ''} and in iPaaS.com (no write) and builds a report. It runs in the background; one run at a time.`,
      ),
      fix ? h('p', { class: 'hint' }, 'With "fix", every Missing and Drifted customer is also queued for a sync, which writes to iPaaS.com.') : null,
    ],
    fix ? 'Reconcile and fix' : 'Start',
  );
  if (!ok) return;
  const region = byId('reconciliation-body');
  let runId: string;
  try {
    runId = (await api.post('reconciliations', { fix, ...(company ? { company } : {}) }, reconciliationStartSchema)).runId;
    toast('Reconciliation started.', 'success');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      toast(`Reconciliation could not start: ${describe(error)}`, 'error');
      return;
    }
    // One run at a time: follow the one that is running.
    toast(`${error.message}. Showing it.`, 'info');
    runId = 'latest';
  }
  for (;;) {
    let report: Reconciliation;
    try {
      report = await api.get(`reconciliations/${encodeURIComponent(runId)}`, reconciliationSchema);
    } catch (error) {
      renderInto(region, `error:${describe(error)}`, h('p', { class: 'error' }, describe(error)));
      return;
    }
    renderInto(region, `report:${JSON.stringify(report)}`, reportView(report));
    if (report.status !== 'Running') return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
