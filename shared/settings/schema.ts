/**
 * The settings schema: every app setting, its default and its rule (zod), read in one pass so one error names
 * every bad setting. Also the rules other modules reuse: https URLs, ISO timestamps, the Business Central credential.
 */
import { z } from 'zod';
import { GUID_PATTERN } from '../guid';
import { DEFAULT_IPAAS_ADDRESS_COLLECTION, IPAAS_ADDRESS_MODES } from '../ipaas/paths';
import { Cron } from 'croner';
import { DEFAULT_POLL_SCHEDULE, DEFAULT_SUBSCRIPTION_SCHEDULE, isNcrontab } from '../schedule';
import { consoleAccessSetting } from './consoleAccess';
import { isNone } from './webhookUrl';

export const DEFAULT_BC_API_BASE_URL = 'https://api.businesscentral.dynamics.com/v2.0';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/**
 * How the app proves itself to Entra ID for Business Central: `clientSecret` (BC_CLIENT_SECRET, e.g. locally),
 * or `managedIdentity`: the app's managed identity gets a token for the token-exchange audience, and the app
 * registration trusts it through a federated credential (no secret to store or rotate).
 */
export const BC_CREDENTIALS = ['clientSecret', 'managedIdentity'] as const;
export type BcCredentialKind = (typeof BC_CREDENTIALS)[number];

const required = (message = 'is required') => z.string({ error: message }).trim().min(1, message);

/** localhost, 127.0.0.0/8 and ::1: the only hosts a remote URL may reach over plain http (local fakes, tunnels). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/gu, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127(?:\.\d{1,3}){3}$/u.test(host) || host === '::1';
}

/** https, or http to a loopback host only: tokens and customer data never travel in clear text. */
const httpsUrl = z
  .string()
  .trim()
  .superRefine((value, context) => {
    const url = URL.canParse(value) ? new URL(value) : undefined;
    const problem = !url || !/^https?:$/u.test(url.protocol)
      ? 'must be an https URL'
      : url.protocol !== 'https:' && !isLoopbackHost(url.hostname)
        ? 'must be an https URL (plain http is accepted for localhost / 127.0.0.1 only)'
        : url.username !== '' || url.password !== ''
          ? 'must not carry a user name or password'
          : undefined;
    if (problem) context.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => value.replace(/\/+$/u, ''));

/**
 * An ISO 8601 date (2026-01-01) or date-time with seconds optional and a zone (Z or ±hh:mm), a real
 * calendar instant: "1", "yesterday" or a local time without zone are refused, though Date.parse takes them.
 */
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/u;
export function isIsoTimestamp(value: string): boolean {
  const match = ISO_TIMESTAMP.exec(value);
  if (!match) return false;
  const [, year, month, day, hour = '0', minute = '0', second = '0'] = match;
  if (Number(month) < 1 || Number(month) > 12 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return false;
  const days = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(day) < 1 || Number(day) > days) return false;
  return !Number.isNaN(Date.parse(value));
}
const ncrontab = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine(runnableNcrontab, 'must be a six-field NCRONTAB expression such as "0 */5 * * * *"');
/** NCRONTAB (the Functions timer's rules) that croner, which runs the timers locally, takes too. */
function runnableNcrontab(expression: string): boolean {
  if (!isNcrontab(expression)) return false;
  try {
    new Cron(expression, { paused: true });
    return true;
  } catch {
    return false;
  }
}
const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback);

