import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { HostChild } from '../../dev/host/childProcess';
import type { InitialLoadMessage } from './protocol';

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

/** Starts the product (the local Functions host, timers off) with `env`; resolves once it listens. */
export async function startProduct(env: NodeJS.ProcessEnv): Promise<ProductProcess> {
  const product = new HostChild(env, { name: 'the product process', execArgv: childNodeFlags() });
  await product.start();
  return product;
}

/** Runs the initial load (`script`: bench/initialLoad.ts or its bundle) with `env` and returns its report. */
export function runInitialLoad(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Extract<InitialLoadMessage, { type: 'done' }>> {
  return runReportingChild<InitialLoadMessage>(script, env, timeoutMs);
}

/** Runs a bench child that sends one `{ type: 'done', ... }` or `{ type: 'failed', message }` over IPC before it exits. */
export async function runReportingChild<M extends { type: 'done' } | { type: 'failed'; message: string }>(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Extract<M, { type: 'done' }>> {
  const { child, stderr } = spawnTs(script, env);
  return new Promise((resolve, reject) => {
    let report: M | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', (raw: unknown) => {
      report = raw as M;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (report?.type === 'done') resolve(report as Extract<M, { type: 'done' }>);
      else reject(new Error(report?.type === 'failed' ? (report as { message: string }).message : `${script} exited (${code}) without a report\n${stderr()}`));
    });
  });
}
