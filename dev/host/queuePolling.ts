/**
 * How long an idle queue listener waits before polling again, as the Azure Functions queue trigger does it
 * (the WebJobs storage extension's QueueListener with its RandomizedExponentialBackoffStrategy):
 *
 * - a poll that returned messages is followed at once by the next (once no more than `newBatchThreshold`
 *   messages are still being processed), so a busy queue is read without pause;
 * - the first empty poll after messages waits the minimum, 100 ms;
 * - each further empty poll waits 100 ms + 2^(n-1) × 100 ms × a random factor in [0.8, 1.2): about 200, 300,
 *   500, 900, 1,700 ms, ... until host.json `extensions.queues.maxPollingInterval` (default 1 minute), where it
 *   stays until a message is found again.
 *
 * The local host uses this so that the latency measured locally (bench, `npm start`) is what a warm Azure
 * instance with the same host.json would show. It is not the whole Azure behaviour: the Azure host also polls
 * at once when its own output binding or poison handling adds a message to the queue, and an app scaled in to
 * zero instances waits for the scale controller to start one.
 */
export const MIN_POLLING_INTERVAL_MS = 100;
const RANDOMIZATION = 0.2;

export interface PollingDelay {
  /** The wait before the next poll: after a poll that found messages (`foundMessages`) or one that found none. */
  next(foundMessages: boolean): number;
}

export function pollingDelay(maxPollingIntervalMs: number, random: () => number = Math.random): PollingDelay {
  const maximum = Math.max(MIN_POLLING_INTERVAL_MS, maxPollingIntervalMs);
  let current = MIN_POLLING_INTERVAL_MS;
  let exponent = 1;
  // A listener starts as if it had just found messages: its first empty poll waits the minimum.
  let foundSinceLastDelay = true;
  return {
    next(foundMessages) {
      if (foundMessages) {
        foundSinceLastDelay = true;
        return 0;
      }
      if (foundSinceLastDelay) {
        foundSinceLastDelay = false;
        current = MIN_POLLING_INTERVAL_MS;
        exponent = 1;
      } else if (current !== maximum) {
        const factor = 1 - RANDOMIZATION + random() * 2 * RANDOMIZATION;
        const backoff = MIN_POLLING_INTERVAL_MS + factor * 2 ** (exponent - 1) * MIN_POLLING_INTERVAL_MS;
        if (backoff < maximum) {
          current = backoff;
          exponent += 1;
        } else {
          current = maximum;
        }
      }
      return Math.min(current, maximum);
    },
  };
}
