import { Cron } from 'croner';

/**
 * Timer schedules, apart from the rest of the settings: the timer registrations read them when the app
 * starts, and the settings schema (zod) is loaded only on first use.
 */
export const DEFAULT_POLL_SCHEDULE = '0 */5 * * * *';
export const DEFAULT_SUBSCRIPTION_SCHEDULE = '0 0 * * * *';

/** NCRONTAB as the Functions timer trigger takes it: six fields, seconds first. */
export function isNcrontab(expression: string): boolean {
  if (expression.trim().split(/\s+/u).length !== 6) return false;
  try {
    new Cron(expression, { paused: true });
    return true;
  } catch {
    return false;
  }
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
