/**
 * Schedules are checked with the rules of the Functions timer (NCRONTAB, six fields), not only with croner (which
 * runs them locally and accepts more): a schedule the settings accept must be one Azure accepts.
 */
import { isNcrontab } from '../../shared/schedule';

test('takes what the Functions timer takes', () => {
  for (const expression of ['0 */5 * * * *', '0 0 * * * *', '0 0 2 * * *', '0 30 9 * Jan Mon', '0 0 9-17/2 * * MON-FRI', '5,35 0 0 1 1-6 0', '0 0 0 31 DEC SAT', '*/15 * * * * *']) {
    expect([expression, isNcrontab(expression)]).toEqual([expression, true]);
  }
});

test('refuses what croner takes but the Functions timer does not, and what is out of range', () => {
  for (const expression of [
    '*/5 * * * *', // five fields
    '0 0 0 L * *', // last day of month (croner)
    '0 0 0 ? * MON', // ? (Quartz)
    '0 0 0 * * 5#2', // nth weekday (croner)
    '0 0 0 15W * *', // nearest weekday (croner)
    '0 0 0 * * 7', // Sunday as 7 (croner), 0 in NCRONTAB
    '60 * * * * *',
    '0 0 24 * * *',
    '0 0 0 0 * *',
    '0 0 0 * 13 *',
    '0 0 0 * FOO *',
    '0 0 5-1 * * *',
    '0 */0 * * * *',
    '@daily',
  ]) {
    expect([expression, isNcrontab(expression)]).toEqual([expression, false]);
  }
});
