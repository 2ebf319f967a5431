/**
 * One clock per process: the services take the clock the host gives them (a host whose clock runs ahead, for
 * fault tests with several hosts), and LOCAL_CLOCK_OFFSET_MS is read strictly.
 */
import { offsetClock, systemClock } from '../../shared/clock';
import { getServices, resetServices, useClock } from '../../shared/services';
import { clockOffsetMs } from '../../dev/system';
import { fixedClock } from '../support/clock';

afterEach(() => {
  useClock(systemClock);
  resetServices();
});

test('every service of the process takes the clock the host gives it', () => {
  const clock = fixedClock('2031-06-01T12:00:00Z');
  useClock(clock);
  expect(getServices().clock).toBe(clock);
  expect(getServices().clock.now()).toBe(Date.parse('2031-06-01T12:00:00Z'));
});

test('an offset clock runs ahead of its base by exactly the offset', () => {
  const base = fixedClock('2031-06-01T12:00:00Z');
  expect(offsetClock(30_000, base).now() - base.now()).toBe(30_000);
  expect(offsetClock(0, base)).toBe(base);
});

test('LOCAL_CLOCK_OFFSET_MS: unset is 0, a whole number of milliseconds is taken, anything else is refused with its name', () => {
  expect(clockOffsetMs({})).toBe(0);
  expect(clockOffsetMs({ LOCAL_CLOCK_OFFSET_MS: '30000' })).toBe(30_000);
  expect(clockOffsetMs({ LOCAL_CLOCK_OFFSET_MS: '-5000' })).toBe(-5_000);
  expect(() => clockOffsetMs({ LOCAL_CLOCK_OFFSET_MS: '30s' })).toThrow(/LOCAL_CLOCK_OFFSET_MS/u);
});
