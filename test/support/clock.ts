import type { Clock } from '../../shared/clock';

/**
 * A clock a test moves by hand: `sleep` moves it forward instead of waiting, so minutes pass in a moment. Tests
 * give it to everything under test that asks for time, and never compare its time with the real clock's.
 */
export class ManualClock implements Clock {
  constructor(public time: number) {}

  now = (): number => this.time;
  sleep = async (ms: number): Promise<void> => {
    this.time += Math.max(0, ms);
  };
  /** For fakes that take a `() => Date`. */
  date = (): Date => new Date(this.time);
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A clock stopped at `iso` (a fixed date that the test names, never today's). */
export function fixedClock(iso: string): ManualClock {
  return new ManualClock(Date.parse(iso));
}
