import type { PollResult } from '../../shared/sync/pollChanges';

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
