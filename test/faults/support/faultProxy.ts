/**
 * A fault proxy in front of Azurite: one port per storage service (blob, queue, table) that forwards every
 * request to Azurite unchanged, except while that service is "down", when it answers as Azure Storage does
 * when it cannot serve: `503 ServerBusy` (x-ms-error-code header, XML body for blob and queue, JSON for
 * table). Shared Key signatures do not cover the host or port, so a client pointed at the proxy signs as
 * if it talked to Azurite directly.
 *
 * It also counts what passes: requests per service, queue operations by kind and queue, and every message
 * sent to a queue by the customer it is about (the campaign's bound on queue operations per changed customer).
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AzuritePorts } from '../../../dev/azurite';

export type StorageService = keyof AzuritePorts;
export const STORAGE_SERVICES: readonly StorageService[] = ['blob', 'queue', 'table'];

export type QueueOperation = 'send' | 'receive' | 'peek' | 'update' | 'delete' | 'clear' | 'properties' | 'createQueue' | 'deleteQueue' | 'list' | 'other';

export interface SentMessage {
  queue: string;
  /** Milliseconds since the epoch (this process's clock) when the send reached the proxy. */
  at: number;
  /** The decoded message when it was JSON (base64 or not), else null. */
  body: Record<string, unknown> | null;
  /** `visibilitytimeout` of the send: the delay before it becomes visible. */
  delaySeconds: number;
  /** Whether the proxy refused it (the service was down). */
  refused: boolean;
}

export interface ProxyCounters {
  /** Requests that reached the proxy, per service (refused ones included). */
  requests: Record<StorageService, number>;
  /** Requests answered 503 by the proxy, per service. */
  refused: Record<StorageService, number>;
  /** Queue operations by kind (refused ones included). */
  queueOperations: Record<QueueOperation, number>;
  /** Queue operations by queue and kind. */
  byQueue: Map<string, Record<QueueOperation, number>>;
  /** Table requests by "METHOD table" (e.g. "POST SyncState", "GET CustomerTransfers()"). */
  byTable: Map<string, number>;
}

export interface FaultProxy {
  /** The proxy's ports, to build a connection string from. */
  ports: AzuritePorts;
  counters: ProxyCounters;
  /** Every message send that reached the proxy, in order. */
  sent: SentMessage[];
  /** Makes `service` answer 503 from now until `up` (or for `forMs`). */
  down(service: StorageService, forMs?: number): void;
  up(service: StorageService): void;
  isDown(service: StorageService): boolean;
  stop(): Promise<void>;
}

const emptyOperations = (): Record<QueueOperation, number> => ({
  send: 0,
  receive: 0,
  peek: 0,
  update: 0,
  delete: 0,
  clear: 0,
  properties: 0,
  createQueue: 0,
  deleteQueue: 0,
  list: 0,
  other: 0,
});

/** What a queue request is, from its method and path (`/{account}/{queue}/messages/{id}`) as the Queue REST API defines them. */
export function queueOperationOf(method: string, url: URL): { operation: QueueOperation; queue: string | null } {
  const [, queue, messages, messageId] = url.pathname.split('/').filter(Boolean);
  const comp = url.searchParams.get('comp');
  if (!queue) return { operation: comp === 'list' ? 'list' : 'other', queue: null };
  if (!messages) {
    if (method === 'PUT' && !comp) return { operation: 'createQueue', queue };
    if (method === 'DELETE') return { operation: 'deleteQueue', queue };
    if (comp === 'metadata') return { operation: 'properties', queue };
    return { operation: 'other', queue };
  }
  if (messageId) {
    if (method === 'DELETE') return { operation: 'delete', queue };
    if (method === 'PUT') return { operation: 'update', queue };
    return { operation: 'other', queue };
  }
  if (method === 'POST') return { operation: 'send', queue };
  if (method === 'DELETE') return { operation: 'clear', queue };
  if (method === 'GET') return { operation: url.searchParams.get('peekonly') === 'true' ? 'peek' : 'receive', queue };
  return { operation: 'other', queue };
}

/** The message of a Put Message body (`<QueueMessage><MessageText>…</MessageText></QueueMessage>`), decoded when it is JSON. */
export function decodeSentMessage(xml: string): Record<string, unknown> | null {
  const match = /<MessageText>([\s\S]*?)<\/MessageText>/u.exec(xml);
  if (!match) return null;
  const text = match[1]!.replace(/&lt;/gu, '<').replace(/&gt;/gu, '>').replace(/&quot;/gu, '"').replace(/&apos;/gu, "'").replace(/&amp;/gu, '&');
  for (const candidate of [Buffer.from(text, 'base64').toString('utf8'), text]) {
    try {
      const parsed = JSON.parse(candidate) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // Not this encoding.
    }
  }
  return null;
}

