import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { log } from './machine';
import type { HostSettings } from '../../dev/host/hostSettings';
import type { TransferEvent } from '../../shared/telemetry';
import type { ChildProgress, InitialLoadMessage, InvocationTotals, ProductCommand, ProductMessage } from './protocol';

const BENCH_DIR = path.resolve(__dirname, '..');

export interface TransferArrival {
  /** Wall-clock time (Date.now()) at which the product logged the event. */
  at: number;
  event: TransferEvent;
}

export interface ProductProcess {
  url: string;
  queues: HostSettings['queues'];
  readonly transfers: readonly TransferArrival[];
  /** Warnings and errors the product logged. */
  readonly problems: readonly string[];
  /**
   * Resolves once `count` transfers satisfying `accept` arrived after this call's `since` index; rejects after
   * `timeoutMs` (2 minutes by default) saying how many came and what was awaited (`what`).
   */
  waitForTransfers(
    accept: (event: TransferEvent) => boolean,
    count: number,
    options?: { timeoutMs?: number; since?: number; what?: string },
  ): Promise<TransferArrival[]>;
  /** Runs a timer function now and waits for it to end, at most `timeoutMs` (5 minutes by default). */
  runTimer(name: string, timeoutMs?: number): Promise<void>;
  stats(): Promise<{ maxRssBytes: number; rssBytes: number; cpuMs: number; invocations: InvocationTotals; logBytes: number; logLines: number }>;
  stop(): Promise<void>;
}

