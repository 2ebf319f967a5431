/**
 * An abort signal that fires after `ms`, as AbortSignal.timeout's does (a TimeoutError DOMException as its reason,
 * an unref'd timer), but whose timer is cleared once the work it bounds has ended. AbortSignal.timeout's timer
 * always runs its course: every request left one behind that later fired, built its DOMException and dispatched
 * an abort nobody listened to, a cost per request measured by the bench (docs/performance.md).
 *
 * `bound(work)` settles with the work or, once the deadline has passed, rejects with the signal's reason even if
 * the work never heard the abort: fetch forwards its signal to the Request it builds through a weakly held
 * controller, so after a garbage collection an abort can go unheard and a hung exchange would never end.
 */
export interface Deadline {
  signal: AbortSignal;
  bound<T>(work: Promise<T>): Promise<T>;
  clear(): void;
}

export function deadline(ms: number): Deadline {
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref?.();
  return {
    signal,
    bound: <T>(work: Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      }),
    clear: () => clearTimeout(timer),
  };
}
