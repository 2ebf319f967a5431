/**
 * The operator console: one page that polls the function app's own routes (health, status, transfers) and
 * acts through them (manual sync, dry run, replay, reconciliation). Plain TypeScript and the DOM, compiled by
 * esbuild into one script; everything it loads comes from the function app itself.
 *
 * This file wires the page: the function key form, the search, the company selector, the refresh timer, and which
 * panel (console/panels/) draws after each load (console/loader.ts). Shared pieces: state.ts (what is known and the
 * API client), views.ts (badges, labels), dialogs.ts (toasts and confirmations).
 */
import { functionKey, setFunctionKey } from './api';
import { toast } from './dialogs';
import { byId, renderInto } from './dom';
import { drawWith, refresh } from './loader';
import { renderActivity } from './panels/activity';
import { renderCompanySelector } from './panels/companies';
import { showCustomer } from './panels/customer';
import { renderFailures } from './panels/failures';
import { renderOverview } from './panels/overview';
import { renderFeatureNotes, showLatestReport, startReconciliation } from './panels/reconciliation';
import { api, saveCompanyChoice, state } from './state';

const REFRESH_MS = 15_000;

drawWith({
  overview: () => {
    renderCompanySelector();
    renderOverview();
    renderFeatureNotes();
  },
  activity: () => {
    renderActivity();
    renderFailures();
  },
});

function start(): void {
  const keyForm = byId<HTMLFormElement>('key-form');
  if (functionKey()) keyForm.hidden = false;
  api.onUnauthorized = () => {
    keyForm.hidden = false;
  };
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('function-key');
    setFunctionKey(input.value.trim() || null);
    input.value = '';
    toast(functionKey() ? 'Function key set for this tab.' : 'Function key cleared.', 'info');
    void refresh();
  });
  byId('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const query = byId<HTMLInputElement>('search-input').value.trim();
    if (query) void showCustomer(query);
  });
  byId('refresh-now').addEventListener('click', () => void refresh());
  byId<HTMLSelectElement>('company').addEventListener('change', (event) => {
    const value = (event.target as HTMLSelectElement).value;
    saveCompanyChoice(value === '' ? null : value);
    // Every panel follows the choice: overview, transfers, failures; a shown customer of another company is put away.
    if (state.customer?.companyId && state.company && state.customer.companyId !== state.company) {
      state.customer = null;
      renderInto(byId('customer-body'), 'empty');
    }
    renderOverview();
    void refresh();
  });
  byId('reconcile-start').addEventListener('click', () => void startReconciliation());
  byId('reconcile-latest').addEventListener('click', () => void showLatestReport());

  let timer: number | undefined;
  const schedule = (): void => {
    window.clearInterval(timer);
    if (byId<HTMLInputElement>('auto-refresh').checked) {
      timer = window.setInterval(() => {
        if (document.visibilityState === 'visible') void refresh();
      }, REFRESH_MS);
    }
  };
  byId('auto-refresh').addEventListener('change', schedule);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
  });
  schedule();
  void refresh();
}

start();
