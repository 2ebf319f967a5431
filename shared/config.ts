import { z } from 'zod';
import path from 'node:path';
import { GUID_PATTERN } from './guid';
import { DEFAULT_IPAAS_ADDRESS_COLLECTION, IPAAS_ADDRESS_MODES, parseIpaasPaths, type IpaasAddressMode, type IpaasPaths } from './ipaas/paths';
import { appRoot, DEFAULT_MAPPING_FILE, loadMappingFile, MappingFileError, type CustomerMapping } from './mapping/mappingFile';
import { DEFAULT_POLL_SCHEDULE, DEFAULT_SUBSCRIPTION_SCHEDULE, isNcrontab } from './schedule';

export { DEFAULT_POLL_SCHEDULE, DEFAULT_SUBSCRIPTION_SCHEDULE, isNcrontab, scheduleSetting } from './schedule';

const SETTINGS_HINT = 'Set it in the Function App settings (Azure) or in local.settings.json / the environment (locally).';

export class ConfigError extends Error {
  constructor(
    readonly problems: Array<{ setting: string; problem: string }>,
    hint: string = SETTINGS_HINT,
  ) {
    super(`Invalid configuration: ${problems.map((p) => `${p.setting} ${p.problem}`).join('; ')}. ${hint}`);
    this.name = 'ConfigError';
  }
}

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
    .refine(isNcrontab, 'must be a six-field NCRONTAB expression such as "0 */5 * * * *"');
const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback);

export const CONSOLE_ACCESS_VALUES = ['open', 'signed-in', 'off'] as const;
export type ConsoleAccess = (typeof CONSOLE_ACCESS_VALUES)[number];
const consoleAccessSetting = z.enum(CONSOLE_ACCESS_VALUES, { error: `must be one of ${CONSOLE_ACCESS_VALUES.join(', ')}` }).optional();

