/**
 * The process under test for `npm run bench`: the project's local Functions host with the app's own
 * registrations, its settings from the environment (the bench points them at the fakes it serves and at
 * Azurite). Runs as a child of bench/run.ts and talks to it over IPC: it reports every TransferCompleted
 * event and runs timers on request. Not part of the deployable app.
 */
import path from 'node:path';
import type { LogLevel } from '@azure/functions';
import { startLocalHost } from '../dev/host/localHost';
import { parseTransferEventLine, type TransferEvent } from '../shared/telemetry';
import type { InvocationTotals, ProductCommand, ProductMessage } from './lib/protocol';

const send = (message: ProductMessage): void => {
  process.send?.(message);
};

/** Busy time: wall time with at least one execution active, from each execution's [end - duration, end]. */
function invocationTracker(): { record(durationMs: number, functionName: string): void; totals(): InvocationTotals } {
  const totals: InvocationTotals = { count: 0, byFunction: {}, busyMs: 0, sumMs: 0 };
  // Executions overlap; merge each new interval into the covered time seen so far.
  let coveredUntil = Number.NEGATIVE_INFINITY;
  const pending: Array<[number, number]> = [];
  return {
    record(durationMs, functionName) {
      const end = performance.now();
      totals.count += 1;
      totals.byFunction[functionName] = (totals.byFunction[functionName] ?? 0) + 1;
      totals.sumMs += durationMs;
      pending.push([end - durationMs, end]);
    },
    totals() {
      // Intervals arrive in order of their ends; sorted by start, each adds what it covers beyond the time
      // covered so far (an execution straddling an earlier call is slightly undercounted: negligible here).
      pending.sort((a, b) => a[0] - b[0]);
      for (const [start, end] of pending.splice(0)) {
        const from = Math.max(start, coveredUntil);
        if (end > from) totals.busyMs += end - from;
        coveredUntil = Math.max(coveredUntil, end);
      }
      return { ...totals, byFunction: { ...totals.byFunction } };
    },
  };
}

async function main(): Promise<void> {
  const listenQueues = process.env.BENCH_LISTEN_QUEUES !== 'false';
  const invocations = invocationTracker();
  // Bytes of the app's own log lines at Information and above (what Application Insights ingests from the app).
  let logBytes = 0;
  let logLines = 0;
  // Transfers travel to the bench in batches every 20 ms: one IPC message per transfer cost the product about
  // 1.5 ms of CPU per customer on a loaded machine, a cost of the measurement, not of the product. Each event
  // keeps the time it was logged, so latency figures are unchanged.
  let pending: Array<{ at: number; event: TransferEvent }> = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    flushTimer = undefined;
    if (pending.length === 0) return;
    send({ type: 'transfers', arrivals: pending });
    pending = [];
  };
  const host = await startLocalHost({
    root: path.resolve(__dirname, '..'),
    port: 0,
    listen: { queues: listenQueues, timers: false },
    onInvocation: (event) => invocations.record(event.durationMs, event.functionName),
    log: (level: LogLevel, message: string) => {
      if (level !== 'trace' && level !== 'debug') {
        logBytes += Buffer.byteLength(message);
        logLines += 1;
      }
      const event = parseTransferEventLine(message);
      if (event) {
        pending.push({ at: Date.now(), event });
        flushTimer ??= setTimeout(flush, 20);
      }
      // Only problems travel back; the sync's info lines would cost more than the work measured.
      else if (level === 'error' || level === 'critical' || level === 'warning') send({ type: 'log', level, message: message.slice(0, 500) });
    },
  });
  process.on('message', (raw: unknown) => {
    const command = raw as ProductCommand;
    if (command.type === 'runTimer') {
      host
        .runTimer(command.name)
        .then(() => send({ type: 'timerDone', id: command.id }))
        .catch((error: unknown) => send({ type: 'timerDone', id: command.id, error: error instanceof Error ? error.message : String(error) }));
    } else if (command.type === 'stats') {
      const usage = process.resourceUsage();
      send({ type: 'stats', id: command.id, maxRssBytes: usage.maxRSS * 1024, rssBytes: process.memoryUsage().rss, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, invocations: invocations.totals(), logBytes, logLines });
    } else if (command.type === 'stop') {
      host
        .stop()
        .catch(() => undefined)
        .finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: host.url, queues: host.settings.queues });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
