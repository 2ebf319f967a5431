import type { Transfer } from './api';
import { h, svg } from './dom';

export const STATUSES = ['Succeeded', 'Skipped', 'Failed'] as const;
const HOUR = 3_600_000;

export interface HourBucket {
  start: number;
  counts: Record<(typeof STATUSES)[number], number>;
}

/** 24 hourly buckets ending with the current hour; transfers outside are ignored. */
export function bucketByHour(transfers: Transfer[], now = Date.now()): HourBucket[] {
  const currentHour = Math.floor(now / HOUR) * HOUR;
  const first = currentHour - 23 * HOUR;
  const buckets: HourBucket[] = Array.from({ length: 24 }, (_, index) => ({ start: first + index * HOUR, counts: { Succeeded: 0, Skipped: 0, Failed: 0 } }));
  for (const transfer of transfers) {
    const at = Date.parse(transfer.startedAt);
    if (Number.isNaN(at) || at < first || at >= currentHour + HOUR) continue;
    const bucket = buckets[Math.floor((at - first) / HOUR)];
    if (bucket && (STATUSES as readonly string[]).includes(transfer.status)) bucket.counts[transfer.status as (typeof STATUSES)[number]] += 1;
  }
  return buckets;
}

function niceMax(value: number): number {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A stacked bar per hour, drawn here in SVG: no chart library, no request anywhere. */
export function transferChart(buckets: HourBucket[], totals: Record<string, number>): Element {
  // Wide: the chart has the page's full width (console/app.css), so it fills it without being tall.
  const width = 960;
  const height = 220;
  const left = 40;
  const bottom = 28;
  const top = 10;
  const plotHeight = height - top - bottom;
  const slot = (width - left - 8) / buckets.length;
  const max = niceMax(Math.max(0, ...buckets.map((bucket) => bucket.counts.Succeeded + bucket.counts.Skipped + bucket.counts.Failed)));
  const y = (value: number): number => top + plotHeight - (value / max) * plotHeight;
  const summary = `Transfers in the last 24 hours: ${STATUSES.map((status) => `${totals[status] ?? 0} ${status.toLowerCase()}`).join(', ')}.`;

  const grid = [0, max / 2, max].map((value) =>
    svg(
      'g',
      {},
      svg('line', { x1: left, x2: width - 4, y1: y(value), y2: y(value), class: 'grid' }),
      svg('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' }, String(Math.round(value))),
    ),
  );
  const bars = buckets.map((bucket, index) => {
    const x = left + index * slot + slot * 0.15;
    const barWidth = slot * 0.7;
    let base = 0;
    const total = bucket.counts.Succeeded + bucket.counts.Skipped + bucket.counts.Failed;
    const label = `${hourLabel.format(new Date(bucket.start))}: ${STATUSES.map((status) => `${bucket.counts[status]} ${status.toLowerCase()}`).join(', ')}`;
    const segments = STATUSES.map((status) => {
      const count = bucket.counts[status];
      if (count === 0) return null;
      const rect = svg('rect', { x, width: barWidth, y: y(base + count), height: Math.max(1, y(base) - y(base + count)), class: `bar bar-${status.toLowerCase()}` });
      base += count;
      return rect;
    });
    return svg('g', { 'data-hour': new Date(bucket.start).toISOString(), 'data-total': total }, svg('title', {}, label), ...segments);
  });
  const ticks = buckets
    .map((bucket, index) => (index % 4 === 3 ? svg('text', { x: left + index * slot + slot / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, hourLabel.format(new Date(bucket.start))) : null))
    .filter((tick): tick is SVGElement => tick !== null);

  const chart = svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc', class: 'chart', preserveAspectRatio: 'xMidYMid meet' },
    svg('title', { id: 'chart-title' }, 'Transfers per hour by status'),
    svg('desc', { id: 'chart-desc' }, summary),
    ...grid,
    ...bars,
    ...ticks,
  );
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Totals by status' },
    STATUSES.map((status) => h('li', { 'data-status': status }, h('span', { class: `swatch bar-${status.toLowerCase()}`, 'aria-hidden': 'true' }), `${status} `, h('strong', {}, String(totals[status] ?? 0)))),
  );
  return h('figure', { class: 'chart-figure' }, chart, h('figcaption', {}, legend));
}
