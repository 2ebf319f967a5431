/**
 * LOCAL_HOST_CLOCK_OFFSET_MS (local host only, for tests): runs this process's wall clock that many milliseconds
 * ahead (or behind, when negative), as on a machine whose clock is off. The fault campaign runs one of its hosts
 * 30 s ahead to prove that leases, budgets and holds shared through storage do not rely on instance clocks.
 * Every wall-clock reading of the process moves (`Date.now()`, `new Date()`), the Azure SDK's request dates
 * included, as they would on such a machine; monotonic time (`performance.now()`) does not.
 */
export const CLOCK_OFFSET_SETTING = 'LOCAL_HOST_CLOCK_OFFSET_MS';
const MAX_OFFSET_MS = 24 * 3600_000;

export function clockOffsetMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env[CLOCK_OFFSET_SETTING]?.trim();
  if (!raw) return 0;
  const offset = Number(raw);
  if (!Number.isInteger(offset) || Math.abs(offset) > MAX_OFFSET_MS) {
    throw new Error(`${CLOCK_OFFSET_SETTING} must be a whole number of milliseconds between -${MAX_OFFSET_MS} and ${MAX_OFFSET_MS}, got "${raw}"`);
  }
  return offset;
}

let applied = 0;

/** Shifts the process's wall clock by the setting (once; a second call with another offset is an error). Returns the offset. */
export function applyClockOffset(env: Record<string, string | undefined> = process.env): number {
  const offset = clockOffsetMs(env);
  if (offset === 0 || offset === applied) return offset;
  if (applied !== 0) throw new Error(`${CLOCK_OFFSET_SETTING}: the clock is already ${applied} ms off; it cannot change in a running process`);
  const RealDate = globalThis.Date;
  const realNow = RealDate.now.bind(RealDate);
  class OffsetDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + offset);
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return realNow() + offset;
    }
  }
  globalThis.Date = OffsetDate as DateConstructor;
  applied = offset;
  return offset;
}
