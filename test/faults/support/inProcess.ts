import path from 'node:path';
import type { SetupServerApi } from 'msw/node';
import { createFakeWorld, type FakeWorld } from '../../../dev/fakes/world';
import { startLocalHost, type InvocationEvent, type LocalHost } from '../../../dev/host/localHost';
import { loadConfig } from '../../../shared/config';
import { resetServices } from '../../../shared/services';
import { encodeMessage } from '../../../shared/storage';
import { startMockServer } from '../../support/msw';
import { countMessages, queue, resetAllStorage } from '../../support/storage';

export { countMessages, queue, resetAllStorage };
import { LogCapture } from './leaks';

export const ROOT = path.resolve(__dirname, '../../..');
export interface InProcessSystem {
  world: FakeWorld;
  /** The msw server the fakes run in (tests may prepend handlers with `server.use`). */
  server: SetupServerApi;
  logs: LogCapture;
  /** Access tokens the fake Entra ID issued (secrets that must never be logged). */
  issuedTokens: Set<string>;
  invocations: InvocationEvent[];
  host(): LocalHost;
}

/**
 * The fakes (Entra ID, Business Central, iPaaS.com) behind msw, the local Functions host with every
 * registration (queues and timers driven by hand) and clean storage per test; every log line kept.
 * `hostEnv` is applied before the host starts (host.json overrides) and removed afterwards.
 */
export function useInProcessSystem(options: { hostEnv?: Record<string, string> } = {}): InProcessSystem {
  const world = createFakeWorld(loadConfig(process.env));
  const server = startMockServer(...world.handlers);
  const logs = new LogCapture();
  const issuedTokens = new Set<string>();
  const invocations: InvocationEvent[] = [];
  let host: LocalHost | undefined;
  let restoreConsole: (() => void) | undefined;
  const previous: Record<string, string | undefined> = {};

  server.events.on('response:mocked', ({ request, response }) => {
    if (!request.url.includes('/oauth2/v2.0/token')) return;
    void response
      .clone()
      .json()
      .then((body: unknown) => {
        const token = typeof body === 'object' && body !== null ? (body as { access_token?: unknown }).access_token : undefined;
        if (typeof token === 'string') issuedTokens.add(token);
      })
      .catch(() => undefined);
  });

  beforeAll(async () => {
    restoreConsole = logs.captureConsole();
    for (const [name, value] of Object.entries(options.hostEnv ?? {})) {
      previous[name] = process.env[name];
      process.env[name] = value;
    }
    resetServices();
    host = await startLocalHost({
      root: ROOT,
      port: 0,
      listen: { queues: false, timers: false },
      log: (level, message) => logs.add(`[host ${level}] ${message}`),
      onInvocation: (event) => invocations.push(event),
    });
  });
  afterAll(async () => {
    await host?.stop();
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetServices();
    restoreConsole?.();
  });
  beforeEach(async () => {
    await resetAllStorage();
    world.ipaas.reset();
    world.businessCentral.faults.clear();
    for (const customer of world.businessCentral.customers()) world.businessCentral.deleteCustomer(customer.id);
    world.businessCentral.resetRequests();
    invocations.length = 0;
  });

  return {
    world,
    server,
    logs,
    issuedTokens,
    invocations,
    host: () => {
      if (!host) throw new Error('the local host is not started');
      return host;
    },
  };
}

/** Puts a message on a queue exactly as given: an object is encoded as our senders do (base64 JSON), a string goes as is. */
export async function putRaw(queueName: string, message: unknown): Promise<void> {
  const text = typeof message === 'string' ? message : encodeMessage(message);
  await queue(queueName).sendMessage(text);
}

/**
 * fetch with a deadline for the whole exchange, body included: a route that hangs fails the test instead of
 * the suite. The body is read here, so no abort fires later on a response nobody read.
 */
export async function request(host: LocalHost, route: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${init.method ?? 'GET'} ${route.slice(0, 80)} did not answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(`${host.url}${route}`, { ...init, signal: controller.signal });
    const body = await response.arrayBuffer();
    return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, headers: response.headers });
  } finally {
    clearTimeout(timer);
  }
}

export async function postJson(host: LocalHost, route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(host, route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
