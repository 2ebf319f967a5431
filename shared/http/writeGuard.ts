import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A check that must pass before any request that writes (every method but GET) is sent, attempt by attempt, the
 * HTTP client's own retries included: a transfer runs its writes under the check of its lease (fencing), so a
 * retry that would go out after the lease was lost is never sent. Carried by async context, so the API clients
 * need no parameter for it; requests outside a guarded call are not checked.
 */
const guards = new AsyncLocalStorage<() => Promise<void>>();

/** Runs `work` with `guard` checked before each of its writing requests (a guard throws to stop the request). */
export function withWriteGuard<T>(guard: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  return guards.run(guard, work);
}

/** Called by the HTTP client right before it sends a writing request. */
export async function checkWriteGuard(): Promise<void> {
  const guard = guards.getStore();
  if (guard) await guard();
}
