/**
 * The local Functions host in a process of its own, driven by its parent over IPC: the bench's product under
 * measure and the fault tests' hosts (which kill it with SIGKILL mid-transfer and start it again). The app's own
 * registrations and host.json, its settings from the environment (the parent points them at the fakes it serves
 * and at Azurite). Not part of the deployable app. Started by dev/host/childProcess.ts.
 *
 * Environment (beside the app's settings):
 *   HOST_CHILD_PORT    HTTP port, 0 (default) for any free one (reported in `ready`)
 *   HOST_CHILD_QUEUES  `false`: no queue listeners (default on)
 *   HOST_CHILD_TIMERS  `true`: timers on their schedules (default off; the parent may run them with `runTimer`)
 *   HOST_CHILD_LOGS    `all`: every log line goes to the parent; default `problems` (warnings and errors: the
 *                      sync's info lines would cost more than the work a bench measures)
 */
import path from 'node:path';
import type { LogLevel } from '@azure/functions';
import { parseTransferEventLine, type TransferEvent } from '../../shared/telemetry';
import { startLocalHost } from './localHost';
import type { HostChildCommand, HostChildMessage, InvocationTotals } from './childProtocol';

const send = (message: HostChildMessage): void => {
  try {
    process.send?.(message);
  } catch {
    // The parent is gone; nothing to report to.
  }
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
  const port = Number(process.env.HOST_CHILD_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`HOST_CHILD_PORT must be a port number (0 for any), got "${process.env.HOST_CHILD_PORT}"`);
  const allLogs = process.env.HOST_CHILD_LOGS === 'all';
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
    root: path.resolve(__dirname, '..', '..'),
    port,
    listen: { queues: process.env.HOST_CHILD_QUEUES !== 'false', timers: process.env.HOST_CHILD_TIMERS === 'true' },
    onInvocation: (event) => {
      invocations.record(event.durationMs, event.functionName);
      send({ type: 'invocation', functionName: event.functionName, succeeded: event.succeeded, durationMs: event.durationMs });
    },
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
      const problem = level === 'error' || level === 'critical' || level === 'warning';
      if (allLogs || (!event && problem)) send({ type: 'log', level, message: allLogs ? message : message.slice(0, 500) });
    },
  });
  const stop = (): void => {
    host
      .stop()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(flushTimer);
        flush();
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  process.on('message', (raw: unknown) => {
    const command = raw as HostChildCommand;
    if (command.type === 'runTimer') {
      host
        .runTimer(command.name)
        .then(() => send({ type: 'timerDone', id: command.id }))
        .catch((error: unknown) => send({ type: 'timerDone', id: command.id, error: error instanceof Error ? error.message : String(error) }));
    } else if (command.type === 'stats') {
      const usage = process.resourceUsage();
      send({ type: 'stats', id: command.id, maxRssBytes: usage.maxRSS * 1024, rssBytes: process.memoryUsage().rss, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, invocations: invocations.totals(), logBytes, logLines });
    } else if (command.type === 'stop') {
      stop();
    }
  });
  // Without the parent there is nobody to stop us.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: host.url, port: host.port, queues: host.settings.queues });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
