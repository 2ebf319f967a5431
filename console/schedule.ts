/**
 * Timer schedules as people read them ("Every 5 minutes"), with the NCRONTAB itself kept in a tooltip. Azure
 * Functions timers use six-field NCRONTAB (`{second} {minute} {hour} {day} {month} {day-of-week}`), which cronstrue
 * reads with the seconds first. Times are UTC: Azure runs timers in UTC here (WEBSITE_TIME_ZONE is not available on
 * Flex Consumption), so a description with a time of day says so. No DOM here: test/console/schedule.test.ts runs it.
 */
import { toString as describeCron } from 'cronstrue';

/** The schedule in words, or null when it cannot be read (then the NCRONTAB is shown as it is). */
export function scheduleInWords(ncrontab: string): string | null {
  const fields = ncrontab.trim().split(/\s+/u);
  // NCRONTAB has six fields; five would be read by cronstrue as minutes first, which is not what the timer does.
  if (fields.length !== 6) return null;
  try {
    const words = describeCron(fields.join(' '), { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
    return /\b\d{2}:\d{2}\b/u.test(words) ? `${words} (UTC)` : words;
  } catch {
    return null;
  }
}
