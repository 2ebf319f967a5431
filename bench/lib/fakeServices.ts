import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getResponse, type RequestHandler } from 'msw';

/**
 * The fakes (Business Central, Entra ID, iPaaS.com) served over real sockets instead of msw interception,
 * so the process under test runs exactly its production HTTP stack (undici for the APIs, the Azure SDK's
 * node:http for storage) with no interceptor overhead, and counts stay in the bench process.
 */
export interface ServedFake {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  port: number;
  /** Handlers answer requests from the moment they are set (ports must be known before the fakes exist). */
  setHandlers(handlers: RequestHandler[]): void;
  close(): Promise<void>;
}

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** PEM file to hand a child process as NODE_EXTRA_CA_CERTS. */
  certFile: string;
  dispose(): void;
}

/**
 * A throw-away self-signed certificate for 127.0.0.1: @azure/identity accepts only https authorities, so the
 * fake Entra ID is served over TLS and the process under test trusts it through NODE_EXTRA_CA_CERTS.
 */
export function createTlsMaterial(): TlsMaterial {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'],
      { stdio: 'ignore' },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not create the bench's TLS certificate for the fake Entra ID: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

async function toFetchRequest(request: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = request.method ?? 'GET';
  const body = chunks.length > 0 && method !== 'GET' && method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  return new Request(`${origin}${request.url ?? '/'}`, { method, headers, ...(body ? { body } : {}) });
}

async function answer(response: ServerResponse, fetched: Response | undefined): Promise<void> {
  if (!fetched || fetched.type === 'error') {
    // Response.error() is how a fake simulates a dropped connection.
    response.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  fetched.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = Buffer.from(await fetched.arrayBuffer());
  response.writeHead(fetched.status, headers).end(body);
}

/** Serves msw handlers on 127.0.0.1 (http, or https with `tls`) on a free port. */
export async function serveFake(tls?: TlsMaterial): Promise<ServedFake> {
  let handlers: RequestHandler[] = [];
  const scheme = tls ? 'https' : 'http';
  let origin = '';
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    toFetchRequest(request, origin)
      .then((fetchRequest) => getResponse(handlers, fetchRequest))
      .then((fetched) => answer(response, fetched ?? new Response(null, { status: 404 })))
      .catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  };
  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  // The process under test keeps connections alive for 30 s; never cut them first.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `${scheme}://127.0.0.1:${port}`;
  return {
    origin,
    port,
    setHandlers: (next) => {
      handlers = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