export const settingsSchema = z.object({
  AzureWebJobsStorage: z.string().trim().optional(),
  AzureWebJobsStorage__accountName: z.string().trim().optional(),
  BC_TENANT_ID: required(),
  BC_CLIENT_ID: required(),
  BC_CREDENTIAL: z.enum(BC_CREDENTIALS, { error: `must be one of ${BC_CREDENTIALS.join(', ')}` }).optional(),
  BC_CLIENT_SECRET: z.string().trim().optional(),
  BC_ENVIRONMENT: required(),
  // Exactly one of BC_COMPANY_ID and BC_COMPANIES; checked together in loadCompanies.
  BC_COMPANY_ID: z.string().trim().regex(GUID_PATTERN, 'must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301').optional(),
  BC_COMPANIES: z.string().optional(),
  BC_API_BASE_URL: httpsUrl.default(DEFAULT_BC_API_BASE_URL),
  AZURE_AUTHORITY_HOST: z
    .string()
    .trim()
    .default(DEFAULT_AUTHORITY_HOST)
    .refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', 'must be an https URL (the identity library accepts no other)')
    .transform((value) => value.replace(/\/+$/u, '')),
  IPAAS_API_BASE_URL: required().pipe(httpsUrl),
  // Required unless every company names its own token setting (BC_COMPANIES ipaasApiTokenSetting); checked in loadCompanies.
  IPAAS_API_TOKEN: z.string().trim().optional(),
  IPAAS_SYSTEM_ID: z
    .string()
    .trim()
    .regex(/^[1-9]\d{0,14}$/u, 'must be a whole number greater than 0: the id of your Business Central system in GET /subscriptions/v2/Subscriptions (see README "Going live")')
    .transform(Number)
    .optional(),
  IPAAS_EXTERNAL_ID_SOURCE: z.enum(['number', 'id'], { error: 'must be "number" (the customer number, default) or "id" (the customer GUID)' }).default('number'),
  IPAAS_PATHS: z.string().optional(),
  IPAAS_CLIENT_ID: z
    .string()
    .trim()
    .max(200, 'must be at most 200 characters')
    .regex(/^[\x21-\x7e]+$/u, 'must be printable ASCII without spaces: it is sent as the header X-Client-Id (your iPaaS.com company client id)')
    .optional(),
  IPAAS_ADDRESS_MODE: z
    .enum(IPAAS_ADDRESS_MODES, {
      error: 'must be "separate" (each address posted to the addAddress path, the default) or "nested" (the addresses travel inside the customer\'s create/update body); `npm run doctor` tells which your tenant documents',
    })
    .default('separate'),
  IPAAS_ADDRESS_COLLECTION: z
    .string()
    .trim()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/u, 'must be the JSON field name of the customer\'s address collection, such as addresses')
    .default(DEFAULT_IPAAS_ADDRESS_COLLECTION),
  WEBHOOK_CLIENT_STATE: required().min(16, 'must be at least 16 characters (it is the only shared secret of the webhook)'),
  // `none` turns the webhook off (polling only) where a default would apply.
  WEBHOOK_NOTIFICATION_URL: z.preprocess((value) => (isNone(value) ? undefined : value), httpsUrl.optional()),
  POLL_SCHEDULE: ncrontab(DEFAULT_POLL_SCHEDULE),
  SUBSCRIPTION_SCHEDULE: ncrontab(DEFAULT_SUBSCRIPTION_SCHEDULE),
  POLL_START_FROM: z
    .string()
    .trim()
    .refine(isIsoTimestamp, 'must be an ISO timestamp such as 2026-01-01T00:00:00Z (a date-time needs its zone, Z or +01:00)')
    .refine((value) => !isIsoTimestamp(value) || Date.parse(value) <= Date.now() + 24 * 3600_000, 'must not be in the future')
    .optional(),
  POLL_OVERLAP_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(86_400, 'must be at most 86400 seconds (a day)')
    .default(120),
  RECONCILE_SCHEDULE: z
    .string()
    .trim()
    .refine(runnableNcrontab, 'must be a six-field NCRONTAB expression such as "0 0 2 * * *" (daily at 02:00 UTC), or unset for no scheduled reconciliation')
    .optional(),
  TRANSFER_RETENTION_DAYS: z.coerce
    .number({ error: 'must be a number of days' })
    .int('must be a whole number of days')
    .min(1, 'must be at least 1 day')
    .max(36_500, 'must be at most 36500 days')
    .default(90),
  HTTP_TIMEOUT_MS: positiveInt(30_000),
  HTTP_MAX_ATTEMPTS: positiveInt(4),
  HTTP_RETRY_BASE_MS: positiveInt(500),
  HTTP_RETRY_MAX_DELAY_MS: positiveInt(30_000),
  BC_MAX_CONCURRENT_REQUESTS: positiveInt(5),
  BC_SHARED_BUDGET: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
  IPAAS_MAX_CONCURRENT_REQUESTS: positiveInt(10),
  SYNC_LEASE_SECONDS: positiveInt(120),
  OUTAGE_MAX_RETRY_AFTER_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(30, 'must be at least 30 seconds')
    .max(86_400, 'must be at most 86400 seconds (a day: a hold must end long before a queue message expires)')
    .default(900),
  CONSOLE_ACCESS: consoleAccessSetting,
  CUSTOMER_MAPPING_FILE: z.string().trim().optional(),
});

export type Settings = z.infer<typeof settingsSchema>;

/** The name of every setting the app reads, for deployment checks and docs (a new schema entry appears here by itself). */
export type SettingName = keyof Settings;
export const SETTING_NAMES: readonly SettingName[] = Object.keys(settingsSchema.shape) as SettingName[];

export function problemsOf(error: z.ZodError, values: Record<string, string | undefined>): Array<{ setting: string; problem: string }> {
  return error.issues.map((issue) => {
    const setting = String(issue.path[0] ?? '(settings)');
    return { setting, problem: values[setting] === undefined ? 'is required' : issue.message };
  });
}

/**
 * BC_CREDENTIAL, or its default: `clientSecret` when BC_CLIENT_SECRET is set, `managedIdentity` where the
 * platform provides one (IDENTITY_ENDPOINT: Azure Functions and App Service set it), else none (an error).
 */
export function bcCredentialOf(env: Record<string, string | undefined>): BcCredentialKind | undefined {
  const explicit = BC_CREDENTIALS.find((kind) => kind === env.BC_CREDENTIAL?.trim());
  // An invalid BC_CREDENTIAL is reported by the schema; the secret is then judged as if it were absent.
  if (explicit) return explicit;
  if (env.BC_CLIENT_SECRET) return 'clientSecret';
  return env.IDENTITY_ENDPOINT ? 'managedIdentity' : undefined;
}
