/**
 * The settings, read in one place. `loadConfig` reads every setting the app uses and builds the typed Config, or
 * throws one ConfigError naming every bad setting. The parts it is made of live in shared/settings/, each with its
 * own job (the schema, storage, console access, the mapping file, the companies, Key Vault references, the webhook's
 * URL); this module re-exports them, so the rest of the app imports settings from here only.
 */
import type { IpaasAddressMode, IpaasPaths } from './ipaas/paths';
import { parseIpaasPaths } from './ipaas/paths';
import { loadCompanies, type CompanyConfig } from './settings/companies';
import { blankToUndefined, ConfigError, type Environment } from './settings/configError';
import { unresolvedKeyVaultReferences } from './settings/keyVault';
import { loadMappingConfig, type MappingConfig } from './settings/mapping';
import { bcCredentialOf, problemsOf, settingsSchema, type BcCredentialKind, type Settings } from './settings/schema';
import { loadStorageConfig, type StorageConfig } from './settings/storage';
import { isNone, webhookNotificationUrl } from './settings/webhookUrl';

export { DEFAULT_POLL_SCHEDULE, DEFAULT_SUBSCRIPTION_SCHEDULE, isNcrontab, scheduleSetting } from './schedule';
export { companyRefsOf, loadCompaniesConfig, MAX_COMPANY_NAME_LENGTH, type CompanyConfig } from './settings/companies';
export { ConfigError, type Environment } from './settings/configError';
export {
  CONSOLE_ACCESS_VALUES,
  CONSOLE_SIGN_IN_MISSING,
  loadConsoleAccess,
  platformAuthenticationEnabled,
  type ConsoleAccess,
} from './settings/consoleAccess';
export { loadMappingConfig, type MappingConfig } from './settings/mapping';
export {
  BC_CREDENTIALS,
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_BC_API_BASE_URL,
  isIsoTimestamp,
  isLoopbackHost,
  SETTING_NAMES,
  type BcCredentialKind,
  type SettingName,
} from './settings/schema';
export { loadStorageConfig, STORAGE_SERVICE_URI_SETTINGS, type StorageConfig } from './settings/storage';
export { WEBHOOK_ROUTE } from './settings/webhookUrl';

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

export type ExternalIdSource = 'number' | 'id';

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
