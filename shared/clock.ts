/**
 * The one source of time. Code that decides by time (leases, holds, retries, budgets, records) asks the clock it
 * was given and never `Date.now()` or `new Date()` itself, so a test can run an hour of outage in a moment and a
 * host can be given a clock that runs ahead, without mixing two notions of "now". The composition root
 * (shared/services.ts) builds the real one once per process.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once `ms` of this clock's time have passed (a simulated clock moves itself forward). */
  sleep(ms: number): Promise<void>;
}

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock `offsetMs` ahead of (or, negative, behind) `base`: an instance whose clock is off, as fault tests need. */
export function offsetClock(offsetMs: number, base: Clock = systemClock): Clock {
  if (offsetMs === 0) return base;
  return { now: () => base.now() + offsetMs, sleep: (ms) => base.sleep(ms) };
}

/** The clock's time as a Date. */
export function dateOf(clock: Clock): Date {
  return new Date(clock.now());
}

/** The clock's time as an ISO 8601 string (what records and messages carry). */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
