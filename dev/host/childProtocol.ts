import type { TransferEvent } from '../../shared/telemetry';
import type { HostSettings } from './hostSettings';

/** Parent → dev/host/child.ts */
export type HostChildCommand = { type: 'runTimer'; id: number; name: string } | { type: 'stats'; id: number } | { type: 'stop' };

/** dev/host/child.ts → parent */
export type HostChildMessage =
  | { type: 'ready'; url: string; port: number; queues: HostSettings['queues'] }
  | { type: 'failed'; message: string }
  /** TransferCompleted events, each with the host's time (Date.now()) when it was logged; sent in batches every 20 ms. */
  | { type: 'transfers'; arrivals: Array<{ at: number; event: TransferEvent }> }
  | { type: 'log'; level: string; message: string }
  | { type: 'invocation'; functionName: string; succeeded: boolean; durationMs: number }
  | { type: 'timerDone'; id: number; error?: string }
  | { type: 'stats'; id: number; maxRssBytes: number; rssBytes: number; cpuMs: number; invocations: InvocationTotals; logBytes: number; logLines: number };

/**
 * Function executions the host ran, as Flex Consumption bills them: `count` executions, `busyMs` the wall time
 * during which at least one execution was active (what on-demand GB-seconds are measured on), `sumMs` the sum
 * of the executions' own durations (the busy time had they run one at a time).
 */
export interface InvocationTotals {
  count: number;
  byFunction: Record<string, number>;
  busyMs: number;
  sumMs: number;
}
