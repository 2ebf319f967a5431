/**
 * The process under test for `npm run bench`: the project's local Functions host with the app's own
 * registrations, its settings from the environment (the bench points them at the fakes it serves and at
 * Azurite). Runs as a child of bench/run.ts and talks to it over IPC: it reports every TransferCompleted
 * event and runs timers on request. Not part of the deployable app.
 */
import path from 'node:path';
import type { LogLevel } from '@azure/functions';
import { startLocalHost } from '../dev/host/localHost';
import { parseTransferEventLine } from '../shared/telemetry';
import type { ProductCommand, ProductMessage } from './lib/protocol';

const send = (message: ProductMessage): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const listenQueues = process.env.BENCH_LISTEN_QUEUES !== 'false';
  const host = await startLocalHost({
    root: path.resolve(__dirname, '..'),
    port: 0,
    listen: { queues: listenQueues, timers: false },
    log: (level: LogLevel, message: string) => {
      const event = parseTransferEventLine(message);
      if (event) send({ type: 'transfer', at: Date.now(), event });
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
      send({ type: 'stats', id: command.id, maxRssBytes: usage.maxRSS * 1024, rssBytes: process.memoryUsage().rss, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 });
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
