import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Public list prices (USD, region East US, pay-as-you-go, no reservations or discounts) used by the cost model.
 * They are the prices the Azure pricing pages list, as we know them on PRICES_AS_OF; this bench cannot reach
 * those pages, so check them before relying on a total (docs/performance.md, "Cost of a million transfers",
 * names the pages). Change them here; nothing else holds a price.
 */
export const PRICES_AS_OF = '2026-11-27';
export const PRICES = {
  /** Azure Functions Flex Consumption, on-demand execution time, per GB-second of instance memory. */
  flexGbSecond: 0.000026,
  /** Azure Functions Flex Consumption, on-demand executions, per execution ($0.40 per million). */
  flexExecution: 0.4 / 1_000_000,
  /** Queue Storage, general-purpose v2, LRS: class 1 and class 2 operations alike, per operation ($0.004 per 10,000). */
  queueOperation: 0.004 / 10_000,
  /** Table Storage, LRS: per transaction ($0.00036 per 10,000). */
  tableTransaction: 0.00036 / 10_000,
  /** Azure Monitor Log Analytics (Application Insights), Analytics logs ingestion, per GB. */
  logIngestionGb: 2.3,
} as const;

/** Monthly free grants that the totals leave out (they are per subscription, not per transfer). */
export const FREE_GRANTS = 'Flex Consumption on-demand: 100,000 GB-s and 250,000 executions a month per subscription; Log Analytics: 5 GB a month per billing account';

/** The instance memory the deployment uses: infra/main.bicep `param instanceMemoryMB int = …`. */
export function deployedInstanceMemoryMb(root: string): number {
  const bicep = readFileSync(path.join(root, 'infra', 'main.bicep'), 'utf8');
  const match = /param\s+instanceMemoryMB\s+int\s*=\s*(\d+)/u.exec(bicep);
  if (!match) throw new Error('infra/main.bicep has no default for instanceMemoryMB');
  return Number(match[1]);
}

/** Counted operations per transfer (averages over a scenario's transfers). */
export interface PerTransfer {
  queueOperations: number;
  tableTransactions: number;
  executions: number;
  /** Wall seconds with at least one execution active, per transfer. */
  busySeconds: number;
  logBytes: number;
}

export interface CostBreakdown {
  functions: number;
  storage: number;
  logs: number;
  total: number;
}

/** US$ for one million transfers of the given shape, on instances of `instanceMemoryMb`, before free grants. */
export function costPerMillion(perTransfer: PerTransfer, instanceMemoryMb: number): CostBreakdown {
  const million = 1_000_000;
  const gbSeconds = perTransfer.busySeconds * (instanceMemoryMb / 1024);
  const functions = million * (gbSeconds * PRICES.flexGbSecond + perTransfer.executions * PRICES.flexExecution);
  const storage = million * (perTransfer.queueOperations * PRICES.queueOperation + perTransfer.tableTransactions * PRICES.tableTransaction);
  const logs = million * (perTransfer.logBytes / 1024 ** 3) * PRICES.logIngestionGb;
  return { functions, storage, logs, total: functions + storage + logs };
}

export const dollars = (value: number): string => `US$ ${value < 10 ? value.toFixed(2) : value.toFixed(1)}`;