/** Forks a bench script: a .ts file through tsx, or a built .js file with plain node. */
function spawnTs(file: string, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string } {
  // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of each child (open it in Chrome DevTools) to find where time goes.
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_CPU_PROFILE)] : [];
  // BENCH_CHILD_NODE_ARGS passes extra node flags to the children (e.g. --max-old-space-size=128 to see the live set).
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(path.resolve(BENCH_DIR, file), [], { execArgv: [...loader, ...profile, ...extra], env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return { child, stderr: () => stderr };
}

/** How long the product may take to start listening, and to answer a command (stats): a loaded machine is slow, never this slow. */
const READY_TIMEOUT_MS = 120_000;
const COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_TIMER_TIMEOUT_MS = 5 * 60_000;

/** Starts bench/product.ts (the local Functions host) with `env`; resolves once it listens (or says why not, within 2 minutes). */
export async function startProduct(env: NodeJS.ProcessEnv): Promise<ProductProcess> {
  const { child, stderr } = spawnTs('product.ts', env);
  const transfers: TransferArrival[] = [];
  const problems: string[] = [];
  const waiters = new Set<() => void>();
  const pending = new Map<number, (message: ProductMessage) => void>();
  let nextId = 1;
  let exited = false;
  child.on('exit', () => {
    exited = true;
    waiters.forEach((wake) => wake());
  });

  const ready = new Promise<Extract<ProductMessage, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (raw: unknown) => {
      const message = raw as ProductMessage;
      if (message.type === 'ready') resolve(message);
      else if (message.type === 'failed') reject(new Error(`the product process failed to start: ${message.message}`));
      else if (message.type === 'transfers') {
        transfers.push(...message.arrivals);
        waiters.forEach((wake) => wake());
      } else if (message.type === 'log') problems.push(`${message.level}: ${message.message}`);
      else if (message.type === 'timerDone' || message.type === 'stats') {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
    child.once('exit', (code) => reject(new Error(`the product process exited (${code}) before it was ready\n${stderr()}`)));
  });
  let readyTimer: NodeJS.Timeout | undefined;
  const started = await Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      readyTimer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the product process did not start listening within ${READY_TIMEOUT_MS / 1000} s\n${stderr()}`));
      }, READY_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(readyTimer));

  const request = <T extends ProductMessage>(command: ProductCommand & { id: number }, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('the product process has exited'));
      const timer = setTimeout(() => {
        pending.delete(command.id);
        reject(new Error(`the product process did not answer "${command.type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      pending.set(command.id, (message) => {
        clearTimeout(timer);
        resolve(message as T);
      });
      child.send(command);
    });

  return {
    url: started.url,
    queues: started.queues,
    transfers,
    problems,
    waitForTransfers(accept, count, options = {}) {
      const since = options.since ?? 0;
      const timeoutMs = options.timeoutMs ?? 120_000;
      return new Promise<TransferArrival[]>((resolve, reject) => {
        // Scans each arrival once: waiters wake on every transfer, and runs have thousands of them.
        const matching: TransferArrival[] = [];
        let scanned = since;
        const check = (): boolean => {
          for (; scanned < transfers.length; scanned += 1) {
            const arrival = transfers[scanned]!;
            if (accept(arrival.event)) matching.push(arrival);
          }
          if (matching.length >= count) {
            resolve(matching);
            return true;
          }
          if (exited) {
            reject(new Error(`the product process exited while ${count - matching.length} transfers were outstanding\n${stderr()}`));
            return true;
          }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const last = problems.slice(-2).join(' || ');
          reject(
            new Error(
              `gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${options.what ?? 'transfers'}: ${matching.length} of ${count} arrived` +
                (last ? `; the product's last warnings: ${last}` : '; the product logged no warning'),
            ),
          );
        }, timeoutMs);
        const wake = (): void => {
          if (check()) {
            clearTimeout(timer);
            waiters.delete(wake);
          }
        };
        waiters.add(wake);
      });
    },
    async runTimer(name, timeoutMs = DEFAULT_TIMER_TIMEOUT_MS) {
      const done = await request<Extract<ProductMessage, { type: 'timerDone' }>>({ type: 'runTimer', id: nextId++, name }, timeoutMs);
      if (done.error) throw new Error(`timer ${name} failed: ${done.error}`);
    },
    async stats() {
      const { maxRssBytes, rssBytes, cpuMs, invocations, logBytes, logLines } = await request<Extract<ProductMessage, { type: 'stats' }>>({ type: 'stats', id: nextId++ });
      return { maxRssBytes, rssBytes, cpuMs, invocations, logBytes, logLines };
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' } satisfies ProductCommand);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Runs the initial load (`script`: bench/initialLoad.ts or its bundle) with `env` and returns its report. */
export function runInitialLoad(script: string, env: NodeJS.ProcessEnv, timeoutMs: number, signal?: AbortSignal): Promise<Extract<InitialLoadMessage, { type: 'done' }>> {
  return runReportingChild<InitialLoadMessage>(script, env, timeoutMs, signal);
}

/**
 * Runs a bench child that sends one `{ type: 'done', ... }` or `{ type: 'failed', message }` over IPC before it exits,
 * and may send `{ type: 'progress', note }` on the way; killed after `timeoutMs` or when `signal` aborts. A child that
 * does not finish in time is reported with the last progress it sent (how far it got, its peak memory so far).
 */
export async function runReportingChild<M extends { type: 'done' } | { type: 'failed'; message: string }>(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Extract<M, { type: 'done' }>> {
  const { child, stderr } = spawnTs(script, env);
  return new Promise((resolve, reject) => {
    let report: M | undefined;
    let progress: string | undefined;
    let lastShown = performance.now();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} did not finish within ${Math.round(timeoutMs / 1000)} s; stopped${progress ? ` (by then: ${progress})` : ''}`));
    }, timeoutMs);
    signal?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
    child.on('message', (raw: unknown) => {
      const message = raw as M | ChildProgress;
      if (message.type !== 'progress') {
        report = message as M;
        return;
      }
      progress = (message as ChildProgress).note;
      // Shown now and then, so a long run says where it stands.
      if (performance.now() - lastShown >= 30_000) {
        lastShown = performance.now();
        log(`${path.basename(script)}: ${progress}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (report?.type === 'done') resolve(report as Extract<M, { type: 'done' }>);
      else reject(new Error(report?.type === 'failed' ? (report as { message: string }).message : `${script} exited (${code}) without a report${progress ? ` (last progress: ${progress})` : ''}\n${stderr()}`));
    });
  });
}
