/**
 * What the sections that drive the product share: the fakes' request counters, bench customers, webhook
 * notifications, and a scenario (notify customers, wait for their transfers, count what it cost).
 */
import { randomUUID } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import type { RunningAzurite } from '../../dev/azurite';
import type { FakeBcCustomer } from '../../dev/fakes/businessCentral';
import type { TransferEvent } from '../../shared/telemetry';
import type { TransferArrival } from '../../dev/host/childProcess';
import type { ProductProcess } from './productProcess';
import type { InvocationTotals } from '../../dev/host/childProtocol';
import { countsBetween, type StorageProxy, type StorageCounts } from '../../dev/storageProxy';
import { count, elapsed, info, judged, sleep, type Figure } from './stats';
import type { BenchWorld } from './world';

export interface Counts {
  bc: number;
  bcGet: number;
  bcList: number;
  ipaas: number;
  ipaasByOperation: Record<string, number>;
}

export function counts(world: BenchWorld): Counts {
  const { businessCentral: bc, ipaas } = world.world;
  const { total, ...byOperation } = ipaas.requests;
  return { bc: bc.requests.total, bcGet: bc.requests.get, bcList: bc.requests.list, ipaas: total, ipaasByOperation: { ...byOperation } };
}

export function countsSince(world: BenchWorld, before: Counts): Counts {
  const now = counts(world);
  const byOperation: Record<string, number> = {};
  for (const [operation, value] of Object.entries(now.ipaasByOperation)) {
    const delta = value - (before.ipaasByOperation[operation] ?? 0);
    if (delta !== 0) byOperation[operation] = delta;
  }
  return { bc: now.bc - before.bc, bcGet: now.bcGet - before.bcGet, bcList: now.bcList - before.bcList, ipaas: now.ipaas - before.ipaas, ipaasByOperation: byOperation };
}

export const describeOperations = (byOperation: Record<string, number>, per: number): string =>
  Object.entries(byOperation)
    .map(([operation, value]) => `${operation} ${count(value / per)}`)
    .join(', ');

let serial = 0;
/** A Business Central Person customer that passes the mapping; with the customer's own address when asked. */
export function createPerson(world: BenchWorld, withAddress: boolean): FakeBcCustomer {
  serial += 1;
  return world.world.businessCentral.upsertCustomer({
    type: 'Person',
    displayName: `Bench Person ${serial}`,
    email: `bench.person.${serial}@contoso.example`,
    ...(withAddress ? { addressLine1: `${serial} Market Square`, city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' } : {}),
  });
}

export function notificationBody(world: BenchWorld, customerIds: readonly string[], changeType: 'created' | 'updated'): string {
  const companyId = world.config.businessCentral.companyId;
  const now = new Date().toISOString();
  return JSON.stringify({
    value: customerIds.map((id) => ({
      subscriptionId: 'bench-subscription',
      clientState: world.config.webhook.clientState,
      expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
      resource: `api/v2.0/companies(${companyId})/customers(${id})`,
      changeType,
      lastModifiedDateTime: now,
    })),
  });
}

export async function postNotification(product: ProductProcess, body: string): Promise<{ status: number; elapsedMs: number }> {
  const started = performance.now();
  const response = await fetch(`${product.url}/api/webhooks/business-central`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-ms-correlation-id': `bench-${randomUUID()}` },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  await response.arrayBuffer();
  return { status: response.status, elapsedMs: elapsed(started) };
}

export async function clearQueues(azurite: RunningAzurite, account?: string): Promise<void> {
  const service = QueueServiceClient.fromConnectionString(azurite.connectionString(account));
  for await (const queue of service.listQueues()) await service.getQueueClient(queue.name).clearMessages();
}

export interface ScenarioResult {
  customers: number;
  counts: Counts;
  arrivals: TransferArrival[];
  outcomes: string;
  /** Storage transactions during the scenario (when the product runs behind the counter). */
  storage?: StorageCounts;
  invocations?: InvocationTotals;
  logBytes?: number;
  /** CPU time of the product process over the scenario. */
  cpuMs?: number;
}

/** Runs `act` and returns what the product did meanwhile: storage transactions, executions, log bytes. */
export async function observed<T>(
  product: ProductProcess,
  counter: StorageProxy | undefined,
  act: () => Promise<T>,
): Promise<{ value: T; storage?: StorageCounts; invocations: InvocationTotals; logBytes: number; cpuMs: number }> {
  const storageBefore = counter?.snapshot();
  const statsBefore = await product.stats();
  const value = await act();
  // Deletes and history writes finish just after the TransferCompleted line: let them land.
  await sleep(300);
  const statsAfter = await product.stats();
  const before = statsBefore.invocations;
  const after = statsAfter.invocations;
  const byFunction: Record<string, number> = {};
  for (const [name, total] of Object.entries(after.byFunction)) if (total - (before.byFunction[name] ?? 0) > 0) byFunction[name] = total - (before.byFunction[name] ?? 0);
  return {
    value,
    ...(counter && storageBefore ? { storage: countsBetween(storageBefore, counter.snapshot()) } : {}),
    invocations: { count: after.count - before.count, byFunction, busyMs: after.busyMs - before.busyMs, sumMs: after.sumMs - before.sumMs },
    logBytes: statsAfter.logBytes - statsBefore.logBytes,
    cpuMs: statsAfter.cpuMs - statsBefore.cpuMs,
  };
}

/** Notifies `customers` through the webhook and waits until each has a transfer; counts what it cost. */
export async function notifiedScenario(
  world: BenchWorld,
  product: ProductProcess,
  customers: readonly FakeBcCustomer[],
  changeType: 'created' | 'updated',
  counter?: StorageProxy,
  timeoutMs = 2 * 60_000,
): Promise<ScenarioResult> {
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  const before = counts(world);
  const { value: arrivals, storage, invocations, logBytes, cpuMs } = await observed(product, counter, async () => {
    const { status } = await postNotification(product, notificationBody(world, [...ids], changeType));
    if (status !== 202) throw new Error(`the webhook answered ${status}`);
    return product.waitForTransfers((event) => ids.has(event.customerId), ids.size, { since, timeoutMs, what: `the transfers of ${ids.size} notified customers` });
  });
  return { customers: ids.size, counts: countsSince(world, before), arrivals, outcomes: outcomesOf(arrivals.map((arrival) => arrival.event)), ...(storage ? { storage } : {}), invocations, logBytes, cpuMs };
}

export function outcomesOf(events: readonly TransferEvent[]): string {
  const tally = new Map<string, number>();
  for (const event of events) {
    const key = `${event.status}/${event.errorCode ?? event.action ?? '-'}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  return [...tally].map(([key, value]) => `${value} ${key}`).join(', ');
}

export function perCustomerFigures(name: string, result: ScenarioResult, targets: { bc?: number; ipaas?: number }): Figure[] {
  const section = 'requests/customer';
  const bc = result.counts.bc / result.customers;
  const ipaas = result.counts.ipaas / result.customers;
  const note = `${result.customers} customers (${result.outcomes}); iPaaS.com ${describeOperations(result.counts.ipaasByOperation, result.customers) || 'none'}`;
  return [
    targets.bc === undefined ? info(section, `${name}: Business Central`, count(bc), bc) : judged(section, `${name}: Business Central`, bc, count, { max: targets.bc }),
    targets.ipaas === undefined
      ? info(section, `${name}: iPaaS.com`, count(ipaas), ipaas, note)
      : judged(section, `${name}: iPaaS.com`, ipaas, count, { max: targets.ipaas }, note),
  ];
}
