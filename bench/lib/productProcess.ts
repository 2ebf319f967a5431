import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { HostChild } from '../../dev/host/childProcess';
import { log } from './machine';
import type { ChildProgress, InitialLoadMessage } from './protocol';

const BENCH_DIR = path.resolve(__dirname, '..');

/** The product under measure: the local Functions host as a child process (dev/host/child.ts). */
export type ProductProcess = HostChild;

/** Node flags for the bench's children: BENCH_CPU_PROFILE=<dir> (V8 CPU profiles), BENCH_CHILD_NODE_ARGS (e.g. --max-old-space-size=128). */
function childNodeFlags(): string[] {
  // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of each child (open it in Chrome DevTools) to find where time goes.
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_CPU_PROFILE)] : [];
  // BENCH_CHILD_NODE_ARGS passes extra node flags to the children (e.g. --max-old-space-size=128 to see the live set).
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...profile, ...extra];
}

/** Forks a bench script: a .ts file through tsx, or a built .js file with plain node. */
function spawnTs(file: string, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string } {
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(path.resolve(BENCH_DIR, file), [], { execArgv: [...loader, ...childNodeFlags()], env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return { child, stderr: () => stderr };
}

/** Starts the product (the local Functions host, timers off) with `env`; resolves once it listens (or says why not, within 2 minutes). */
export async function startProduct(env: NodeJS.ProcessEnv): Promise<ProductProcess> {
  const product = new HostChild(env, { name: 'the product process', execArgv: childNodeFlags(), startTimeoutMs: 120_000 });
  await product.start();
  return product;
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