const settingsSchema = z.object({
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
    .refine(isNcrontab, 'must be a six-field NCRONTAB expression such as "0 0 2 * * *" (daily at 02:00 UTC), or unset for no scheduled reconciliation')
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

type Settings = z.infer<typeof settingsSchema>;

/** The name of every setting the app reads, for deployment checks and docs (a new schema entry appears here by itself). */
export type SettingName = keyof Settings;
export const SETTING_NAMES: readonly SettingName[] = Object.keys(settingsSchema.shape) as SettingName[];

export interface StorageConfig {
  /** A connection string (including UseDevelopmentStorage=true) ... */
  connectionString?: string;
  /** ... or identity-based access: an account name (AzureWebJobsStorage__accountName) ... */
  accountName?: string;
  /** ... or explicit service URIs (AzureWebJobsStorage__tableServiceUri / __queueServiceUri / __blobServiceUri), which win. */
  tableServiceUri?: string;
  queueServiceUri?: string;
  /** AzureWebJobsStorage__blobServiceUri (reconciliation reports); derived from the account name when absent. */
  blobServiceUri?: string;
  /** Client id of a user-assigned managed identity (AzureWebJobsStorage__clientId). */
  clientId?: string;
  /** `managedidentity` in Azure (AzureWebJobsStorage__credential): the managed identity and nothing else. */
  credential?: 'managedidentity';
}

export interface Config {
  storage: StorageConfig;
  businessCentral: {
    tenantId: string;
    clientId: string;
    /** Which credential reaches Entra ID; `clientSecret` is set only with `clientSecret`. */
    credential: BcCredentialKind;
    clientSecret: string;
    /** `managedIdentity`: client id of the user-assigned identity (AZURE_CLIENT_ID); unset means system-assigned. */
    managedIdentityClientId: string | undefined;
    environment: string;
    companyId: string;
    apiBaseUrl: string;
    authorityHost: string;
  };
  ipaas: {
    apiBaseUrl: string;
    apiToken: string;
    /** iPaaS.com subscription id of the tenant's Business Central system; undefined: customers are not linked by external id. */
    systemId: number | undefined;
    /** What the external id of a customer is: its Business Central number (default) or its GUID. */
    externalIdSource: ExternalIdSource;
    /** Path templates by name, defaults with the IPAAS_PATHS overrides applied. */
    paths: IpaasPaths;
    /** IPAAS_CLIENT_ID: sent as X-Client-Id on every iPaaS.com request when set. */
    clientId: string | undefined;
    /** IPAAS_ADDRESS_MODE: addresses posted one by one (`separate`) or sent inside the customer body (`nested`). */
    addressMode: IpaasAddressMode;
    /** IPAAS_ADDRESS_COLLECTION: the customer body's field holding the address collection (nested mode). */
    addressCollection: string;
  };
  webhook: { clientState: string; notificationUrl: string | undefined };
  /** `overlapMs`: how far before its watermark a poll reads again (POLL_OVERLAP_SECONDS, default 2 minutes). */
  poll: { schedule: string; startFrom: string | undefined; overlapMs: number };
  subscription: { schedule: string };
  /** RECONCILE_SCHEDULE; undefined: no scheduled reconciliation. */
  reconcile: { schedule: string | undefined };
  http: { timeoutMs: number; maxAttempts: number; retryBaseMs: number; retryMaxDelayMs: number; bcMaxConcurrent: number; ipaasMaxConcurrent: number;
    /**
     * BC_SHARED_BUDGET: Business Central requests of every instance share one budget in Table Storage (5 at
     * once, 6,000 per 5 minutes per app registration). Default: on in Azure (WEBSITE_SITE_NAME set), off elsewhere.
     */
    bcSharedBudget: boolean;
  };
  sync: { leaseSeconds: number };
  /**
   * OUTAGE_MAX_RETRY_AFTER_SECONDS: the longest a service is held on a `Retry-After` before the breaker probes it
   * again (a longer one is cut to this). Default 15 minutes.
   */
  outage: { maxRetryAfterMs: number };
  retention: { transferDays: number };
  /** The mapping collection CUSTOMER_MAPPING_FILE names (default: the shipped file), checked and compiled. */
  mapping: MappingConfig;
  /**
   * The Business Central companies this deployment serves (BC_COMPANIES, or the one of BC_COMPANY_ID), in the
   * configured order, never empty. `businessCentral.companyId` is the first one's id.
   */
  companies: CompanyConfig[];
}

/** One company of BC_COMPANIES (or the single company of BC_COMPANY_ID) with its own settings resolved. */
export interface CompanyConfig {
  /** The company's GUID, lower case. */
  id: string;
  /**
   * BC_COMPANIES `name`, used in routes, logs, telemetry and the console. With BC_COMPANY_ID there is no name to
   * read, and none is invented: the name is the id.
   */
  name: string;
  /** Position in BC_COMPANIES (0 for BC_COMPANY_ID). */
  index: number;
  ipaas: {
    /** `ipaasSystemId`, else IPAAS_SYSTEM_ID; undefined: no external id links. */
    systemId: number | undefined;
    /** The token: the setting `ipaasApiTokenSetting` names, else IPAAS_API_TOKEN. Never logged. */
    apiToken: string;
    /** Which setting holds the token (for messages and the doctor): `ipaasApiTokenSetting`, else IPAAS_API_TOKEN. */
    tokenSetting: string;
  };
  /** `mappingFile`, else CUSTOMER_MAPPING_FILE, else the shipped file; checked and compiled. */
  mapping: MappingConfig;
}

export interface MappingConfig {
  /** Absolute path of the file. */
  file: string;
  /** Whether it is the shipped default file. */
  isDefault: boolean;
  mapping: CustomerMapping;
}

export type ExternalIdSource = 'number' | 'id';

export type Environment = Record<string, string | undefined>;

function problemsOf(error: z.ZodError, values: Record<string, string | undefined>): Array<{ setting: string; problem: string }> {
  return error.issues.map((issue) => {
    const setting = String(issue.path[0] ?? '(settings)');
    return { setting, problem: values[setting] === undefined ? 'is required' : issue.message };
  });
}

/** The identity-based service URI settings, by service (Bicep sets all three, from the account's own endpoints). */
export const STORAGE_SERVICE_URI_SETTINGS = {
  blob: 'AzureWebJobsStorage__blobServiceUri',
  queue: 'AzureWebJobsStorage__queueServiceUri',
  table: 'AzureWebJobsStorage__tableServiceUri',
} as const;

/**
 * Storage alone: the webhook and query functions need nothing else. Identity-based access takes the service URIs
 * (`AzureWebJobsStorage__blobServiceUri`, `__queueServiceUri`, `__tableServiceUri`, which hold in every cloud) or,
 * in the public cloud only, an account name from which they are derived (`https://<account>.<service>.core.windows.net`).
 */
export function loadStorageConfig(env: Environment = process.env): StorageConfig {
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;
  const connectionString = read('AzureWebJobsStorage');
  if (connectionString) return { connectionString };
  const identity: StorageConfig = {};
  const accountName = read('AzureWebJobsStorage__accountName');
  const uris = {
    blob: read(STORAGE_SERVICE_URI_SETTINGS.blob),
    queue: read(STORAGE_SERVICE_URI_SETTINGS.queue),
    table: read(STORAGE_SERVICE_URI_SETTINGS.table),
  };
  const clientId = read('AzureWebJobsStorage__clientId');
  if (read('AzureWebJobsStorage__credential')?.toLowerCase() === 'managedidentity') identity.credential = 'managedidentity';
  const problems: Array<{ setting: string; problem: string }> = [];
  for (const service of ['blob', 'queue', 'table'] as const) {
    const value = uris[service];
    if (value === undefined) continue;
    const url = URL.canParse(value) ? new URL(value) : undefined;
    if (!url || url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '') {
      problems.push({ setting: STORAGE_SERVICE_URI_SETTINGS[service], problem: `must be the https endpoint of the account's ${service} service, such as https://myaccount.${service}.core.windows.net` });
    }
  }
  const given = (['blob', 'queue', 'table'] as const).filter((service) => uris[service] !== undefined);
  if (!accountName && given.length > 0 && given.length < 3) {
    // The app uses all three services; without an account name nothing can stand in for a missing URI.
    for (const service of (['blob', 'queue', 'table'] as const).filter((candidate) => uris[candidate] === undefined)) {
      problems.push({ setting: STORAGE_SERVICE_URI_SETTINGS[service], problem: `is required with ${given.map((name) => STORAGE_SERVICE_URI_SETTINGS[name]).join(' and ')} (or set AzureWebJobsStorage__accountName in the public cloud)` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (accountName) identity.accountName = accountName;
  if (uris.table) identity.tableServiceUri = uris.table;
  if (uris.queue) identity.queueServiceUri = uris.queue;
  if (uris.blob) identity.blobServiceUri = uris.blob;
  if (clientId) identity.clientId = clientId;
  if (accountName || given.length === 3) return identity;
  throw new ConfigError([
    {
      setting: 'AzureWebJobsStorage',
      problem:
        'is required (a connection string, "UseDevelopmentStorage=true" locally, or for identity-based access ' +
        'AzureWebJobsStorage__blobServiceUri, __queueServiceUri and __tableServiceUri, or AzureWebJobsStorage__accountName in the public cloud)',
    },
  ]);
}

/**
 * Whether App Service Authentication is on for this app: the platform then sets WEBSITE_AUTH_ENABLED=True, and only
 * then does it remove X-MS-CLIENT-PRINCIPAL-* headers a client sends, so only then do those headers say who signed in.
 */
export function platformAuthenticationEnabled(env: Environment = process.env): boolean {
  return env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() === 'true';
}

/** What an operator is told when CONSOLE_ACCESS=signed-in but nothing signs anyone in. */
export const CONSOLE_SIGN_IN_MISSING =
  'The console needs sign-in, but App Service Authentication is off for this app (WEBSITE_AUTH_ENABLED is not true), so it cannot tell ' +
  'who you are. Turn sign-in on: `azd env set CONSOLE_CLIENT_ID <client id of an Entra ID app registration>` and `azd provision` ' +
  '(docs/deploy.md, "The operator console"). Or set CONSOLE_ACCESS=open (anyone who reaches the app) or off.';

/**
 * Who may open the operator console (GET /api/console): `open` (anyone who reaches it; the local default),
 * `signed-in` (a user signed in through App Service Authentication; the default in Azure, recognised by
 * WEBSITE_SITE_NAME) or `off`. Read alone, so a broken unrelated setting never locks operators out of the page
 * that shows it.
 */
export function loadConsoleAccess(env: Environment = process.env): ConsoleAccess {
  const raw = env.CONSOLE_ACCESS?.trim();
  if (!raw) return env.WEBSITE_SITE_NAME?.trim() ? 'signed-in' : 'open';
  const parsed = consoleAccessSetting.safeParse(raw);
  if (!parsed.success || !parsed.data) throw new ConfigError([{ setting: 'CONSOLE_ACCESS', problem: `must be one of ${CONSOLE_ACCESS_VALUES.join(', ')}` }]);
  return parsed.data;
}

/** Reads and validates every setting; throws one ConfigError naming each bad setting. */
export function loadConfig(env: Environment = process.env): Config {
  const problems: Array<{ setting: string; problem: string }> = [];
  let storage: StorageConfig = {};
  try {
    storage = loadStorageConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) problems.push(...error.problems);
    else throw error;
  }
  const values = blankToUndefined(env);
  const parsed = settingsSchema.safeParse(values);
  if (!parsed.success) problems.push(...problemsOf(parsed.error, values));
  const bcCredential = bcCredentialOf(values);
  if (bcCredential === undefined) {
    problems.push({
      setting: 'BC_CLIENT_SECRET',
      problem: 'is required outside Azure (in Azure, without it, the managed identity is used through a federated credential: BC_CREDENTIAL=managedIdentity)',
    });
  } else if (bcCredential === 'clientSecret' && !values.BC_CLIENT_SECRET) {
    problems.push({ setting: 'BC_CLIENT_SECRET', problem: 'is required with BC_CREDENTIAL=clientSecret' });
  }
  const ipaasPaths = parseIpaasPaths(values.IPAAS_PATHS);
  problems.push(...ipaasPaths.problems.map((problem) => ({ setting: 'IPAAS_PATHS', problem })));
  problems.push(...unresolvedKeyVaultReferences(env));
  let mapping: MappingConfig | undefined;
  let mappingProblem = false;
  try {
    mapping = loadMappingConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) problems.push(...error.problems);
    else throw error;
    mappingProblem = true;
  }
  const companies = loadCompanies(values, env, mapping, mappingProblem);
  problems.push(...companies.problems);
  if (problems.length > 0 || !parsed.success || !mapping || companies.companies.length === 0) throw new ConfigError(problems);
  return toConfig(storage, parsed.data, ipaasPaths.paths, mapping, companies.companies, bcCredential ?? 'clientSecret', values.AZURE_CLIENT_ID?.trim() || undefined, values.WEBSITE_HOSTNAME?.trim() || undefined, isNone(values.WEBHOOK_NOTIFICATION_URL), Boolean(values.WEBSITE_SITE_NAME?.trim()));
}

/**
 * The companies alone, as the host checks them at start (BC_COMPANIES or BC_COMPANY_ID with their mapping files
 * and token settings): a ConfigError naming the setting and the entry. Without BC_COMPANIES nothing is checked
 * here beyond what loadMappingConfig checks (a missing BC_COMPANY_ID is reported by health, as before).
 */
export function loadCompaniesConfig(env: Environment = process.env): CompanyConfig[] {
  const values = blankToUndefined(env);
  if (!values.BC_COMPANIES) return [];
  const mapping = loadMappingConfig(env);
  const { companies, problems } = loadCompanies(values, env, mapping, false);
  if (problems.length > 0) throw new ConfigError(problems);
  return companies;
}

/**
 * The companies' ids and names alone, read leniently (tools that need no other setting, e.g. `npm run replay`):
 * BC_COMPANIES entries with a GUID id, or BC_COMPANY_ID; [] when neither can be read.
 */
export function companyRefsOf(env: Environment): Array<{ id: string; name: string }> {
  const list = env.BC_COMPANIES?.trim();
  if (list) {
    try {
      const json: unknown = JSON.parse(list);
      if (!Array.isArray(json)) return [];
      return json.flatMap((entry: unknown) => {
        const { id, name } = (typeof entry === 'object' && entry !== null ? entry : {}) as { id?: unknown; name?: unknown };
        return typeof id === 'string' && GUID_PATTERN.test(id.trim()) ? [{ id: id.trim().toLowerCase(), name: typeof name === 'string' && name.trim() ? name.trim() : id.trim().toLowerCase() }] : [];
      });
    } catch {
      return [];
    }
  }
  const single = env.BC_COMPANY_ID?.trim();
  return single && GUID_PATTERN.test(single) ? [{ id: single.toLowerCase(), name: single.toLowerCase() }] : [];
}

/** Longest company name: it appears in routes, log lines and the console. */
export const MAX_COMPANY_NAME_LENGTH = 100;
/** Characters a company name may not hold: route delimiters (even URL-encoded, hosts may decode them) and controls. */
const FORBIDDEN_NAME_CHARS = /[/\\?#%\u0000-\u001f\u007f]/u;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/u;

const companyEntrySchema = z.strictObject(
  {
    id: z.string({ error: 'id is required (the company GUID)' }).trim().regex(GUID_PATTERN, 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301'),
    name: z
      .string({ error: 'name is required (a unique label used in routes, logs and the console)' })
      .trim()
      .min(1, 'name must not be empty')
      .max(MAX_COMPANY_NAME_LENGTH, `name must have at most ${MAX_COMPANY_NAME_LENGTH} characters`)
      .refine((name) => !FORBIDDEN_NAME_CHARS.test(name), 'name must not contain / \\ ? # % or control characters (it is used in routes)'),
    ipaasSystemId: z
      .union([z.number(), z.string().trim()], { error: 'ipaasSystemId must be a whole number greater than 0' })
      .transform(String)
      .pipe(z.string().regex(/^[1-9]\d{0,14}$/u, 'ipaasSystemId must be a whole number greater than 0 (the id of this company\'s Business Central system in iPaaS.com)').transform(Number))
      .optional(),
    mappingFile: z.string({ error: 'mappingFile must be a path' }).trim().min(1, 'mappingFile must not be empty').optional(),
    ipaasApiTokenSetting: z
      .string({ error: 'ipaasApiTokenSetting must be the name of another setting' })
      .trim()
      .regex(SETTING_NAME, 'ipaasApiTokenSetting must be the name of another setting (letters, digits, _ . -), not the token itself')
      .optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(', ')} (known: id, name, ipaasSystemId, mappingFile, ipaasApiTokenSetting)` : 'must be an object { "id", "name", ... }') },
);

/**
 * The companies: BC_COMPANIES (a JSON array) or BC_COMPANY_ID, exactly one of them. Every problem names the
 * setting and the entry (`BC_COMPANIES entry 2 ("CRONUS Canada"): ...`): a bad GUID, a duplicate id or name, a
 * token setting that is missing, a mapping file that does not load.
 */
function loadCompanies(
  values: Record<string, string | undefined>,
  env: Environment,
  defaultMapping: MappingConfig | undefined,
  defaultMappingBroken: boolean,
): { companies: CompanyConfig[]; problems: Array<{ setting: string; problem: string }> } {
  const problems: Array<{ setting: string; problem: string }> = [];
  const single = values.BC_COMPANY_ID?.trim();
  const list = values.BC_COMPANIES?.trim();
  const systemId = parseSystemId(values.IPAAS_SYSTEM_ID);
  const globalToken = values.IPAAS_API_TOKEN?.trim() || undefined;
  const tokenNeeded = () => {
    if (!globalToken) problems.push({ setting: 'IPAAS_API_TOKEN', problem: 'is required' });
  };
  if (single && list) {
    problems.push({ setting: 'BC_COMPANIES', problem: 'and BC_COMPANY_ID are both set: keep exactly one (BC_COMPANIES for several companies, listing the BC_COMPANY_ID company first)' });
    return { companies: [], problems };
  }
  if (!list) {
    if (!single) problems.push({ setting: 'BC_COMPANY_ID', problem: 'is required (or BC_COMPANIES for several companies)' });
    tokenNeeded();
    // A malformed BC_COMPANY_ID is reported by the schema.
    if (!single || !GUID_PATTERN.test(single) || !defaultMapping || !globalToken) return { companies: [], problems };
    const id = single.toLowerCase();
    return { companies: [{ id, name: id, index: 0, ipaas: { systemId, apiToken: globalToken, tokenSetting: 'IPAAS_API_TOKEN' }, mapping: defaultMapping }], problems };
  }

  let json: unknown;
  try {
    json = JSON.parse(list);
  } catch {
    problems.push({ setting: 'BC_COMPANIES', problem: 'must be a JSON array such as [{"id":"<company GUID>","name":"CRONUS USA, Inc."}]' });
    return { companies: [], problems };
  }
  if (!Array.isArray(json) || json.length === 0) {
    problems.push({ setting: 'BC_COMPANIES', problem: 'must be a non-empty JSON array such as [{"id":"<company GUID>","name":"CRONUS USA, Inc."}]' });
    return { companies: [], problems };
  }
  const companies: CompanyConfig[] = [];
  const ids = new Map<string, number>();
  const names = new Map<string, number>();
  let globalTokenNeeded = false;
  json.forEach((raw: unknown, index) => {
    const rawName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? ((raw as { name: string }).name.trim()) : '';
    const entry = `entry ${index + 1}${rawName ? ` ("${rawName}")` : ''}`;
    const problem = (text: string) => problems.push({ setting: 'BC_COMPANIES', problem: `${entry}: ${text}` });
    const parsed = companyEntrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problem(issue.message);
      return;
    }
    const { id: rawId, name, ipaasSystemId, mappingFile, ipaasApiTokenSetting } = parsed.data;
    const id = rawId.toLowerCase();
    const sameId = ids.get(id);
    if (sameId !== undefined) problem(`id ${id} is also entry ${sameId + 1}'s: each company once`);
    ids.set(id, index);
    const sameName = names.get(name.toLowerCase());
    if (sameName !== undefined) problem(`name "${name}" is also entry ${sameName + 1}'s: names must be unique (case is ignored)`);
    names.set(name.toLowerCase(), index);
    // A name shaped like a GUID would make `/api/companies/{company}/...` ambiguous.
    if (GUID_PATTERN.test(name) && name.toLowerCase() !== id) problem('name must not be a GUID (other than the company\'s own id)');
    let apiToken = globalToken;
    if (ipaasApiTokenSetting) {
      apiToken = env[ipaasApiTokenSetting]?.trim() || undefined;
      if (!apiToken) problem(`ipaasApiTokenSetting names ${ipaasApiTokenSetting}, which is not set (set it to this company's iPaaS.com API token, e.g. as a Key Vault reference)`);
    } else {
      globalTokenNeeded = true;
    }
    let mapping = defaultMapping;
    if (mappingFile) {
      try {
        mapping = loadCompanyMapping(mappingFile);
      } catch (error) {
        if (!(error instanceof MappingFileError)) throw error;
        problem(`mappingFile does not load (${error.message})`);
        mapping = undefined;
      }
    } else if (defaultMappingBroken) {
      // CUSTOMER_MAPPING_FILE's own problem is reported once, under its name.
      mapping = undefined;
    }
    if (!apiToken || !mapping) return;
    companies.push({
      id,
      name,
      index,
      ipaas: { systemId: ipaasSystemId ?? systemId, apiToken, tokenSetting: ipaasApiTokenSetting ?? 'IPAAS_API_TOKEN' },
      mapping,
    });
  });
  if (globalTokenNeeded) tokenNeeded();
  return { companies: problems.length > 0 ? [] : companies, problems };
}

function parseSystemId(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  return trimmed && /^[1-9]\d{0,14}$/u.test(trimmed) ? Number(trimmed) : undefined;
}

/** A company's own mapping file, resolved like CUSTOMER_MAPPING_FILE (absolute, or relative to the app's root). */
function loadCompanyMapping(configured: string): MappingConfig {
  const file = path.resolve(appRoot(), configured);
  return { file, isDefault: false, mapping: loadMappingFile(file, configured) };
}

/**
 * BC_CREDENTIAL, or its default: `clientSecret` when BC_CLIENT_SECRET is set, `managedIdentity` where the
 * platform provides one (IDENTITY_ENDPOINT: Azure Functions and App Service set it), else none (an error).
 */
function bcCredentialOf(env: Record<string, string | undefined>): BcCredentialKind | undefined {
  const explicit = BC_CREDENTIALS.find((kind) => kind === env.BC_CREDENTIAL?.trim());
  // An invalid BC_CREDENTIAL is reported by the schema; the secret is then judged as if it were absent.
  if (explicit) return explicit;
  if (env.BC_CLIENT_SECRET) return 'clientSecret';
  return env.IDENTITY_ENDPOINT ? 'managedIdentity' : undefined;
}

function isNone(value: unknown): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'none';
}

/** The webhook's URL as this app is reached: the setting, else (in Azure) the app's own host name; `none`: no webhook. */
export const WEBHOOK_ROUTE = '/api/webhooks/business-central';

function webhookNotificationUrl(setting: string | undefined, websiteHostname: string | undefined): string | undefined {
  if (setting === 'none') return undefined;
  if (setting) return setting;
  // WEBSITE_HOSTNAME is set by the platform in Azure, so `azd up` needs no second pass to enable webhooks.
  return websiteHostname && /^[a-z0-9.-]+$/iu.test(websiteHostname) ? `https://${websiteHostname.toLowerCase()}${WEBHOOK_ROUTE}` : undefined;
}

/**
 * The mapping collection alone, as the host loads it at start: CUSTOMER_MAPPING_FILE (absolute, or relative to
 * the app's root folder, the one holding host.json), else the shipped default. A missing or bad file is a
 * ConfigError whose message names the file, the entry (`fields[3].expression`) and, for an expression, the position.
 */
export function loadMappingConfig(env: Environment = process.env): MappingConfig {
  const configured = env.CUSTOMER_MAPPING_FILE?.trim();
  const root = appRoot();
  const file = path.resolve(root, configured || DEFAULT_MAPPING_FILE);
  try {
    return { file, isDefault: !configured, mapping: loadMappingFile(file, configured || DEFAULT_MAPPING_FILE) };
  } catch (error) {
    if (!(error instanceof MappingFileError)) throw error;
    throw new ConfigError([{ setting: 'CUSTOMER_MAPPING_FILE', problem: `(${error.message})` }], MAPPING_HINT);
  }
}

const MAPPING_HINT = 'Fix the mapping file (mappings/customer-mapping.schema.json describes it) or point CUSTOMER_MAPPING_FILE at a good one.';

function toConfig(
  storage: StorageConfig,
  s: Settings,
  ipaasPaths: IpaasPaths,
  mapping: MappingConfig,
  companies: CompanyConfig[],
  bcCredential: BcCredentialKind,
  azureClientId: string | undefined,
  websiteHostname: string | undefined,
  webhookDisabled: boolean,
  inAzure: boolean,
): Config {
  return {
    storage,
    businessCentral: {
      tenantId: s.BC_TENANT_ID,
      clientId: s.BC_CLIENT_ID,
      credential: bcCredential,
      clientSecret: bcCredential === 'clientSecret' ? (s.BC_CLIENT_SECRET ?? '') : '',
      managedIdentityClientId: azureClientId,
      environment: s.BC_ENVIRONMENT,
      companyId: companies[0]!.id,
      apiBaseUrl: s.BC_API_BASE_URL,
      authorityHost: s.AZURE_AUTHORITY_HOST,
    },
    ipaas: {
      apiBaseUrl: s.IPAAS_API_BASE_URL,
      // The first company's token: IPAAS_API_TOKEN unless that company names its own setting.
      apiToken: companies[0]!.ipaas.apiToken,
      systemId: s.IPAAS_SYSTEM_ID,
      externalIdSource: s.IPAAS_EXTERNAL_ID_SOURCE,
      paths: ipaasPaths,
      clientId: s.IPAAS_CLIENT_ID,
      addressMode: s.IPAAS_ADDRESS_MODE,
      addressCollection: s.IPAAS_ADDRESS_COLLECTION,
    },
    webhook: { clientState: s.WEBHOOK_CLIENT_STATE, notificationUrl: webhookDisabled ? undefined : webhookNotificationUrl(s.WEBHOOK_NOTIFICATION_URL, websiteHostname) },
    poll: { schedule: s.POLL_SCHEDULE, startFrom: s.POLL_START_FROM, overlapMs: s.POLL_OVERLAP_SECONDS * 1000 },
    subscription: { schedule: s.SUBSCRIPTION_SCHEDULE },
    reconcile: { schedule: s.RECONCILE_SCHEDULE },
    http: {
      timeoutMs: s.HTTP_TIMEOUT_MS,
      maxAttempts: s.HTTP_MAX_ATTEMPTS,
      retryBaseMs: s.HTTP_RETRY_BASE_MS,
      retryMaxDelayMs: s.HTTP_RETRY_MAX_DELAY_MS,
      bcMaxConcurrent: s.BC_MAX_CONCURRENT_REQUESTS,
      ipaasMaxConcurrent: s.IPAAS_MAX_CONCURRENT_REQUESTS,
      bcSharedBudget: s.BC_SHARED_BUDGET ? s.BC_SHARED_BUDGET === 'on' : inAzure,
    },
    sync: { leaseSeconds: s.SYNC_LEASE_SECONDS },
    outage: { maxRetryAfterMs: s.OUTAGE_MAX_RETRY_AFTER_SECONDS * 1000 },
    retention: { transferDays: s.TRANSFER_RETENTION_DAYS },
    mapping,
    companies,
  };
}

/** App settings left empty in the portal arrive as "": treat them as absent so defaults apply. */
function blankToUndefined(env: Environment): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) result[key] = value === undefined || value.trim() === '' ? undefined : value;
  return result;
}

/** A Key Vault reference the platform could not resolve arrives as its literal text; never use that as a secret. */
function unresolvedKeyVaultReferences(env: Environment): Array<{ setting: string; problem: string }> {
  return Object.entries(env)
    .filter(([, value]) => value?.trim().startsWith('@Microsoft.KeyVault('))
    .map(([setting]) => ({
      setting,
      problem: 'is an unresolved Key Vault reference (check the app\'s identity has "Key Vault Secrets User" and the secret exists)',
    }));
}
