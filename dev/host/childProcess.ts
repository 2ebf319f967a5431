import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TransferEvent } from '../../shared/telemetry';
import type { HostChildCommand, HostChildMessage, InvocationTotals } from './childProtocol';
import type { HostSettings } from './hostSettings';

const CHILD_ENTRY = path.join(__dirname, 'child.ts');

export interface TransferArrival {
  /** Wall-clock time (Date.now()) at which the host logged the event. */
  at: number;
  event: TransferEvent;
}

export interface HostChildOptions {
  /** For log lines and errors. */
  name?: string;
  /** Extra node flags for the child (e.g. --cpu-prof); `--import tsx` is always added. */
  execArgv?: string[];
  /** How long `start()` waits for the host to listen. Default 60 s. */
  startTimeoutMs?: number;
  /** Every line the host sends (HOST_CHILD_LOGS decides which) and everything it writes to stdout and stderr. */
  onLog?: (line: string, level: string) => void;
  onInvocation?: (event: Extract<HostChildMessage, { type: 'invocation' }>) => void;
  /** The process ended without being asked to (neither kill() nor stop()). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/**
 * The function app as a child process (dev/host/child.ts), for the bench and the fault tests: started, asked to
 * run a timer or report its figures, SIGKILLed like a crashed or recycled instance, started again, stopped. Each
 * start is a new process with its own caches, breakers and budget; its environment is the one given here.
 */
export class HostChild {
  readonly name: string;
  /** Every transfer the host reported, across its starts, in order of arrival. */
  readonly transfers: TransferArrival[] = [];
  /** Warnings and errors the host logged. */
  readonly problems: string[] = [];
  starts = 0;
  kills = 0;
  unexpectedExits = 0;
  private child: ChildProcess | undefined;
  private expectingExit = false;
  private exited: Promise<void> = Promise.resolve();
  private ready: Extract<HostChildMessage, { type: 'ready' }> | undefined;
  private readonly pending = new Map<number, (message: HostChildMessage) => void>();
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  private stderr = '';
  /** CPU seconds of the processes that ended (Linux: read from /proc before each ends). */
  private cpuOfEnded = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: HostChildOptions = {},
  ) {
    this.name = options.name ?? 'host';
  }

  get url(): string {
    if (!this.ready) throw new Error(`${this.name} has not started`);
    return this.ready.url;
  }

