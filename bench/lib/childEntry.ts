import type { ChildProgress } from './protocol';

/** What a reporting child sends its parent: progress now and then, then its one `done` (or `failed`) message. */
export type Send<M> = (message: M | ChildProgress) => void;

/**
 * The body of a bench child (bench/floor.ts, initialLoad.ts, reconcile.ts): runs `main` with a sender to the
 * parent, turns a thrown error into a `failed` message, and disconnects either way so the child exits by itself.
 */
export function runAsBenchChild<M extends { type: 'done' }>(main: (send: Send<M>) => Promise<void>): void {
  const send: Send<M | { type: 'failed'; message: string }> = (message) => {
    process.send?.(message);
  };
  main(send)
    .then(() => process.disconnect?.())
    .catch((error: unknown) => {
      send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    });
}
