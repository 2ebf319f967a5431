import { constants, PerformanceObserver } from 'node:perf_hooks';

/**
 * Memory of a bench child while it works: the peak heap used (a 50 ms sampler, garbage included) and the live heap,
 * read just after each full (mark-compact) collection, at its highest: what the work really keeps. Peak RSS beyond
 * the live heap is garbage V8 let accumulate before collecting, and the runtime's own memory.
 */
export interface MemoryWatch {
  peakHeapUsedBytes(): number;
  /** Highest heap used seen right after a full collection; 0 when none ran. */
  peakLiveHeapBytes(): number;
  fullCollections(): number;
  stop(): void;
  /** One line: peak RSS so far, peak heap used, live heap after full collections. */
  describe(): string;
}

const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;

export function watchMemory(): MemoryWatch {
  let peakHeap = 0;
  let peakLive = 0;
  let full = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      full += 1;
      peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    peakHeapUsedBytes: () => peakHeap,
    peakLiveHeapBytes: () => peakLive,
    fullCollections: () => full,
    stop() {
      clearInterval(sampler);
      observer.disconnect();
    },
    describe: () =>
      `peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)}, peak heap used ${mb(peakHeap)}, live heap after ${full} full collections at most ${mb(peakLive)}`,
  };
}
