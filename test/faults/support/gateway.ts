import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getResponse, type RequestHandler } from 'msw';

/** Hop-by-hop and framing headers: recomputed on each leg. */
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'expect', 'upgrade']);
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

export interface GatewayExchange {
  request: Request;
  /** What the fakes answered; `undefined` when no handler matched, a Response of type "error" for a network failure. */
  response: Response | undefined;
  /** The raw request body (already consumed from `request` by the handler). */
  body: Buffer;
  /** How long the fakes took to answer. */
  durationMs: number;
  /** Which front received it: 0 for the server's own origin, then each `addFront()` in order. */
  front: number;
}

/** What to do with an answer: send it, drop the connection instead, or send it after a delay. */
export type GatewayVerdict = 'send' | 'drop' | { delayMs: number };

export interface FakeServer {
  /** `http(s)://127.0.0.1:<port>`: the origin a fake is configured with. */
  origin: string;
  /**
   * Another port answering exactly as this server (same fakes, same state), for one caller: requests are
   * handed to the fakes as if sent to `origin`, and `origin` in the answer (links, Location) becomes the
   * front's own, so the caller keeps talking to its front. `decide` sees which front an exchange came through.
   */
  addFront(): Promise<string>;
  stop(): Promise<void>;
}

export interface TlsMaterial {
  key: string;
  cert: string;
  /** The certificate file, for NODE_EXTRA_CA_CERTS in a process that must trust it. */
  certFile: string;
  remove(): void;
}

/** A self-signed certificate for 127.0.0.1 (Entra ID clients accept only https authorities), made with the openssl CLI. */
export function selfSignedCertificate(): TlsMaterial {
  const directory = mkdtempSync(path.join(tmpdir(), 'fault-suite-tls-'));
  const keyFile = path.join(directory, 'key.pem');
  const certFile = path.join(directory, 'cert.pem');
  try {
    execFileSync(
      'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]),
      { stdio: 'ignore' },
    );
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw new Error(`Making a test certificate for the fake Entra ID needs the openssl command line tool: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    certFile,
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/**
 * A real HTTP(S) server on 127.0.0.1 answering with the fakes' msw handlers (msw's getResponse), so
 * another process (the worker the fault suite kills) calls the fakes over the network while the fakes
 * and their state stay in the test process. The fakes are configured with this server's origin.
 * A 'hang' fault ends when the caller hangs up. `decide` sees every exchange before it is answered and
 * may drop the connection instead ('drop') or answer late (`{ delayMs }`). `addFront()` opens another port
 * onto the same fakes, so that several callers (the fault campaign's hosts) can be told apart.
 */
export async function startFakeServer(
  handlers: RequestHandler[],
  options: {
    port?: number;
    tls?: { key: string; cert: string };
    /** Called before the fakes see a request: a slow service (the fakes act only once it resolves). */
    before?: (request: Request, body: Buffer, front: number) => Promise<void> | void;
    decide?: (exchange: GatewayExchange) => GatewayVerdict | Promise<GatewayVerdict>;
  } = {},
): Promise<FakeServer> {
  const scheme = options.tls ? 'https' : 'http';
  let origin = '';
  const servers: Server[] = [];

  async function handle(front: number, frontOrigin: () => string, incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    // The caller giving up (its timeout, or its process dying) aborts the request the fakes see.
    const hangUp = new AbortController();
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) hangUp.abort();
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value === undefined || DROPPED_HEADERS.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const method = (incoming.method ?? 'GET').toUpperCase();
    const request = new Request(`${origin}${incoming.url ?? '/'}`, {
      method,
      headers,
      signal: hangUp.signal,
      ...(body.length > 0 && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
    });
    await options.before?.(request, body, front);
    const started = Date.now();
    const response = await getResponse(handlers, request.clone());
    const decided = (await options.decide?.({ request, response, body, durationMs: Date.now() - started, front })) ?? 'send';
    // A late answer: the fakes have done the work, the caller hears of it only now.
    if (typeof decided === 'object') await new Promise((resolve) => setTimeout(resolve, decided.delayMs));
    const verdict = typeof decided === 'object' ? 'send' : decided;
    if (verdict === 'drop' || !response || response.type === 'error' || hangUp.signal.aborted) {
      outgoing.destroy();
      return;
    }
    const own = frontOrigin();
    const rewrite = (text: string): string => (own === origin ? text : text.split(origin).join(own));
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!DROPPED_HEADERS.has(name)) responseHeaders[name] = rewrite(value);
    });
    let payload = NULL_BODY_STATUS.has(response.status) ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
    if (own !== origin && payload.includes(origin)) payload = Buffer.from(rewrite(payload.toString('utf8')), 'utf8');
    outgoing.writeHead(response.status, responseHeaders).end(payload);
  }

  async function listen(front: number, port: number): Promise<string> {
    let own = '';
    const listener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
      handle(front, () => own, incoming, outgoing).catch(() => {
        if (!outgoing.headersSent) outgoing.writeHead(500, { 'Content-Type': 'text/plain' }).end('fake server error');
        else outgoing.destroy();
      });
    };
    const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createHttpServer(listener);
    // Callers keep connections alive; never cut them first.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    servers.push(server);
    const address = server.address();
    own = `${scheme}://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return own;
  }

  origin = await listen(0, options.port ?? 0);
  return {
    origin,
    addFront: () => listen(servers.length, 0),
    stop: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
