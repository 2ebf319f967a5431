import type { LogLevel } from '@azure/functions';
import type { InvocationEvent } from '../../dev/host/localHost';
import type { FakeWorld } from '../../dev/fakes/world';
import type { ChangeNotifier } from '../../dev/sandbox/notifier';
import { startSystem, type RunningSystem } from '../../dev/system';
import { resetServices } from '../../shared/services';
import type { TransferRecord } from '../../shared/storage/types';
import { startMockServer } from '../support/msw';
import { resetStorage } from '../support/storage';

/**
 * End-to-end harness: the whole product through the local Functions host (the app's real registrations
 * from index.ts, queue listeners on the worker's Azurite account, timers on their schedules) against the
 * sandbox fakes on this file's msw server. Everything is shortened through settings, never special code paths.
 */

/** A schedule that never fires during a test run (1 January, midnight): timers run only through runTimer. */
export const NEVER = '0 0 0 1 1 *';

/** Settings every end-to-end system starts with; a test's own settings win. */
export const E2E_SETTINGS: Readonly<Record<string, string>> = {
  POLL_SCHEDULE: NEVER,
  SUBSCRIPTION_SCHEDULE: NEVER,
  // The queue listener backs off to this when idle (host.json: 2 s); short so messages are picked up at once.
  AzureFunctionsJobHost__extensions__queues__maxPollingInterval: '00:00:00.200',
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '5',
  SYNC_LEASE_SECONDS: '10',
};

export interface E2EStartOptions {
  /** Settings (app settings and AzureFunctionsJobHost__ overrides) on top of E2E_SETTINGS. */
  settings?: Record<string, string>;
  /** Seed the fakes with the demo customers (default false: tests create what they need). */
  seedDemo?: boolean;
  /** Delay before the fake Business Central notifies subscriptions of a change (default 50 ms). */
  notifyDelayMs?: number;
  /** The sandbox's companies: 1 (default) or 2 (CRONUS USA and CRONUS Canada, as `npm start` runs it). */
  companies?: 1 | 2;
  /** Keep storage and these fakes (a restart with other settings: `stop` first). */
  keep?: { world: FakeWorld };
}

