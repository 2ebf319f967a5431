/** Failures by error code: customers whose latest transfer failed, each cause with its resolution and a replay. */
import type { Transfer } from '../api';
import { byId, h, renderInto, timeElement } from '../dom';
import { resolutionOf } from '../resolutions';
import { severalCompanies, state } from '../state';
import { label } from '../views';
import { showCustomer } from './customer';
import { replayFlow } from './replay';

interface FailureGroup {
  code: string;
  customers: Transfer[];
}

/** Customers whose latest transfer (in what was read) failed, grouped by error code, largest group first. */
function failureGroups(transfers: Transfer[]): FailureGroup[] {
  const latest = new Map<string, Transfer>();
  // A customer is a customer of one company: a company copy is two customers.
  for (const transfer of transfers) {
    const key = `${transfer.companyId ?? ''}|${transfer.customerId}`;
    if (!latest.has(key)) latest.set(key, transfer); // newest first
  }
  const groups = new Map<string, Transfer[]>();
  for (const transfer of latest.values()) {
    if (transfer.status !== 'Failed') continue;
    const code = transfer.errorCode ?? 'Unknown';
    groups.set(code, [...(groups.get(code) ?? []), transfer]);
  }
  return [...groups.entries()].map(([code, customers]) => ({ code, customers })).sort((a, b) => b.customers.length - a.customers.length || a.code.localeCompare(b.code));
}

export function renderFailures(): void {
  const region = byId('failures-body');
  const recent = state.recent.value;
  if (!recent) {
    renderInto(region, 'none', h('p', { class: 'muted' }, 'Waiting for the transfer history.'));
    return;
  }
  const groups = failureGroups(recent.transfers);
  const key = JSON.stringify(groups.map((group) => [group.code, group.customers.map((c) => c.transferId)]));
  if (groups.length === 0) {
    renderInto(region, key, h('p', {}, h('span', { class: 'badge badge-ok' }, 'No failures'), ' in the last 24 hours.'));
    return;
  }
  renderInto(
    region,
    key,
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'replay-all', onclick: () => void replayFlow({ all: true }, 'every customer whose latest transfer failed') }, 'Replay all failed…')),
    h(
      'div',
      { class: 'groups' },
      groups.map((group) => {
        const resolution = resolutionOf(group.code);
        return h(
          'article',
          { class: 'group', 'data-error-code': group.code, 'aria-labelledby': `group-${group.code}` },
          h('h3', { id: `group-${group.code}` }, h('code', {}, group.code), ` ${resolution.title} `, h('span', { class: 'count' }, `${group.customers.length} customer${group.customers.length === 1 ? '' : 's'}`)),
          h('p', { class: 'resolution' }, h('strong', {}, 'Resolution: '), resolution.resolution),
          h(
            'ul',
            { class: 'customers' },
            group.customers.map((transfer) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', class: 'link', 'aria-label': `Show history of customer ${label(transfer.customerId, transfer.customerNumber)}`, onclick: () => void showCustomer(transfer.customerId, true, transfer.companyId) },
                  label(transfer.customerId, transfer.customerNumber),
                ),
                ' ',
                severalCompanies() && transfer.companyName ? [h('span', { class: 'company' }, transfer.companyName), ' '] : null,
                h('span', { class: 'muted' }, timeElement(transfer.startedAt)),
                transfer.errorMessage ? h('div', { class: 'message' }, transfer.errorMessage) : null,
              ),
            ),
          ),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              { type: 'button', 'data-replay-code': group.code, onclick: () => void replayFlow(group.code === 'Unknown' ? { customerIds: group.customers.map((c) => c.customerId) } : { errorCode: group.code }, `customers whose latest transfer failed with ${group.code}`) },
              `Replay ${group.code}…`,
            ),
            resolution.needsDataFix ? h('span', { class: 'hint' }, 'Fix the data first, or the replay fails again.') : null,
          ),
        );
      }),
    ),
  );
}
