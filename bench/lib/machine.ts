import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

let lastLine = '';

/** The bench's progress lines (stderr, so the table on stdout stays clean). */
export const log = (message: string): void => {
  lastLine = message;
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** The last progress line: where a section stood when it was stopped. */
export const lastLogLine = (): string => lastLine;

/** CPU time (user + system) of this process so far, in ms. */
export const cpuMsOfThisProcess = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** The load average now, as `uptime` prints it. */
export const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** What the figures were taken on: they mean little without it. */
export function machine(): { date: string; nproc: number; cpu: string; node: string; load: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /model name\s*:\s*(.+)/u.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: os.cpus() is the best we have.
  }
  return { date: new Date().toISOString(), nproc: cpus().length, cpu, node: process.version, load: loadAverage() };
}
