/** Activity: the last 24 hours of transfers by hour and status. */
import { bucketByHour, STATUSES, transferChart } from '../chart';
import { byId, h, renderInto } from '../dom';
import { state } from '../state';
import { describe } from '../views';

export function renderActivity(): void {
  const region = byId('activity-body');
  const recent = state.recent;
  if (!recent.value) {
    renderInto(region, `error:${describe(recent.error)}`, h('p', { class: 'error' }, `Transfers could not be read: ${describe(recent.error)}`));
    return;
  }
  const { transfers, truncated } = recent.value;
  const totals: Record<string, number> = {};
  for (const status of STATUSES) totals[status] = transfers.filter((transfer) => transfer.status === status).length;
  const hour = Math.floor(Date.now() / 3_600_000);
  renderInto(
    region,
    JSON.stringify({ totals, hour, ids: transfers.map((t) => t.transferId) }),
    transferChart(bucketByHour(transfers), totals),
    truncated ? h('p', { class: 'muted' }, `Showing the latest ${transfers.length} transfers; older ones of the last 24 hours are not counted.`) : null,
  );
}
