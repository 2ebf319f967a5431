/**
 * The floor for `npm run bench -- --only floor`: the least work one new customer needs, done with the product's own
 * SDKs and HTTP stack but none of its code paths, in a process of its own so its CPU time is its alone. Per
 * customer: one queue receive (shared by a batch, as the queue trigger's) and delete, one Business Central read,
 * the iPaaS.com search by email, create and external id link, one link row and one history row. No validation
 * beyond JSON.parse, no breaker, no retries, no telemetry, no log lines. The same concurrency as the product: up to
 * batchSize + newBatchThreshold messages at once, Business Central and iPaaS.com capped at their settings.
 *
 * BENCH_FLOOR_MODE=requests makes the same requests the product makes for a new customer (counted by the bench's
 * `counts` section): the customer's and the email's lease (insert, then a conditional delete), the link partition
 * read, the search by number, the record of the create before it is sent, the reverse link, the history row in
 * both tables. Its CPU against the minimal floor is what those requests (the guarantees) cost; the product's
 * against it, what the product's code costs on top.
 *
 * Input: BENCH_FLOOR_INPUT names a JSON file `{ warmup: string[], measured: string[] }` of Business Central
 * customer ids; both sets are enqueued, the warm-up processed first (JIT, connections), then the measured set
 * under process.cpuUsage(). Reports `FloorMessage` over IPC.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { loadHostSettings } from '../dev/host/hostSettings';
import { BUSINESS_CENTRAL_SCOPE } from '../shared/businessCentral/credentials';
import { loadConfig } from '../shared/config';
import { DEFAULT_IPAAS_PATHS, IPAAS_EXTERNAL_ID_TABLE, IPAAS_QUERY, ipaasUrl } from '../shared/ipaas/paths';
import { customerInputToWire, externalIdToWire } from '../shared/ipaas/wire';
import { queueClient, tableClient } from '../shared/storage/connection';
import { runAsBenchChild, type Send } from './lib/childEntry';
import type { FloorMessage } from './lib/protocol';

type Done = Extract<FloorMessage, { type: 'done' }>;

/** A counting semaphore: at most `limit` operations at once, as the product's clients cap each service. */
function limiter(limit: number): <T>(operation: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (operation) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await operation();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

async function main(send: Send<Done>): Promise<void> {
  const input = JSON.parse(readFileSync(process.env.BENCH_FLOOR_INPUT ?? '', 'utf8')) as { warmup: string[]; measured: string[] };
  const config = loadConfig(process.env);
  const host = loadHostSettings(path.resolve(__dirname, '..'));
  const inFlightLimit = host.queues.batchSize + host.queues.newBatchThreshold;
  const queue = queueClient(config.storage, 'bench-floor');
  const requests = process.env.BENCH_FLOOR_MODE === 'requests';
  const links = tableClient(config.storage, 'BenchFloorLinks');
  const history = tableClient(config.storage, 'BenchFloorTransfers');
  const historyByTime = tableClient(config.storage, 'BenchFloorTransfersByTime');
  const state = tableClient(config.storage, 'BenchFloorState');
  await Promise.all([queue.createIfNotExists(), ...[links, history, historyByTime, state].map((table) => table.createTable().catch(() => undefined))]);
  await queue.clearMessages();

  const bc = config.businessCentral;
  const credential = new ClientSecretCredential(bc.tenantId, bc.clientId, bc.clientSecret, { authorityHost: bc.authorityHost, disableInstanceDiscovery: true });
  const token = await credential.getToken(BUSINESS_CENTRAL_SCOPE);
  const bcAuthorization = `Bearer ${token.token}`;
  const customersUrl = `${bc.apiBaseUrl.replace(/\/+$/u, '')}/${bc.tenantId}/${bc.environment}/api/v2.0/companies(${bc.companyId})/customers`;
  const ipaasBase = config.ipaas.apiBaseUrl.replace(/\/+$/u, '');
  const ipaasHeaders = { Accept: 'application/json', Authorization: `Bearer ${config.ipaas.apiToken}`, 'Content-Type': 'application/json' };
  const systemId = config.ipaas.systemId;
  const businessCentral = limiter(config.http.bcMaxConcurrent);
  const ipaas = limiter(config.http.ipaasMaxConcurrent);
  const json = async (response: Response): Promise<unknown> => {
    const text = await response.text();
    if (!response.ok) throw new Error(`${response.url} answered ${response.status}`);
    return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  };

  /** A lease as the product takes one: an insert, released by a delete conditional on the insert's ETag. */
  const lease = async (name: string): Promise<() => Promise<void>> => {
    const rowKey = name.replace(/[^A-Za-z0-9-]/gu, '_');
    const { etag } = await state.createEntity({ partitionKey: 'lease', rowKey, Token: randomUUID(), ExpiresAt: new Date(Date.now() + 120_000).toISOString(), TtlMs: 120_000 });
    return async () => {
      await state.deleteEntity('lease', rowKey, { etag: etag ?? '*' });
    };
  };

  async function transfer(customerId: string): Promise<void> {
    const releases: Array<() => Promise<void>> = [];
    if (requests) {
      releases.push(await lease(`customer-${customerId}`));
      for await (const row of links.listEntities({ queryOptions: { filter: `PartitionKey eq '${customerId}'` } })) void row;
    }
    const customer = (await businessCentral(() => fetch(`${customersUrl}(${customerId})`, { headers: { Accept: 'application/json', Authorization: bcAuthorization } }).then(json))) as {
      number: string;
      displayName: string;
      email: string;
    };
    const query: Array<[string, string]> = [
      [IPAAS_QUERY.action, IPAAS_QUERY.equals],
      [IPAAS_QUERY.emailAddress, customer.email],
    ];
    if (requests) releases.push(await lease(`email-${customer.email.toLowerCase()}`));
    const found = (await ipaas(() => fetch(ipaasUrl(ipaasBase, DEFAULT_IPAAS_PATHS.searchCustomers, {}, query), { headers: ipaasHeaders }).then(json))) as Array<{ id: unknown }>;
    let ipaasId = found[0]?.id;
    if (ipaasId === undefined) {
      if (requests) {
        const byNumber: Array<[string, string]> = [
          [IPAAS_QUERY.action, IPAAS_QUERY.equals],
          [IPAAS_QUERY.customerNumber, customer.number],
        ];
        await ipaas(() => fetch(ipaasUrl(ipaasBase, DEFAULT_IPAAS_PATHS.searchCustomers, {}, byNumber), { headers: ipaasHeaders }).then(json));
        await links.createEntity({ partitionKey: customerId, rowKey: 'create', Creates: JSON.stringify([{ customerNumber: customer.number, sentAt: new Date().toISOString() }]) });
      }
      const body = JSON.stringify(customerInputToWire({ customerNumber: customer.number, firstName: customer.displayName, emailAddress: customer.email }));
      const created = (await ipaas(() => fetch(ipaasUrl(ipaasBase, DEFAULT_IPAAS_PATHS.createCustomer), { method: 'POST', headers: ipaasHeaders, body }).then(json))) as { id: unknown };
      ipaasId = created.id;
      if (requests) await links.createEntity({ partitionKey: `ipaas-${String(ipaasId)}`, rowKey: 'owner', CustomerId: customerId, CustomerNumber: customer.number });
      if (systemId !== undefined) {
        const link = JSON.stringify(externalIdToWire(systemId, IPAAS_EXTERNAL_ID_TABLE, String(ipaasId), customerId));
        await ipaas(() => fetch(ipaasUrl(ipaasBase, DEFAULT_IPAAS_PATHS.updateExternalId), { method: 'POST', headers: ipaasHeaders, body: link }).then(json));
      }
    }
    await links.upsertEntity({ partitionKey: customerId, rowKey: 'link', IpaasCustomerId: String(ipaasId), CustomerNumber: customer.number }, 'Replace');
    for (const release of releases.reverse()) await release();
    const now = new Date().toISOString();
    const row = { Status: 'Succeeded', Action: 'Created', StartedAt: now, FinishedAt: now };
    const transferId = randomUUID();
    if (requests) {
      await Promise.all([
        history.createEntity({ partitionKey: customerId, rowKey: transferId, ...row }),
        historyByTime.createEntity({ partitionKey: now.slice(0, 10), rowKey: `${now}-${transferId}`, CustomerId: customerId, ...row }),
      ]);
    } else await history.createEntity({ partitionKey: customerId, rowKey: transferId, ...row });
  }

  /** Receives and transfers until `count` messages are done, like the queue trigger: a batch, then more once few remain. */
  async function drain(count: number): Promise<number> {
    let done = 0;
    let failures = 0;
    let inFlight = 0;
    let wake: (() => void) | undefined;
    while (done + inFlight < count || inFlight > 0) {
      if (inFlight > host.queues.newBatchThreshold || done + inFlight >= count) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = (await queue.receiveMessages({ numberOfMessages: Math.min(host.queues.batchSize, inFlightLimit - inFlight) })).receivedMessageItems;
      if (batch.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      for (const message of batch) {
        inFlight += 1;
        const { customerId } = JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as { customerId: string };
        void transfer(customerId)
          .then(() => queue.deleteMessage(message.messageId, message.popReceipt))
          .catch(() => {
            failures += 1;
          })
          .finally(() => {
            inFlight -= 1;
            done += 1;
            wake?.();
          });
      }
    }
    return failures;
  }

  const enqueue = async (ids: readonly string[]): Promise<void> => {
    for (let start = 0; start < ids.length; start += 32) {
      await Promise.all(ids.slice(start, start + 32).map((customerId) => queue.sendMessage(Buffer.from(JSON.stringify({ customerId })).toString('base64'))));
    }
  };

  await enqueue(input.warmup);
  const warmupFailures = await drain(input.warmup.length);
  await enqueue(input.measured);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const failures = await drain(input.measured.length);
  const durationMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  send({
    type: 'done',
    customers: input.measured.length,
    failures: failures + warmupFailures,
    cpuMs: (cpu.user + cpu.system) / 1000,
    durationMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  });
}

runAsBenchChild<Done>(main);
