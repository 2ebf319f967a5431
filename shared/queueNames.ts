/**
 * The app's queue names, in a module of their own with no imports: the function registrations need them at
 * start, and the modules that define the messages (and load zod) are loaded only on first use. Every queue the
 * Functions host can create is named here (ALL_QUEUES), and each has a reader or, for the last line of poison
 * queues, a sweeper and an alert (docs/reliability.md, "No message left behind").
 */
export const SYNC_QUEUE = 'customer-sync';
export const POISON_QUEUE = 'customer-sync-poison';
/** Work that needs Business Central reads, handed from the webhook and the subscription timer to catchUpWorker. */
export const CATCH_UP_QUEUE = 'customer-catchup';
/** Drives reconciliation runs: one message per few minutes of work, `{ runId }`. */
export const RECONCILE_QUEUE = 'reconcile';

/** Where the host moves a message of `queue` after maxDequeueCount failed deliveries (the queue trigger's rule). */
export function poisonQueueOf(queue: string): string {
  return `${queue}-poison`;
}

/** customer-catchup's poison queue, read by catchUpPoisonWorker. */
export const CATCH_UP_POISON_QUEUE = 'customer-catchup-poison';
/** reconcile's poison queue, read by reconcilePoisonWorker. */
export const RECONCILE_POISON_QUEUE = 'reconcile-poison';

/**
 * The poison queues of the three poison readers: a message lands there only when its reader failed 5 times (the
 * queue itself refusing the reader's own re-send). Nothing triggers on them; the sweepPoisonQueues timer moves
 * their messages back to the queue they came from and reports how many it found (an alert counts them).
 */
export const SYNC_POISON_POISON_QUEUE = 'customer-sync-poison-poison';
export const CATCH_UP_POISON_POISON_QUEUE = 'customer-catchup-poison-poison';
export const RECONCILE_POISON_POISON_QUEUE = 'reconcile-poison-poison';

/** Each last-line poison queue and the poison queue its messages go back to. */
export const SWEPT_QUEUES: ReadonlyArray<{ from: string; to: string }> = [
  { from: SYNC_POISON_POISON_QUEUE, to: POISON_QUEUE },
  { from: CATCH_UP_POISON_POISON_QUEUE, to: CATCH_UP_POISON_QUEUE },
  { from: RECONCILE_POISON_POISON_QUEUE, to: RECONCILE_POISON_QUEUE },
];

/** Every queue the app or its host can create: the infrastructure creates exactly these. */
export const ALL_QUEUES: readonly string[] = [
  SYNC_QUEUE,
  POISON_QUEUE,
  SYNC_POISON_POISON_QUEUE,
  CATCH_UP_QUEUE,
  CATCH_UP_POISON_QUEUE,
  CATCH_UP_POISON_POISON_QUEUE,
  RECONCILE_QUEUE,
  RECONCILE_POISON_QUEUE,
  RECONCILE_POISON_POISON_QUEUE,
];
