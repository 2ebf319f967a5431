/** Small pieces every panel draws with: error text, customer labels, status badges, field changes, cards. */
import { NotAvailableError, type FieldChange, type Transfer } from './api';
import { h, type Child } from './dom';
import { scheduleInWords } from './schedule';
import { state } from './state';

export const describe = (error: unknown): string =>
  error instanceof NotAvailableError ? 'Not available in this deployment.' : error instanceof Error ? error.message : 'Something went wrong.';

export const label = (customerId: string, customerNumber?: string | null): string => {
  const number = customerNumber ?? state.numbers.get(customerId);
  return number ? `${number}` : customerId;
};

export function remember(transfers: Transfer[]): void {
  for (const transfer of transfers) if (transfer.customerNumber) state.numbers.set(transfer.customerId, transfer.customerNumber);
}

export function statusBadge(status: string): HTMLElement {
  const kind = /^(ok|healthy|succeeded|unchanged|completed)$/iu.test(status) ? 'ok' : /^(degraded|skipped|running|create|update)$/iu.test(status) ? 'warn' : 'bad';
  return h('span', { class: `badge badge-${kind}` }, status);
}

export function outcomeOf(transfer: Transfer): string {
  return transfer.errorCode ?? transfer.action ?? '—';
}

export function changesTable(changes: FieldChange[], caption: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'diff' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'To'))),
      h(
        'tbody',
        {},
        changes.map((change) =>
          h('tr', {}, h('th', { scope: 'row' }, change.field), h('td', { class: 'from' }, h('del', {}, change.from ?? '(empty)')), h('td', { class: 'to' }, h('ins', {}, change.to ?? '(empty)'))),
        ),
      ),
    ),
  );
}

export function card(title: string, id: string, ...children: Child[]): HTMLElement {
  return h('article', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h3', { id: `${id}-title` }, title), ...children);
}

/** A schedule for the page: the words, with the NCRONTAB in the tooltip (and in `data-ncrontab`). */
export function scheduleElement(ncrontab: string): HTMLElement {
  const words = scheduleInWords(ncrontab);
  return words
    ? h('span', { class: 'schedule', title: `NCRONTAB ${ncrontab}`, 'data-ncrontab': ncrontab }, words)
    : h('span', { class: 'schedule mono', 'data-ncrontab': ncrontab }, ncrontab);
}
