/**
 * The app's queue names, in a module of their own with no imports: the function registrations need them at
 * start, and the modules that define the messages (and load zod) are loaded only on first use.
 */
export const SYNC_QUEUE = 'customer-sync';
export const POISON_QUEUE = 'customer-sync-poison';
/** Work that needs Business Central reads, handed from the webhook and the subscription timer to catchUpWorker. */
export const CATCH_UP_QUEUE = 'customer-catchup';
/** Drives reconciliation runs: one message per few minutes of work, `{ runId }`. */
export const RECONCILE_QUEUE = 'reconcile';
