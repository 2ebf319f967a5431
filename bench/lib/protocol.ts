import type { HostSettings } from '../../dev/host/hostSettings';
import type { PollResult } from '../../shared/sync/pollChanges';
import type { TransferEvent } from '../../shared/telemetry';

/** Parent → bench/product.ts */
export type ProductCommand = { type: 'runTimer'; id: number; name: string } | { type: 'stats'; id: number } | { type: 'stop' };

/** bench/product.ts → parent */
export type ProductMessage =
  | { type: 'ready'; url: string; queues: HostSettings['queues'] }
  | { type: 'failed'; message: string }
  /** TransferCompleted events, each with the product's time (Date.now()) when it was logged; sent in batches. */
  | { type: 'transfers'; arrivals: Array<{ at: number; event: TransferEvent }> }
  | { type: 'log'; level: string; message: string }
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

/** bench/initialLoad.ts → parent */
export type InitialLoadMessage =
  | {
      type: 'done';
      result: PollResult;
      durationMs: number;
      /** RSS after loading the modules and building the clients, before polling. */
      baselineRssBytes: number;
      /** The process's peak RSS (getrusage maxrss). */
      maxRssBytes: number;
      /** Highest heap used seen by a 50 ms sampler. */
      peakHeapUsedBytes: number;
      /** Highest heap used right after a full collection: what the load keeps alive (bench/lib/memory.ts). */
      peakLiveHeapBytes: number;
      /** Messages in the queue afterwards (approximate count from the service). */
      queued: number;
      /** Bytes of the largest and the mean encoded message, from a sample of the queue. */
      sampleMessageBytes: { max: number; mean: number };
    }
  | { type: 'failed'; message: string };

/** bench/reconcile.ts → parent */
export type ReconcileBenchMessage =
  | {
      type: 'done';
      outcome: string;
      counts: Record<string, number>;
      items: number;
      durationMs: number;
      baselineRssBytes: number;
      maxRssBytes: number;
      peakHeapUsedBytes: number;
      peakLiveHeapBytes: number;
    }
  | { type: 'failed'; message: string };

/** bench/floor.ts → parent */
export type FloorMessage =
  | {
      type: 'done';
      customers: number;
      failures: number;
      /** user + system CPU of the floor process over the measured customers. */
      cpuMs: number;
      durationMs: number;
      maxRssBytes: number;
    }
  | { type: 'failed'; message: string };

/** Any reporting child → parent, now and then: where it stands, so a run stopped at its deadline says how far it got. */
export interface ChildProgress {
  type: 'progress';
  note: string;
}
