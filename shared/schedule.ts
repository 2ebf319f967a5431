/**
 * Timer schedules, apart from the rest of the settings: the timer registrations read them when the app
 * starts, and the settings schema (zod) is loaded only on first use. Nothing here loads a library: this is on
 * the cold start's path (docs/performance.md, "Cold start").
 */
export const DEFAULT_POLL_SCHEDULE = '0 */5 * * * *';
export const DEFAULT_SUBSCRIPTION_SCHEDULE = '0 0 * * * *';

/** The six fields of NCRONTAB, seconds first, with the values the Functions timer takes (day of week 0 = Sunday to 6). */
const NCRONTAB_FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

/** One value of a field: a number in range, or (month, day of week) a three-letter name. */
function ncrontabValue(text: string, field: (typeof NCRONTAB_FIELDS)[number]): number | undefined {
  if (/^\d{1,2}$/u.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const names: readonly string[] | undefined = 'names' in field ? field.names : undefined;
  const index = names?.indexOf(text.toUpperCase()) ?? -1;
  return index < 0 ? undefined : field.min + index;
}

/**
 * One field as the Functions timer (NCrontab) reads it: `*`, a value, a range `a-b`, each optionally with a step
 * `/n`, and lists of those. What croner accepts beyond that (`?`, `L`, `W`, `#`, 7 for Sunday) is refused, so a
 * schedule that passes here is one the Functions host takes.
 */
function isNcrontabField(text: string, field: (typeof NCRONTAB_FIELDS)[number]): boolean {
  return text.split(',').every((part) => {
    const match = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d{1,2}))?$/u.exec(part);
    if (!match?.[1]) return false;
    if (match[2] !== undefined && Number(match[2]) < 1) return false;
    if (match[1] === '*') return true;
    const [from, to] = match[1].split('-').map((value) => ncrontabValue(value, field));
    if (from === undefined) return false;
    return !match[1].includes('-') || (to !== undefined && to >= from);
  });
}

/** NCRONTAB as the Functions timer trigger takes it: six fields, seconds first. */
export function isNcrontab(expression: string): boolean {
  const fields = expression.trim().split(/\s+/u);
  if (fields.length !== 6) return false;
  return fields.every((field, index) => isNcrontabField(field, NCRONTAB_FIELDS[index]!));
}

/** A timer schedule for registration time; invalid values fall back to the default and are reported by loadConfig. */
export function scheduleSetting(name: 'POLL_SCHEDULE' | 'SUBSCRIPTION_SCHEDULE', env: Record<string, string | undefined> = process.env): string {
  const fallback = name === 'POLL_SCHEDULE' ? DEFAULT_POLL_SCHEDULE : DEFAULT_SUBSCRIPTION_SCHEDULE;
  const value = env[name]?.trim();
  return value && isNcrontab(value) ? value : fallback;
}

/** RECONCILE_SCHEDULE for registration time: undefined when unset or invalid (loadConfig reports an invalid value). */
export function optionalScheduleSetting(name: 'RECONCILE_SCHEDULE', env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env[name]?.trim();
  return value && isNcrontab(value) ? value : undefined;
}
