/**
 * The function app in a process of its own, so the fault tests can kill it (SIGKILL) mid-transfer: the local
 * Functions host with every registration (queue listeners on; timers too with FAULT_WORKER_TIMERS=true), HTTP
 * on FAULT_WORKER_PORT (0: any free port, reported in `ready`). Its settings point Business Central, Entra ID
 * and iPaaS.com at servers in the test process that answer with the fakes (dev/fakes/serve.ts), so the fakes'
 * state survives the worker. Logs and invocations go to the parent over IPC.
 *
 * Run with: node --import tsx test/faults/support/workerProcess.ts (support/hostProcess.ts does it).
 */
import path from 'node:path';
import { startLocalHost } from '../../../dev/host/localHost';

export type WorkerMessage =
  | { type: 'ready'; port: number }
  | { type: 'log'; level: string; message: string }
  | { type: 'invocation'; functionName: string; succeeded: boolean; durationMs: number };

function send(message: WorkerMessage): void {
  try {
    process.send?.(message);
  } catch {
    // The parent is gone; nothing to report to.
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.FAULT_WORKER_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0) throw new Error('FAULT_WORKER_PORT must be a port number (0 for any)');
  const host = await startLocalHost({
    root: path.resolve(__dirname, '../../..'),
    port,
    listen: { queues: true, timers: process.env.FAULT_WORKER_TIMERS === 'true' },
    log: (level, message) => send({ type: 'log', level, message }),
    onInvocation: (event) => send({ type: 'invocation', functionName: event.functionName, succeeded: event.succeeded, durationMs: event.durationMs }),
  });
  const stop = (): void => {
    host
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'stop') stop();
  });
  // Without the parent there is nobody to stop us.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: host.port });
}

main().catch((error: unknown) => {
  console.error(`worker process failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
