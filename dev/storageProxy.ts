/**
 * A proxy in front of Azurite's storage services, handed to the process under test as its connection string
 * (same account and key, the proxy's endpoints; Shared Key signatures do not cover the host or port). It forwards
 * every request unchanged and:
 *
 * - **counts** what passes, by `service target operation` (`queue customer-sync put`, `table CustomerLinks read`,
 *   `blob request-budget lease`, ...). Every request that reaches storage is one billed transaction in Azure (a
 *   failed one included: a 404 read, a 409 insert, a 412 conditional write), so the counts are what the bill counts.
 *   Receives that found no message are counted apart: they are the queue trigger's idle polling, a cost per
 *   instance-hour rather than per transfer. The bench's request counts come from here;
 * - keeps every message **put** on a queue (decoded when it is JSON), so a test can count a customer's messages;
 * - can make a service **fail** on command: while it is down it answers as Azure Storage does when it cannot
 *   serve, `503 ServerBusy` (x-ms-error-code header, XML body for blob and queue, JSON for table). The fault
 *   campaign (test/faults/campaign.test.ts) takes Table and Queue Storage down this way.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { azuriteConnectionString, type AzuritePorts } from './azurite';

export type StorageService = keyof AzuritePorts;
export const STORAGE_SERVICES: readonly StorageService[] = ['blob', 'queue', 'table'];

export interface StorageCounts {
  /** `${service} ${table, queue or container} ${operation}` → requests (refused ones included). */
  byOperation: Record<string, number>;
  /** Receives from a queue that returned no message (idle polls), by queue. */
  emptyReceives: Record<string, number>;
  /** Requests the proxy answered 503 itself (the service was down), by service. */
  refused: Record<string, number>;
}

export interface PutMessage {
  queue: string;
  /** Milliseconds since the epoch (this process's clock) when the put reached the proxy. */
  at: number;
  /** The message when it was JSON (base64-encoded or not), else null. */
  body: Record<string, unknown> | null;
  /** `visibilitytimeout`: how long it stays invisible. */
  delaySeconds: number;
  /** Whether the proxy refused it (the queue service was down). */
  refused: boolean;
}

export interface StorageProxy {
  /** The ports to reach storage at: the proxy's for the services it stands in front of, Azurite's for the others. */
  ports: AzuritePorts;
  /** Connection string for the process under test (devstoreaccount1 unless `account`). */
  connectionString(account?: string): string;
  snapshot(): StorageCounts;
  /** Every put to a queue, in order. */
  readonly puts: readonly PutMessage[];
  /** Makes `service` answer 503 ServerBusy from now for `forMs` (until `up` when absent). */
  down(service: StorageService, forMs?: number): void;
  up(service: StorageService): void;
  isDown(service: StorageService): boolean;
  close(): Promise<void>;
}