  get queues(): HostSettings['queues'] {
    if (!this.ready) throw new Error(`${this.name} has not started`);
    return this.ready.queues;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts a new process; resolves once its host listens. */
  async start(): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    const child = fork(CHILD_ENTRY, [], { execArgv: ['--import', 'tsx', ...(this.options.execArgv ?? [])], env: this.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.ready = undefined;
    this.expectingExit = false;
    this.starts += 1;
    this.stderr = '';
    const capture = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stream === 'stderr') this.stderr = (this.stderr + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) this.options.onLog?.(`[${this.name} ${stream}] ${line}`, stream);
    };
    child.stdout?.on('data', capture('stdout'));
    child.stderr?.on('data', capture('stderr'));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.expectingExit) {
          this.unexpectedExits += 1;
          this.options.onUnexpectedExit?.(code, signal);
        }
        for (const answer of this.pending.values()) answer({ type: 'failed', message: `${this.name} exited` });
        this.pending.clear();
        this.waiters.forEach((wake) => wake());
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      child.on('message', (raw: unknown) => {
        const message = raw as HostChildMessage;
        if (message.type === 'ready') {
          this.ready = message;
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${this.name} failed to start: ${message.message}`));
        } else if (message.type === 'transfers') {
          this.transfers.push(...message.arrivals);
          this.waiters.forEach((wake) => wake());
        } else if (message.type === 'log') {
          if (message.level === 'error' || message.level === 'critical' || message.level === 'warning') this.problems.push(`${message.level}: ${message.message.slice(0, 500)}`);
          this.options.onLog?.(`[${this.name} ${message.level}] ${message.message}`, message.level);
        } else if (message.type === 'invocation') {
          this.options.onInvocation?.(message);
        } else if (message.type === 'timerDone' || message.type === 'stats') {
          this.pending.get(message.id)?.(message);
          this.pending.delete(message.id);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready (code ${code}, signal ${signal})\n${this.stderr}`));
      });
    });
  }

  /** Resolves once `count` transfers satisfying `accept` arrived after index `since` of `transfers`. */
  waitForTransfers(accept: (event: TransferEvent) => boolean, count: number, options: { timeoutMs?: number; since?: number; what?: string } = {}): Promise<TransferArrival[]> {
    const since = options.since ?? 0;
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<TransferArrival[]>((resolve, reject) => {
      // Scans each arrival once: waiters wake on every transfer, and runs have thousands of them.
      const matching: TransferArrival[] = [];
      let scanned = since;
      const check = (): boolean => {
        for (; scanned < this.transfers.length; scanned += 1) {
          const arrival = this.transfers[scanned]!;
          if (accept(arrival.event)) matching.push(arrival);
        }
        if (matching.length >= count) {
          resolve(matching);
          return true;
        }
        if (!this.running) {
          reject(new Error(`${this.name} exited while ${count - matching.length} transfers were outstanding\n${this.stderr}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        const last = this.problems.slice(-2).join(' || ');
        reject(
          new Error(
            `gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${options.what ?? 'transfers'}: ${matching.length} of ${count} arrived` +
              (last ? `; ${this.name}'s last warnings: ${last}` : `; ${this.name} logged no warning`),
          ),
        );
      }, timeoutMs);
      const wake = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.delete(wake);
        }
      };
      this.waiters.add(wake);
    });
  }

  /** Runs a timer function now, as its schedule would; gives up after `timeoutMs` (5 minutes by default). */
  async runTimer(name: string, timeoutMs = 5 * 60_000): Promise<void> {
    const done = await this.request<Extract<HostChildMessage, { type: 'timerDone' }>>({ type: 'runTimer', id: this.nextId++, name }, timeoutMs);
    if (done.error) throw new Error(`timer ${name} failed: ${done.error}`);
  }

  /** The process's memory, CPU, executions and log bytes so far. */
  async stats(): Promise<{ maxRssBytes: number; rssBytes: number; cpuMs: number; invocations: InvocationTotals; logBytes: number; logLines: number }> {
    const { maxRssBytes, rssBytes, cpuMs, invocations, logBytes, logLines } = await this.request<Extract<HostChildMessage, { type: 'stats' }>>({ type: 'stats', id: this.nextId++ });
    return { maxRssBytes, rssBytes, cpuMs, invocations, logBytes, logLines };
  }

  /** CPU seconds (user and system) of every process of this host so far; 0 where /proc is not available. */
  cpuSeconds(): number {
    return this.cpuOfEnded + (this.running ? this.cpuOfCurrent() : 0);
  }

  /** SIGKILL: no cleanup, no goodbye, exactly like a crashed or recycled host. */
  kill(): void {
    if (!this.running) return;
    this.cpuOfEnded += this.cpuOfCurrent();
    this.expectingExit = true;
    this.kills += 1;
    this.child?.kill('SIGKILL');
  }

  /** Waits for the killed process to be gone, then starts a new one. */
  async restart(): Promise<void> {
    await this.exited;
    await this.start();
  }

  /** Asks the host to stop (it finishes what runs); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.cpuOfEnded += this.cpuOfCurrent();
    this.expectingExit = true;
    this.child?.send({ type: 'stop' } satisfies HostChildCommand);
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!stopped) {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Sends a command and waits for its answer, at most `timeoutMs` (a loaded machine is slow, never this slow). */
  private request<T extends HostChildMessage>(command: HostChildCommand & { id: number }, timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.running) return reject(new Error(`${this.name} is not running`));
      const timer = setTimeout(() => {
        this.pending.delete(command.id);
        reject(new Error(`${this.name} did not answer "${command.type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(command.id, (message) => {
        clearTimeout(timer);
        if (message.type === 'failed') reject(new Error(message.message));
        else resolve(message as T);
      });
      this.child?.send(command);
    });
  }

  private cpuOfCurrent(): number {
    try {
      // After the command name: state is field 3, utime 14 and stime 15 (clock ticks, 100 a second on Linux).
      const stat = readFileSync(`/proc/${this.child?.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }
}
