import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { azuriteConnectionString, type RunningAzurite } from '../../dev/azurite';

/**
 * Counts the storage transactions a process makes: a pass-through proxy in front of Azurite's queue and table
 * endpoints, handed to the process under test as its connection string. Every request that reaches storage is
 * one billed transaction in Azure (a failed one included: a 404 read, a 409 insert, a 412 conditional write), so
 * the counts are what the bill counts. Receives that found no message are counted apart: they are the queue
 * trigger's idle polling, a cost per instance-hour rather than per transfer.
 */
export type StorageService = 'queue' | 'table';

export interface StorageCounts {
  /** `${service} ${table or queue} ${operation}` → requests. */
  byOperation: Record<string, number>;
  /** Receives from a queue that returned no message (idle polls), by queue. */
  emptyReceives: Record<string, number>;
}

export interface StorageCounter {
  /** Connection string for the process under test (same account and key, the proxy's endpoints). */
  connectionString: string;
  snapshot(): StorageCounts;
  close(): Promise<void>;
}

/** `queue customer-sync put`, `table CustomerLinks read`, ... from a request to Azurite (path-style URLs). */
export function classify(service: StorageService, method: string, url: string, headers: IncomingMessage['headers']): { target: string; operation: string } {
  const parsed = new URL(url, 'http://storage');
  // /<account>/<resource>[/...]
  const [, , resource = '', ...rest] = decodeURIComponent(parsed.pathname).split('/');
  const query = parsed.searchParams;
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

async function proxy(service: StorageService, upstreamPort: number, counts: StorageCounts): Promise<{ server: Server; port: number }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const { target, operation } = classify(service, method, request.url ?? '/', request.headers);
    const key = `${service} ${target} ${operation}`;
    counts.byOperation[key] = (counts.byOperation[key] ?? 0) + 1;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: upstreamPort, method, path: request.url, headers: request.headers },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        if (operation !== 'receive') {
          reply.pipe(response);
          return;
        }
        // A receive's reply is small; look at it to tell an idle poll from a delivery.
        const chunks: Buffer[] = [];
        reply.on('data', (chunk: Buffer) => chunks.push(chunk));
        reply.on('end', () => {
          const body = Buffer.concat(chunks);
          if (!body.includes('<QueueMessage>')) {
            counts.byOperation[key] = (counts.byOperation[key] ?? 1) - 1;
            counts.emptyReceives[target] = (counts.emptyReceives[target] ?? 0) + 1;
          }
          response.end(body);
        });
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Starts counting proxies in front of `azurite`'s queue and table services for `account`. */
export async function startStorageCounter(azurite: RunningAzurite, account?: string): Promise<StorageCounter> {
  const counts: StorageCounts = { byOperation: {}, emptyReceives: {} };
  const [queue, table] = await Promise.all([proxy('queue', azurite.ports.queue, counts), proxy('table', azurite.ports.table, counts)]);
  return {
    connectionString: azuriteConnectionString({ blob: azurite.ports.blob, queue: queue.port, table: table.port }, account),
    snapshot: () => ({ byOperation: { ...counts.byOperation }, emptyReceives: { ...counts.emptyReceives } }),
    close: async () => {
      await Promise.all(
        [queue.server, table.server].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
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
  return { byOperation: diff(before.byOperation, after.byOperation), emptyReceives: diff(before.emptyReceives, after.emptyReceives) };
}

export const totalOf = (record: Record<string, number>, filter: (key: string) => boolean = () => true): number =>
  Object.entries(record)
    .filter(([key]) => filter(key))
    .reduce((sum, [, value]) => sum + value, 0);
