/** Replay: a dry run first, the operator confirms the list, then exactly that list is queued. */
import { replayResultSchema } from '../api';
import { confirmAction, toast } from '../dialogs';
import { h } from '../dom';
import { refresh } from '../loader';
import { api, companyName, severalCompanies, state } from '../state';
import { describe, label } from '../views';

export type ReplaySelector = { all: true } | { errorCode: string } | { customerIds: string[] };

export async function replayFlow(selector: ReplaySelector, what: string, onQueued?: () => void, companyId: string | null = state.company): Promise<void> {
  // The selected company only (or, for one customer, its company); all companies otherwise.
  const scope = companyId && severalCompanies() ? { company: companyId } : {};
  let preview;
  try {
    preview = await api.post('transfers/replay', { ...selector, ...scope, dryRun: true }, replayResultSchema);
  } catch (error) {
    toast(`Replay preview failed: ${describe(error)}`, 'error');
    return;
  }
  if (preview.customerIds.length === 0) {
    toast(preview.message ?? `Nothing to replay for ${what}.`, 'info');
    return;
  }
  const ok = await confirmAction(
    `Replay ${preview.customerIds.length} customer${preview.customerIds.length === 1 ? '' : 's'}?`,
    [
      h('p', {}, `This queues a new sync of ${what}. Each is read again from Business Central and written to iPaaS.com; a customer is never created twice.`),
      h(
        'ul',
        { class: 'replay-list', 'aria-label': 'Customers to replay' },
        (preview.targets ?? preview.customerIds.map((customerId) => ({ customerId, companyId: '' }))).map((target) =>
          h('li', {}, label(target.customerId), state.numbers.has(target.customerId) ? h('span', { class: 'muted mono' }, ` ${target.customerId}`) : null, companyName(target.companyId) ? h('span', { class: 'company' }, ` ${companyName(target.companyId)}`) : null),
        ),
      ),
      preview.moreRemain ? h('p', { class: 'hint' }, 'More customers match than one replay takes; replay again once these are done.') : null,
    ],
    'Replay',
  );
  if (!ok) return;
  try {
    // Exactly the list that was shown, not the selector again: what was confirmed is what happens.
    const result = await api.post('transfers/replay', { customerIds: preview.customerIds, ...scope }, replayResultSchema);
    toast(result.message ?? `${result.replayed} customer(s) queued.`, 'success');
  } catch (error) {
    toast(`Replay failed: ${describe(error)}`, 'error');
    return;
  }
  onQueued?.();
  setTimeout(() => void refresh(), 1500);
}