/** `queue customer-sync put`, `table CustomerLinks read`, ... from a request to Azurite (path-style URLs). */
export function classify(service: StorageService, method: string, url: string, headers: IncomingMessage['headers']): { target: string; operation: string } {
  const parsed = new URL(url, 'http://storage');
  // /<account>/<resource>[/...]
  const [, , resource = '', ...rest] = decodeURIComponent(parsed.pathname).split('/');
  const query = parsed.searchParams;
  if (service === 'blob') {
    const comp = query.get('comp');
    const operation = comp === 'lease' ? `lease-${String(headers['x-ms-lease-action'] ?? 'other')}` : comp ?? (method === 'GET' ? 'read' : method.toLowerCase());
    return { target: resource || '(service)', operation };
  }
  if (service === 'queue') {
    const target = resource || '(service)';
    if (rest[0] !== 'messages') return { target, operation: method === 'PUT' ? 'createQueue' : method === 'DELETE' ? 'deleteQueue' : 'properties' };
    if (rest.length === 1) {
      if (method === 'POST') return { target, operation: 'put' };
      if (method === 'DELETE') return { target, operation: 'clear' };
      return { target, operation: query.get('peekonly') === 'true' ? 'peek' : 'receive' };
    }
    return { target, operation: method === 'DELETE' ? 'delete' : method === 'PUT' ? 'update' : method.toLowerCase() };
  }
  if (resource === '$batch') return { target: '(batch)', operation: 'batch' };
  if (resource === 'Tables' || resource.startsWith('Tables(')) return { target: '(tables)', operation: method === 'POST' ? 'createTable' : method === 'DELETE' ? 'deleteTable' : 'listTables' };
  const table = resource.replace(/\(.*$/u, '');
  const entity = /\(PartitionKey=/u.test(resource);
  const conditional = typeof headers['if-match'] === 'string' && headers['if-match'] !== '*';
  const operation =
    method === 'GET'
      ? entity
        ? 'read'
        : 'query'
      : method === 'POST'
        ? 'insert'
        : method === 'PUT'
          ? conditional
            ? 'replaceIfMatch'
            : 'upsert'
          : method === 'MERGE' || method === 'PATCH'
            ? conditional
              ? 'mergeIfMatch'
              : 'merge'
            : method === 'DELETE'
              ? conditional
                ? 'deleteIfMatch'
                : 'delete'
              : method.toLowerCase();
  return { target: table, operation };
}

/** The message of a Put Message body (`<QueueMessage><MessageText>…</MessageText></QueueMessage>`), decoded when it is JSON. */
export function decodePutMessage(xml: string): Record<string, unknown> | null {
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

/** Azure Storage's answer when it cannot serve a request, in the error format of each service. */
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

/** Starts the proxy in front of `upstream` (Azurite's ports) for `services` (default all three). */
export async function startStorageProxy(upstream: AzuritePorts, options: { services?: readonly StorageService[] } = {}): Promise<StorageProxy> {
  // No socket limit: the proxy must not queue what the clients send at once.
  const agent = new Agent({ keepAlive: true });
  const counts: StorageCounts = { byOperation: {}, emptyReceives: {}, refused: {} };
  const puts: PutMessage[] = [];
  const downUntil: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };
  const isDown = (service: StorageService): boolean => Date.now() < downUntil[service];

  function handler(service: StorageService) {
    return (incoming: IncomingMessage, outgoing: ServerResponse): void => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', () => outgoing.destroy());
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const method = (incoming.method ?? 'GET').toUpperCase();
        const { target, operation } = classify(service, method, incoming.url ?? '/', incoming.headers);
        const key = `${service} ${target} ${operation}`;
        counts.byOperation[key] = (counts.byOperation[key] ?? 0) + 1;
        const refused = isDown(service);
        if (service === 'queue' && operation === 'put') {
          const delay = Number(new URL(incoming.url ?? '/', 'http://storage').searchParams.get('visibilitytimeout') ?? 0);
          puts.push({ queue: target, at: Date.now(), body: decodePutMessage(body.toString('utf8')), delaySeconds: delay, refused });
        }
        if (refused) {
          counts.refused[service] = (counts.refused[service] ?? 0) + 1;
          serverBusy(service, outgoing);
          return;
        }
        const forward = (retried: boolean): void => {
          const forwarded = httpRequest(
            { host: '127.0.0.1', port: upstream[service], method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${upstream[service]}` }, agent },
            (reply) => {
              outgoing.writeHead(reply.statusCode ?? 502, reply.headers);
              if (operation !== 'receive') {
                reply.pipe(outgoing);
                return;
              }
              // A receive's reply is small; look at it to tell an idle poll from a delivery.
              const replied: Buffer[] = [];
              reply.on('data', (chunk: Buffer) => replied.push(chunk));
              reply.on('end', () => {
                const answer = Buffer.concat(replied);
                if (!answer.includes('<QueueMessage>')) {
                  counts.byOperation[key] = (counts.byOperation[key] ?? 1) - 1;
                  counts.emptyReceives[target] = (counts.emptyReceives[target] ?? 0) + 1;
                }
                outgoing.end(answer);
              });
            },
          );
          forwarded.on('error', (error: NodeJS.ErrnoException) => {
            // A kept-alive connection Azurite closed just as it was reused: send again on a new one (the proxy's own
            // race, which a client talking to storage directly would not meet).
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

  const servers: Server[] = [];
  const ports: AzuritePorts = { ...upstream };
  for (const service of options.services ?? STORAGE_SERVICES) {
    const server = createServer(handler(service));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    ports[service] = typeof address === 'object' && address ? address.port : 0;
    servers.push(server);
  }

  return {
    ports,
    connectionString: (account) => azuriteConnectionString(ports, account),
    snapshot: () => ({ byOperation: { ...counts.byOperation }, emptyReceives: { ...counts.emptyReceives }, refused: { ...counts.refused } }),
    puts,
    down(service, forMs) {
      downUntil[service] = forMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + forMs;
    },
    up(service) {
      downUntil[service] = 0;
    },
    isDown,
    async close() {
      await Promise.all(
        servers.map(
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

/** What happened between two snapshots (zero entries left out). */
export function countsBetween(before: StorageCounts, after: StorageCounts): StorageCounts {
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const result: Record<string, number> = {};
    for (const [key, value] of Object.entries(b)) {
      const delta = value - (a[key] ?? 0);
      if (delta !== 0) result[key] = delta;
    }
    return result;
  };
  return { byOperation: diff(before.byOperation, after.byOperation), emptyReceives: diff(before.emptyReceives, after.emptyReceives), refused: diff(before.refused, after.refused) };
}

export const totalOf = (record: Record<string, number>, filter: (key: string) => boolean = () => true): number =>
  Object.entries(record)
    .filter(([key]) => filter(key))
    .reduce((sum, [, value]) => sum + value, 0);
