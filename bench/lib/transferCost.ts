/** Storage transactions and Azure cost per transfer of a counted scenario (docs/performance.md, "Cost of a million transfers"). */
import { costPerMillion, dollars, type CostBreakdown, type PerTransfer } from './cost';
import type { ScenarioResult } from './scenario';
import { totalOf, type StorageCounts } from '../../dev/storageProxy';
import { count, info, judged, ratio, type Figure } from './stats';

/** Table names → what they hold, for the breakdown of storage transactions. */
const TABLE_ROLES: Record<string, string> = { SyncState: 'lease', CustomerLinks: 'link', CustomerTransfers: 'history', TransfersByTime: 'index' };

/** Storage transactions of a scenario per transfer, by part (lease, link, history, index, queue). */
export function storagePerTransfer(storage: StorageCounts, transfers: number): { total: number; queue: number; table: number; parts: string } {
  const parts = new Map<string, number>();
  let queue = 0;
  let table = 0;
  for (const [key, value] of Object.entries(storage.byOperation)) {
    const [service, target, operation] = key.split(' ') as [string, string, string];
    if (service === 'queue') {
      queue += value;
      const part = `queue ${operation}`;
      parts.set(part, (parts.get(part) ?? 0) + value);
    } else {
      table += value;
      const part = `${TABLE_ROLES[target] ?? target} ${operation}`;
      parts.set(part, (parts.get(part) ?? 0) + value);
    }
  }
  const describe = [...parts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([part, value]) => `${part} ${count(value / transfers)}`)
    .join(', ');
  return { total: (queue + table) / transfers, queue: queue / transfers, table: table / transfers, parts: describe };
}

/** Round trip of one storage transaction from a Function App to its storage account in the same region (assumed). */
export const STORAGE_LATENCY_MS = 10;

/**
 * Storage transactions, executions and cost per transfer of a counted scenario. Execution time is modelled from
 * counts, not taken from wall time on this shared machine: one transfer keeps an execution active for its API
 * calls (requests × the simulated latency), the storage transactions made inside the execution (× STORAGE_LATENCY_MS)
 * and the product's CPU time per transfer. Flex Consumption bills the instance while at least one execution is
 * active, so transfers that overlap share it: the batched figure scales the one-at-a-time time by the overlap this
 * run measured (wall time with an execution active / sum of execution times, a ratio the machine's load moves little).
 */
export function costFigures(name: string, result: ScenarioResult, memoryMb: number, latencyMs: number, targets: { transactions?: number; dollars?: number }): Figure[] {
  if (!result.storage || !result.invocations) return [];
  const transfers = result.customers;
  const storage = storagePerTransfer(result.storage, transfers);
  const receives = totalOf(result.storage.byOperation, (key) => key.startsWith('queue ') && key.endsWith(' receive')) / transfers;
  const hostSide = receives + totalOf(result.storage.byOperation, (key) => key.startsWith('queue ') && (key.endsWith(' delete') || key.endsWith(' update'))) / transfers;
  const webhookExecutions = result.invocations.byFunction.businessCentralWebhook ?? 0;
  const executions = result.invocations.count / transfers;
  const apiRequests = (result.counts.bc + result.counts.ipaas) / transfers;
  const cpuMs = (result.cpuMs ?? 0) / transfers;
  const busyMs = apiRequests * latencyMs + (storage.total - hostSide) * STORAGE_LATENCY_MS + cpuMs;
  const overlap = Math.min(1, result.invocations.sumMs > 0 ? result.invocations.busyMs / result.invocations.sumMs : 1);
  const executionNote = Object.entries(result.invocations.byFunction)
    .map(([fn, total]) => `${fn} ${total}`)
    .join(', ');
  const figures: Figure[] = [
    targets.transactions === undefined
      ? info('storage', `${name}: storage transactions per transfer`, count(storage.total), storage.total, storage.parts)
      : judged('storage', `${name}: storage transactions per transfer`, storage.total, count, { max: targets.transactions }, storage.parts),
  ];
  const logBytes = (result.logBytes ?? 0) / transfers;
  const batched: PerTransfer = { queueOperations: storage.queue, tableTransactions: storage.table, executions, busySeconds: (busyMs * overlap) / 1000, logBytes };
  // One at a time: a notification and a receive of its own for each transfer.
  const single: PerTransfer = {
    queueOperations: storage.queue - receives + 1,
    tableTransactions: storage.table,
    executions: executions - webhookExecutions / transfers + (webhookExecutions > 0 ? 1 : 0),
    busySeconds: busyMs / 1000,
    logBytes,
  };
  const [costBatched, costSingle] = [costPerMillion(batched, memoryMb), costPerMillion(single, memoryMb)];
  const describeCost = (cost: CostBreakdown, shape: PerTransfer): string =>
    `Functions ${dollars(cost.functions)} (${count(shape.executions)} executions, ${(shape.busySeconds * 1000).toFixed(1)} ms active × ${memoryMb} MB), ` +
    `storage ${dollars(cost.storage)} (${count(shape.queueOperations)} queue + ${count(shape.tableTransactions)} table), app logs ${dollars(cost.logs)} (${Math.round(shape.logBytes)} B)`;
  const model = `active time per transfer ${busyMs.toFixed(1)} ms = ${count(apiRequests)} API requests × ${latencyMs} ms + ${count(storage.total - hostSide)} storage transactions × ${STORAGE_LATENCY_MS} ms + ${cpuMs.toFixed(1)} ms CPU`;
  figures.push(
    targets.dollars === undefined
      ? info('cost per 1,000,000', `${name}, ${transfers} per notification`, dollars(costBatched.total), costBatched.total, `${describeCost(costBatched, batched)}; overlap ${ratio(overlap)}; ${executionNote}`)
      : judged('cost per 1,000,000', `${name}, ${transfers} per notification`, costBatched.total, dollars, { max: targets.dollars }, `${describeCost(costBatched, batched)}; overlap ${ratio(overlap)}; ${executionNote}`),
    info('cost per 1,000,000', `${name}, one at a time`, dollars(costSingle.total), costSingle.total, `${describeCost(costSingle, single)}; ${model}`),
  );
  return figures;
}

