/**
 * The fakes (Business Central, Entra ID, iPaaS.com) served over real sockets instead of msw interception, so
 * that another process (the function app as a child process: the bench's product, the fault tests' hosts)
 * calls them exactly through its production HTTP stack, while the fakes and their state stay in the calling
 * process. Used by the bench and the fault tests.
 */
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

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** PEM file to hand a child process as NODE_EXTRA_CA_CERTS. */
  certFile: string;
  dispose(): void;
}

/**
 * A throw-away self-signed certificate for 127.0.0.1, made with the openssl CLI: @azure/identity accepts only
 * https authorities, so the fake Entra ID is served over TLS and the process under test trusts it through
 * NODE_EXTRA_CA_CERTS.
 */
export function createTlsMaterial(): TlsMaterial {
  const dir = mkdtempSync(path.join(tmpdir(), 'fakes-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'],
      { stdio: 'ignore' },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Serving the fake Entra ID over https needs the openssl command line tool: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Exchange {
  request: Request;
  /** What the fakes answered; `undefined` when no handler matched, a Response of type "error" for a dropped connection. */
  response: Response | undefined;
  /** The raw request body. */
  body: Buffer;
  /** How long the fakes took to answer. */
  durationMs: number;
  /** Which front received it: 0 for the server's own origin, then each `addFront()` in order. */
  front: number;
}

/** What to do with an answer: send it, drop the connection instead, or send it after a delay. */
export type Verdict = 'send' | 'drop' | { delayMs: number };

export interface ServeOptions {
  /** The fakes' msw handlers; `setHandlers` may set them later (when the fakes need the port first). */
  handlers?: RequestHandler[];
  /** 0 (default): any free port. */
  port?: number;
  tls?: Pick<TlsMaterial, 'key' | 'cert'>;
  /**
   * Called before the fakes see a request: a slow service (the fakes act only once it resolves), or one that never
   * answers (`'drop'`: the fakes never see it and the connection is closed, e.g. once the caller gave up).
   */
  before?: (request: Request, body: Buffer, front: number) => Promise<void | 'drop'> | void | 'drop';
  /** Sees every exchange before it is answered; may drop the connection or answer late. */
  decide?: (exchange: Exchange) => Verdict | Promise<Verdict>;
}

export interface ServedFake {
  /** `http(s)://127.0.0.1:<port>`: the origin the fakes are configured with. */
  origin: string;
  port: number;
  /** Handlers answer requests from the moment they are set. */
  setHandlers(handlers: RequestHandler[]): void;
  /**
   * Another port answering exactly as this server (same fakes, same state), for one caller: requests reach the
   * fakes as if sent to `origin`, and `origin` in an answer (links, Location) becomes the front's own, so the
   * caller keeps talking to its front. `decide` and `before` see which front an exchange came through.
   */
  addFront(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Serves msw handlers (msw's getResponse) on 127.0.0.1, http or https. A 'hang' fault of the fakes ends when the
 * caller hangs up (its timeout, or its process dying), as the request's abort signal tells the fakes.
 */
export async function serveFakes(options: ServeOptions = {}): Promise<ServedFake> {
  let handlers = options.handlers ?? [];
  const scheme = options.tls ? 'https' : 'http';
  let origin = '';
  const servers: Server[] = [];

  async function handle(front: number, frontOrigin: string, incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
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
    if ((await options.before?.(request, body, front)) === 'drop') {
      outgoing.destroy();
      return;
    }
    const started = Date.now();
    // `decide` gets the request unread (a clone went to the fakes).
    const response = await getResponse(handlers, options.decide ? request.clone() : request);
    const decided = (await options.decide?.({ request, response, body, durationMs: Date.now() - started, front })) ?? 'send';
    // A late answer: the fakes have done the work, the caller hears of it only now.
    if (typeof decided === 'object') await new Promise((resolve) => setTimeout(resolve, decided.delayMs));
    if (decided === 'drop' || !response || response.type === 'error' || hangUp.signal.aborted) {
      // No handler, Response.error() (how a fake simulates a dropped connection), or a drop decided here.
      if (!response && decided !== 'drop' && !hangUp.signal.aborted) outgoing.writeHead(404).end();
      else outgoing.destroy();
      return;
    }
    const rewrite = (text: string): string => (frontOrigin === origin ? text : text.split(origin).join(frontOrigin));
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!DROPPED_HEADERS.has(name)) responseHeaders[name] = rewrite(value);
    });
    let payload = NULL_BODY_STATUS.has(response.status) ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
    if (frontOrigin !== origin && payload.includes(origin)) payload = Buffer.from(rewrite(payload.toString('utf8')), 'utf8');
    outgoing.writeHead(response.status, responseHeaders).end(payload);
  }

  async function listen(front: number, port: number): Promise<{ origin: string; port: number }> {
    let own = '';
    const listener = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
      handle(front, own, incoming, outgoing).catch(() => {
        if (!outgoing.headersSent) outgoing.writeHead(500, { 'Content-Type': 'text/plain' }).end('fake server error');
        else outgoing.destroy();
      });
    };
    const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createHttpServer(listener);
    // Callers keep connections alive (the product for 30 s); never cut them first.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : 0;
    own = `${scheme}://127.0.0.1:${bound}`;
    return { origin: own, port: bound };
  }

  const main = await listen(0, options.port ?? 0);
  origin = main.origin;
  return {
    origin,
    port: main.port,
    setHandlers: (next) => {
      handlers = next;
    },
    addFront: async () => (await listen(servers.length, 0)).origin,
    close: () =>
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
