/** Nearest-rank percentile of `values` (0 < p ≤ 100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds since `start` (from performance.now()), with sub-millisecond precision. */
export const elapsed = (start: number): number => performance.now() - start;

export type Verdict = 'PASS' | 'MISS' | 'INFO' | 'ERROR';

export interface Figure {
  section: string;
  name: string;
  /** The measured value, formatted. */
  value: string;
  /** The target, formatted (empty for informational rows). */
  target: string;
  verdict: Verdict;
  /** The raw number, for the JSON report. */
  raw?: number | null;
  note?: string;
}

/** A figure compared with an upper or lower bound. */
export function judged(
  section: string,
  name: string,
  raw: number,
  format: (value: number) => string,
  target: { max?: number; min?: number },
  note?: string,
): Figure {
  const pass = Number.isFinite(raw) && (target.max === undefined || raw <= target.max) && (target.min === undefined || raw >= target.min);
  const bound = target.max !== undefined ? `≤ ${format(target.max)}` : `≥ ${format(target.min ?? 0)}`;
  return { section, name, value: Number.isFinite(raw) ? format(raw) : 'n/a', target: bound, verdict: pass ? 'PASS' : 'MISS', raw, ...(note ? { note } : {}) };
}

export function info(section: string, name: string, value: string, raw?: number | null, note?: string): Figure {
  return { section, name, value, target: '', verdict: 'INFO', ...(raw === undefined ? {} : { raw }), ...(note ? { note } : {}) };
}

export function failedFigure(section: string, name: string, target: string, reason: string): Figure {
  return { section, name, value: 'failed', target, verdict: 'ERROR', raw: null, note: reason };
}

export const ms = (value: number): string => (value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`);
export const perSecond = (value: number): string => `${value.toFixed(1)}/s`;
export const count = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(value < 0.1 ? 4 : 2));
export const kibibytes = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
export const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const seconds = (value: number): string => `${(value / 1000).toFixed(1)} s`;
export const ratio = (value: number): string => value.toFixed(2);

/** A compact fixed-width table. */
export function renderTable(figures: readonly Figure[]): string {
  const header = ['figure', 'value', 'target', 'result'];
  const rows = figures.map((figure) => [`${figure.section}: ${figure.name}`, figure.value, figure.target, figure.verdict]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const notes = figures.filter((figure) => figure.note).map((figure) => `  * ${figure.section}: ${figure.name}: ${figure.note}`);
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

/**
 * The same figures as a Markdown table, the shape of docs/performance.md's: every figure next to its target and its
 * verdict (PASS, MISS; INFO has no target; ERROR says why the section could not finish), the note beside the value.
 */
export function renderMarkdown(figures: readonly Figure[]): string {
  const cell = (text: string): string => text.replace(/\|/gu, '\\|').replace(/\n/gu, ' ');
  const rows = figures.map((figure) => {
    const measured = figure.note ? `${figure.value} (${figure.note})` : figure.value;
    return `| ${cell(`${figure.section}: ${figure.name}`)} | ${cell(figure.target || '–')} | ${cell(measured)} | ${figure.verdict} |`;
  });
  return ['| figure | target | measured | |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
