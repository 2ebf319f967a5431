/**
 * An abort signal that fires after `ms`, as AbortSignal.timeout's does (a TimeoutError DOMException as its reason,
 * an unref'd timer), but whose timer is cleared once the work it bounds has ended. AbortSignal.timeout's timer
 * always runs its course: every request left one behind that later fired, built its DOMException and dispatched
 * an abort nobody listened to, a cost per request measured by the bench (docs/performance.md).
 */
export function deadline(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref?.();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