/** Azure Storage's answer when it cannot serve a request (the body format each service uses for errors). */
function serverBusy(service: StorageService, response: ServerResponse): void {
  const requestId = randomUUID();
  const message = `The server is busy.\nRequestId:${requestId}\nTime:${new Date().toISOString()}`;
  const headers = { 'x-ms-error-code': 'ServerBusy', 'x-ms-request-id': requestId, 'x-ms-version': '2021-12-02' };
  if (service === 'table') {
    response
      .writeHead(503, { ...headers, 'Content-Type': 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8' })
      .end(JSON.stringify({ 'odata.error': { code: 'ServerBusy', message: { lang: 'en-US', value: message } } }));
  } else {
    response
      .writeHead(503, { ...headers, 'Content-Type': 'application/xml' })
      .end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>${message}</Message></Error>`);
  }
}

export async function startFaultProxy(upstream: AzuritePorts): Promise<FaultProxy> {
  // No socket limit: the proxy must not queue what the clients send at once.
  const agent = new Agent({ keepAlive: true });
  const downUntil: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };
  const counters: ProxyCounters = {
    requests: { blob: 0, queue: 0, table: 0 },
    refused: { blob: 0, queue: 0, table: 0 },
    queueOperations: emptyOperations(),
    byQueue: new Map(),
    byTable: new Map(),
  };
  const sent: SentMessage[] = [];
  const isDown = (service: StorageService): boolean => Date.now() < downUntil[service];

  function handler(service: StorageService) {
    return (incoming: IncomingMessage, outgoing: ServerResponse): void => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', () => outgoing.destroy());
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const method = (incoming.method ?? 'GET').toUpperCase();
        const refused = isDown(service);
        counters.requests[service] += 1;
        if (refused) counters.refused[service] += 1;
        if (service === 'queue') {
          const url = new URL(incoming.url ?? '/', 'http://proxy');
          const { operation, queue } = queueOperationOf(method, url);
          counters.queueOperations[operation] += 1;
          if (queue) {
            const perQueue = counters.byQueue.get(queue) ?? emptyOperations();
            perQueue[operation] += 1;
            counters.byQueue.set(queue, perQueue);
            if (operation === 'send') {
              sent.push({
                queue,
                at: Date.now(),
                body: decodeSentMessage(body.toString('utf8')),
                delaySeconds: Number(url.searchParams.get('visibilitytimeout') ?? 0),
                refused,
              });
            }
          }
        }
        if (service === 'table') {
          const [, table = ''] = new URL(incoming.url ?? '/', 'http://proxy').pathname.split('/').filter(Boolean);
          // `Table(PartitionKey='p',RowKey='r')` is one entity, `Table()` a query.
          const key = `${method} ${table.replace(/\(.+\)$/u, '(key)')}`;
          counters.byTable.set(key, (counters.byTable.get(key) ?? 0) + 1);
        }
        if (refused) {
          serverBusy(service, outgoing);
          return;
        }
        const forward = (retried: boolean): void => {
          const forwarded = httpRequest(
            { host: '127.0.0.1', port: upstream[service], method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${upstream[service]}` }, agent },
            (answer) => {
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(outgoing);
            },
          );
          forwarded.on('error', (error: NodeJS.ErrnoException) => {
            // A kept-alive connection Azurite closed just as it was reused: send again on a new one (the proxy's
            // own race, which a client talking to storage directly would not see).
            if (!retried && forwarded.reusedSocket && error.code === 'ECONNRESET') return forward(true);
            if (!outgoing.headersSent) outgoing.writeHead(502).end();
            else outgoing.destroy();
          });
          forwarded.end(body);
        };
        forward(false);
      });
    };
  }

  const servers = new Map<StorageService, Server>();
  const ports = { blob: 0, queue: 0, table: 0 } as AzuritePorts;
  for (const service of STORAGE_SERVICES) {
    const server = createServer(handler(service));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    ports[service] = typeof address === 'object' && address ? address.port : 0;
    servers.set(service, server);
  }

  return {
    ports,
    counters,
    sent,
    down(service, forMs) {
      downUntil[service] = forMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + forMs;
    },
    up(service) {
      downUntil[service] = 0;
    },
    isDown,
    async stop() {
      await Promise.all(
        [...servers.values()].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      agent.destroy();
    },
  };
}
