/**
 * The HTTP behaviour the clients rely on, against a real socket (no interceptor): connections kept alive and
 * reused, never more connections or requests in flight than the client's cap, and the timeout. Node's own
 * fetch provides the first without configuration; these tests are what keeps that true.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncError } from '../../shared/errors';
import { HttpClient, type HttpClientOptions } from '../../shared/http/httpClient';

interface TestServer {
  url: string;
  connections: number;
  inFlight: number;
  maxInFlight: number;
  requests: number;
  close(): Promise<void>;
}

/** A loopback server; `handle` decides when each request is answered. */
async function startServer(handle: (request: IncomingMessage, response: ServerResponse, server: TestServer) => void): Promise<TestServer> {
  const state: TestServer = { url: '', connections: 0, inFlight: 0, maxInFlight: 0, requests: 0, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    state.requests += 1;
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    response.on('close', () => {
      state.inFlight -= 1;
    });
    handle(request, response, state);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

const reply = (response: ServerResponse, body: unknown = { ok: true }): void => {
  response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

function client(overrides: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    serviceName: 'Test API',
    transientCode: 'IpaasUnavailable',
    finalCode: 'IpaasRejected',
    getAuthorization: async () => 'Bearer test',
    maxConcurrent: 4,
    timeoutMs: 10_000,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    ...overrides,
  });
}

describe('HttpClient over a real socket', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('keeps connections alive: twenty sequential requests reuse one or two connections', async () => {
    server = await startServer((_request, response) => reply(response));
    const http = client();
    for (let index = 0; index < 20; index += 1) {
      const response = await http.send({ method: 'GET', url: `${server.url}/items/${index}` });
      expect(response.body).toEqual({ ok: true });
    }
    expect(server.requests).toBe(20);
    // Node's pool may open a second connection when the next request leaves before the first socket is handed back.
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('never has more requests in flight, nor connections open, than maxConcurrent', async () => {
    const held: ServerResponse[] = [];
    // Answers the oldest held request only once three wait, so a client that overshoots its cap shows it.
    server = await startServer((_request, response) => {
      held.push(response);
      if (held.length >= 3) setImmediate(() => reply(held.shift()!));
    });
    const flush = setInterval(() => held.length > 0 && reply(held.shift()!), 50);
    try {
      const http = client({ maxConcurrent: 3 });
      const responses = await Promise.all(Array.from({ length: 12 }, (_, index) => http.send({ method: 'GET', url: `${server!.url}/items/${index}` })));
      expect(responses.map((response) => response.status)).toEqual(Array(12).fill(200));
    } finally {
      clearInterval(flush);
    }
    expect(server.requests).toBe(12);
    expect(server.maxInFlight).toBe(3);
    // Reused, and bounded by the cap (plus the socket being handed back while the next request leaves).
    expect(server.connections).toBeLessThanOrEqual(2 * 3);
  });

  it('gives up on a server that does not answer within timeoutMs, as a transient failure', async () => {
    server = await startServer(() => {
      // Never answers.
    });
    const http = client({ timeoutMs: 300 });
    const failure = await http.send({ method: 'GET', url: `${server.url}/slow` }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SyncError);
    expect((failure as SyncError).transient).toBe(true);
    expect((failure as SyncError).message).toBe('Test API GET /slow timed out after 300 ms');
  });

  it('gives up at its timeout even when the fetch never hears the abort (a signal lost on its way)', async () => {
    // A fetch that ignores its signal: what an exchange looks like when the abort is not forwarded to the request.
    const spy = jest.spyOn(globalThis, 'fetch').mockImplementation(() => new Promise<Response>(() => undefined));
    try {
      const failure = await client({ timeoutMs: 200 }).send({ method: 'GET', url: 'http://127.0.0.1:9/deaf' }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SyncError);
      expect((failure as SyncError).transient).toBe(true);
      expect((failure as SyncError).message).toBe('Test API GET /deaf timed out after 200 ms');
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves no timeout behind once a request has ended: its signal never aborts afterwards', async () => {
    server = await startServer((_request, response) => reply(response));
    const signals: AbortSignal[] = [];
    const realFetch = globalThis.fetch;
    const spy = jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      if (init?.signal) signals.push(init.signal);
      return realFetch(input, init);
    });
    try {
      const response = await client({ timeoutMs: 1_000 }).send({ method: 'GET', url: `${server.url}/quick` });
      expect(response.status).toBe(200);
    } finally {
      spy.mockRestore();
    }
    // Timers run in the order they are due: once this one has run, a 1 s timeout left running would have fired.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
  });
});
