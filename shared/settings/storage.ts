/** AzureWebJobsStorage: a connection string, or identity-based access by service URIs or account name. */
import { ConfigError, type Environment } from './configError';

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