export interface TimedInvocation extends InvocationEvent {
  /** When the invocation finished (ms since epoch). */
  at: number;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface E2ESystem {
  system: RunningSystem;
  world: FakeWorld;
  notifier: ChangeNotifier;
  /** http://127.0.0.1:<port> */
  url: string;
  invocations: TimedInvocation[];
  logs: Array<{ level: LogLevel; message: string }>;
  /** Calls the host over HTTP; the body is parsed as JSON when it is JSON. */
  http(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<HttpResult>;
  /** GET /api/customers/{id}/transfers, newest first. */
  transfers(customerId: string): Promise<TransferRecord[]>;
  /** Polls the customer's transfer history until one matches; fails with what was there at the deadline. */
  waitForTransfer(customerId: string, match: (transfer: TransferRecord) => boolean, timeoutMs?: number): Promise<TransferRecord>;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Described in the failure, with the last value seen. */
  description?: string;
}

/** Polls `probe` until it returns something other than undefined/false/null; throws with the last value at the deadline. */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, description = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Registers this file's msw server and cleans up after each test. Call at the top of a test file; `start`
 * starts a sandbox system (its own fakes) on a clean storage account, `stop` is called for you in afterEach.
 */
export function useE2E(): { start(options?: E2EStartOptions): Promise<E2ESystem>; stop(): Promise<void> } {
  const server = startMockServer();
  let running: { system: RunningSystem; restoreEnv: () => void } | undefined;

  const stop = async (): Promise<void> => {
    const current = running;
    running = undefined;
    if (!current) return;
    try {
      await current.system.sandbox?.notifier.flush().catch(() => undefined);
      await current.system.stop();
    } finally {
      server.resetHandlers();
      current.restoreEnv();
      resetServices();
    }
  };
  afterEach(stop);

  return {
    stop,
    async start(options = {}) {
      if (running) throw new Error('useE2E: one system per test (stop it first to start another)');
      if (!options.keep) await resetStorage();
      const restoreEnv = snapshotEnv();
      const invocations: TimedInvocation[] = [];
      const logs: Array<{ level: LogLevel; message: string }> = [];
      let system: RunningSystem;
      try {
        system = await startSystem({
          port: 0,
          sandbox: true,
          startAzurite: false,
          mockServer: server,
          seedDemo: options.seedDemo ?? false,
          ...(options.companies ? { sandboxCompanies: options.companies } : {}),
          ...(options.keep ? { world: options.keep.world } : {}),
          notifyDelayMs: options.notifyDelayMs ?? 50,
          overrides: { ...E2E_SETTINGS, ...options.settings },
          log: (level, message) => logs.push({ level, message }),
          onInvocation: (event) => invocations.push({ ...event, at: Date.now() }),
        });
      } catch (error) {
        server.resetHandlers();
        restoreEnv();
        resetServices();
        throw error;
      }
      running = { system, restoreEnv };
      assertSchedules(system);
      const { sandbox } = system;
      if (!sandbox) throw new Error('useE2E: the system did not start in sandbox mode');
      const url = system.host.url;

      const http: E2ESystem['http'] = async (path, init = {}) => {
        const response = await fetch(`${url}${path}`, {
          method: init.method ?? 'GET',
          headers: { ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers },
          ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
        });
        const text = await response.text();
        let body: unknown = text;
        if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') body = JSON.parse(text) as unknown;
        return { status: response.status, headers: response.headers, body };
      };

      const transfers = async (customerId: string): Promise<TransferRecord[]> => {
        const result = await http(`/api/customers/${customerId}/transfers?limit=100`);
        if (result.status !== 200) throw new Error(`GET transfers answered ${result.status}: ${JSON.stringify(result.body)}`);
        return (result.body as { transfers: TransferRecord[] }).transfers;
      };

      return {
        system,
        world: sandbox.world,
        notifier: sandbox.notifier,
        url,
        invocations,
        logs,
        http,
        transfers,
        async waitForTransfer(customerId, match, timeoutMs = 10_000) {
          let seen: TransferRecord[] = [];
          try {
            return await waitFor(
              async () => {
                seen = await transfers(customerId);
                return seen.find(match);
              },
              { timeoutMs, intervalMs: 100, description: `a matching transfer of customer ${customerId}` },
            );
          } catch (error) {
            const summary = seen.map((t) => `${t.source}#${t.attempt} ${t.status}/${t.action ?? t.errorCode ?? '-'}`).join(', ') || 'none';
            throw new Error(`${error instanceof Error ? error.message : String(error)} (transfers seen: ${summary})`);
          }
        },
      };
    },
  };
}

/** Restores process.env exactly (startSystem writes every setting into it, as Azure exposes app settings). */
function snapshotEnv(): () => void {
  const saved = { ...process.env };
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/**
 * Timer schedules are read when index.ts registers the functions, once per jest module registry (test file):
 * a file that asks for another schedule after its first start would silently keep the old one.
 */
function assertSchedules(system: RunningSystem): void {
  for (const [name, setting] of [
    ['pollCustomers', 'POLL_SCHEDULE'],
    ['subscriptionTimer', 'SUBSCRIPTION_SCHEDULE'],
  ] as const) {
    const registration = system.host.registrations.find((candidate) => candidate.metadata.name === name);
    const trigger = Object.values(registration?.metadata.bindings ?? {}).find((binding) => binding.type === 'timerTrigger');
    if (trigger?.schedule !== system.settings[setting]) {
      throw new Error(`${name} is registered with '${String(trigger?.schedule)}' but ${setting} is '${system.settings[setting]}': use one schedule per test file`);
    }
  }
}
