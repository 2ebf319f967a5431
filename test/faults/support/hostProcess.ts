import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkerMessage } from './workerProcess';

const WORKER_ENTRY = path.join(__dirname, 'workerProcess.ts');

export interface HostProcessEvents {
  /** Every line the host logged (its log handler) and wrote to stdout / stderr. */
  onLog?: (line: string, level: string) => void;
  onInvocation?: (event: Extract<WorkerMessage, { type: 'invocation' }>) => void;
  /** The process ended without being asked to (neither kill() nor stop()). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/**
 * The function app as a child process (support/workerProcess.ts): started, SIGKILLed like a crashed or recycled
 * instance, started again, stopped. Each start is a new process with its own caches, breakers and budget.
 */
export class HostProcess {
  private child: ChildProcess | undefined;
  private expectingExit = false;
  private exited: Promise<void> = Promise.resolve();
  private port = 0;
  /** How many times it was started. */
  starts = 0;
  kills = 0;
  unexpectedExits = 0;
  /** CPU seconds of the processes that ended (Linux only: read from /proc before each ends). */
  private cpuOfEnded = 0;

  constructor(
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly events: HostProcessEvents = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], { env: this.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.expectingExit = false;
    this.starts += 1;
    const capture = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.events.onLog?.(`[${this.name} ${stream}] ${line}`, stream);
    };
    child.stdout?.on('data', capture('stdout'));
    child.stderr?.on('data', capture('stderr'));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.expectingExit) {
          this.unexpectedExits += 1;
          this.events.onUnexpectedExit?.(code, signal);
        }
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms`)), timeoutMs);
      child.on('message', (raw: unknown) => {
        const message = raw as WorkerMessage;
        if (message.type === 'ready') {
          this.port = message.port;
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'log') {
          this.events.onLog?.(`[${this.name} ${message.level}] ${message.message}`, message.level);
        } else if (message.type === 'invocation') {
          this.events.onInvocation?.(message);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready (code ${code}, signal ${signal})`));
      });
    });
  }

  /** CPU seconds (user and system) of every process of this host so far; 0 where /proc is not available. */
  cpuSeconds(): number {
    return this.cpuOfEnded + (this.running ? this.cpuOfCurrent() : 0);
  }

  private cpuOfCurrent(): number {
    try {
      // Fields after the command name: state is field 3, utime 14 and stime 15 (in clock ticks, 100 a second on Linux).
      const stat = readFileSync(`/proc/${this.child?.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
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

  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.cpuOfEnded += this.cpuOfCurrent();
    this.expectingExit = true;
    this.child?.send({ type: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!stopped) {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
  }
}
