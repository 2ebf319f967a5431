import { MIN_POLLING_INTERVAL_MS, pollingDelay } from '../../dev/host/queuePolling';

describe('the local host polls an idle queue as the Azure queue trigger does', () => {
  const middle = (): number => 0.5; // the random factor's midpoint, 1.0

  it('reads again at once after messages, then backs off from 100 ms exponentially up to maxPollingInterval', () => {
    const delay = pollingDelay(60_000, middle);
    expect(delay.next(true)).toBe(0);
    const waits = Array.from({ length: 12 }, () => delay.next(false));
    expect(waits).toEqual([100, 200, 300, 500, 900, 1_700, 3_300, 6_500, 12_900, 25_700, 51_300, 60_000]);
    expect(delay.next(false)).toBe(60_000);
  });

  it('resets to the minimum on the first empty poll after a message', () => {
    const delay = pollingDelay(500, middle);
    expect([delay.next(false), delay.next(false), delay.next(false), delay.next(false), delay.next(false)]).toEqual([100, 200, 300, 500, 500]);
    expect(delay.next(true)).toBe(0);
    expect(delay.next(false)).toBe(MIN_POLLING_INTERVAL_MS);
    expect(delay.next(false)).toBe(200);
  });

  it('randomizes each step by ±20% and never waits beyond maxPollingInterval nor below the minimum', () => {
    const low = pollingDelay(1_000, () => 0);
    const high = pollingDelay(1_000, () => 0.999_999);
    low.next(false);
    high.next(false);
    expect(low.next(false)).toBeCloseTo(180, 5);
    expect(high.next(false)).toBeCloseTo(220, 3);
    const capped = pollingDelay(50, middle);
    expect([capped.next(false), capped.next(false)]).toEqual([MIN_POLLING_INTERVAL_MS, MIN_POLLING_INTERVAL_MS]);
  });
});
