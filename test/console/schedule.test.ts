/** The console's schedules in words: six-field NCRONTAB as the timers read it (seconds first), times in UTC. */
import { scheduleInWords } from '../../console/schedule';

describe('scheduleInWords', () => {
  it.each([
    ['0 */5 * * * *', 'Every 5 minutes'],
    ['0 0 * * * *', 'Every hour'],
    ['0 30 2 * * *', 'At 02:30 (UTC)'],
    ['0 0 */6 * * *', 'On the hour, every 6 hours'],
    ['0 15 2 * * 1-5', 'At 02:15, Monday through Friday (UTC)'],
    ['*/30 * * * * *', 'Every 30 seconds'],
    ['  0  */5 * * * * ', 'Every 5 minutes'],
  ])('%s → %s', (ncrontab, words) => {
    expect(scheduleInWords(ncrontab)).toBe(words);
  });

  it('reads the first field as seconds: a five-field cron is not an NCRONTAB and is not put in words', () => {
    expect(scheduleInWords('*/5 * * * *')).toBeNull();
  });

  it('gives up (null: the page shows the NCRONTAB as it is) on what it cannot read', () => {
    expect(scheduleInWords('0 0 25 * * *')).toBeNull();
    expect(scheduleInWords('every five minutes')).toBeNull();
    expect(scheduleInWords('')).toBeNull();
  });
});
