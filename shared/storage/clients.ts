/**
 * Clients of the storage account, built once per process per connection: tables, queues and blobs, by connection
 * string (Azurite locally) or by identity (Azure), each request bounded by STORAGE_REQUEST_TIMEOUT_MS.
 */
import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import { QueueClient, QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ConfigError, type StorageConfig } from '../config';
import { deadline } from '../http/deadline';

/**
 * StorageConfig plus the optional identity-based settings the Functions host documents for
 * AzureWebJobsStorage (`__tableServiceUri`, `__queueServiceUri`, `__clientId`); shared/config.ts
 * may fill them, and they only matter when no connection string is given.
 */
export interface StorageConnection extends StorageConfig {
  tableServiceUri?: string;
  queueServiceUri?: string;
  blobServiceUri?: string;
  /** Client id of a user-assigned managed identity (AzureWebJobsStorage__clientId). */
  clientId?: string;
}

/** Per-attempt timeout: the SDK's Node HTTP client has none, and a hung socket would hold a function until its own timeout. */
export const STORAGE_REQUEST_TIMEOUT_MS = 30_000;

const ACCOUNT_NAME_PATTERN = /^[a-z0-9]{3,24}$/u;

type AdditionalPolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number];

const requestTimeoutPolicy: AdditionalPolicy = {
  position: 'perRetry',
  policy: {
    name: 'storageRequestTimeout',
    // An abort signal rather than request.timeout: the SDK leaves that timer running after a failed
    // request, keeping the process alive for its full length. The deadline's timer is unref'd, and cleared
    // once the attempt has ended (its body is read by then: these operations do not stream).
    sendRequest: async (request, next) => {
      const original = request.abortSignal;
      const timeout = deadline(STORAGE_REQUEST_TIMEOUT_MS);
      if (original === undefined) request.abortSignal = timeout.signal;
      else if (original instanceof AbortSignal) request.abortSignal = AbortSignal.any([original, timeout.signal]);
      try {
        return await next(request);
      } finally {
        timeout.clear();
        // Restored for the next attempt, which gets a fresh timeout of its own.
        request.abortSignal = original;
      }
    },
  },
};

const queuePipelineOptions: StoragePipelineOptions = { retryOptions: { tryTimeoutInMs: STORAGE_REQUEST_TIMEOUT_MS } };

// One credential per process (and identity): it caches tokens, so sharing it avoids a token request per client.
const credentials = new Map<string, TokenCredential>();

/**
 * In Azure (`AzureWebJobsStorage__credential=managedidentity`, as the host itself reads it): the managed
 * identity, explicitly, so no other credential is ever tried. Elsewhere (an operator running
 * `npm run replay` against Azure): DefaultAzureCredential, which honours AZURE_TOKEN_CREDENTIALS (e.g. `dev`).
 */
function credentialFor(storage: StorageConnection): TokenCredential {
  const managed = storage.credential === 'managedidentity';
  const key = `${managed ? 'mi' : 'default'}|${storage.clientId ?? ''}`;
  let credential = credentials.get(key);
  if (!credential) {
    const clientId = storage.clientId;
    credential = managed
      ? new ManagedIdentityCredential(clientId ? { clientId } : {})
      : new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : undefined);
    credentials.set(key, credential);
  }
  return credential;
}

function missingStorage(): ConfigError {
  return new ConfigError([
    {
      setting: 'AzureWebJobsStorage',
      problem: 'is required (a connection string, "UseDevelopmentStorage=true" locally, or AzureWebJobsStorage__accountName for identity-based access)',
    },
  ]);
}

/** True when the connection string sends this service over plain http (Azurite); the Tables SDK refuses http unless told. */
function usesHttp(connectionString: string, endpointName: 'TableEndpoint' | 'QueueEndpoint'): boolean {
  const parts = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  const endpoint = parts.get(endpointName.toLowerCase());
  if (endpoint) return endpoint.toLowerCase().startsWith('http:');
  return parts.get('defaultendpointsprotocol')?.toLowerCase() === 'http';
}

function serviceEndpoint(storage: StorageConnection, service: 'table' | 'queue' | 'blob'): string {
  const explicit = service === 'table' ? storage.tableServiceUri : service === 'queue' ? storage.queueServiceUri : storage.blobServiceUri;
  if (explicit?.trim()) {
    const value = explicit.trim();
    const setting = `AzureWebJobsStorage__${service}ServiceUri`;
    if (!URL.canParse(value) || new URL(value).protocol !== 'https:') {
      throw new ConfigError([{ setting, problem: 'must be an https URL such as https://myaccount.table.core.windows.net' }]);
    }
    return value.replace(/\/+$/u, '');
  }
  const accountName = storage.accountName?.trim();
  if (!accountName) throw missingStorage();
  if (!ACCOUNT_NAME_PATTERN.test(accountName)) {
    throw new ConfigError([{ setting: 'AzureWebJobsStorage__accountName', problem: 'must be a storage account name (3-24 lower-case letters and digits)' }]);
  }
  return `https://${accountName}.${service}.core.windows.net`;
}

/** A stable cache key for one storage target; holds the connection string, so it stays in memory and is never logged. */
function connectionKey(storage: StorageConnection): string {
  if (storage.connectionString?.trim()) return `cs:${storage.connectionString.trim()}`;
  return `id:${storage.accountName ?? ''}|${storage.tableServiceUri ?? ''}|${storage.queueServiceUri ?? ''}|${storage.blobServiceUri ?? ''}|${storage.clientId ?? ''}`;
}

// The SDK's own message may quote the string (and its key), so neither it nor the cause is kept.
function invalidConnectionString(): ConfigError {
  return new ConfigError([{ setting: 'AzureWebJobsStorage', problem: 'is not a valid storage connection string' }]);
}

const tableClients = new Map<string, TableClient>();
const tableServiceClients = new Map<string, TableServiceClient>();
const queueServiceClients = new Map<string, QueueServiceClient>();

/** The TableClient for one table, cached per process. Throws ConfigError when the storage settings are unusable. */
export function tableClient(storage: StorageConnection, tableName: string): TableClient {
  const key = `${connectionKey(storage)}|${tableName}`;
  let client = tableClients.get(key);
  if (client) return client;
  const connectionString = storage.connectionString?.trim();
  if (connectionString) {
    try {
      client = TableClient.fromConnectionString(connectionString, tableName, {
        allowInsecureConnection: usesHttp(connectionString, 'TableEndpoint'),
        additionalPolicies: [requestTimeoutPolicy],
      });
    } catch {
      throw invalidConnectionString();
    }
  } else {
    client = new TableClient(serviceEndpoint(storage, 'table'), tableName, credentialFor(storage), {
      additionalPolicies: [requestTimeoutPolicy],
    });
  }
  tableClients.set(key, client);
  return client;
}

/** Account-level table operations (list, delete); used by maintenance and tests. */
export function tableServiceClient(storage: StorageConnection): TableServiceClient {
  const key = connectionKey(storage);
  let client = tableServiceClients.get(key);
  if (client) return client;
  const connectionString = storage.connectionString?.trim();
  if (connectionString) {
    try {
      client = TableServiceClient.fromConnectionString(connectionString, {
        allowInsecureConnection: usesHttp(connectionString, 'TableEndpoint'),
        additionalPolicies: [requestTimeoutPolicy],
      });
    } catch {
      throw invalidConnectionString();
    }
  } else {
    client = new TableServiceClient(serviceEndpoint(storage, 'table'), credentialFor(storage), {
      additionalPolicies: [requestTimeoutPolicy],
    });
  }
  tableServiceClients.set(key, client);
  return client;
}

export function queueServiceClient(storage: StorageConnection): QueueServiceClient {
  const key = connectionKey(storage);
  let client = queueServiceClients.get(key);
  if (client) return client;
  const connectionString = storage.connectionString?.trim();
  if (connectionString) {
    try {
      client = QueueServiceClient.fromConnectionString(connectionString, queuePipelineOptions);
    } catch {
      throw invalidConnectionString();
    }
  } else {
    client = new QueueServiceClient(serviceEndpoint(storage, 'queue'), credentialFor(storage), queuePipelineOptions);
  }
  queueServiceClients.set(key, client);
  return client;
}

const blobServiceClients = new Map<string, BlobServiceClient>();

/** Blob storage (reconciliation reports), cached per process; Azurite's blob endpoint with UseDevelopmentStorage=true. */
export function blobServiceClient(storage: StorageConnection): BlobServiceClient {
  const key = connectionKey(storage);
  let client = blobServiceClients.get(key);
  if (client) return client;
  const connectionString = storage.connectionString?.trim();
  if (connectionString) {
    try {
      client = BlobServiceClient.fromConnectionString(connectionString, queuePipelineOptions);
    } catch {
      throw invalidConnectionString();
    }
  } else {
    client = new BlobServiceClient(serviceEndpoint(storage, 'blob'), credentialFor(storage), queuePipelineOptions);
  }
  blobServiceClients.set(key, client);
  return client;
}

export function queueClient(storage: StorageConnection, queueName: string): QueueClient {
  return queueServiceClient(storage).getQueueClient(queueName);
}

/** A description of the storage target that is safe to log or show (never the key). */
export function describeStorage(storage: StorageConnection): string {
  const connectionString = storage.connectionString?.trim();
  if (connectionString) {
    if (/usedevelopmentstorage=true/iu.test(connectionString)) return 'development storage (Azurite)';
    const account = /(?:^|;)\s*AccountName=([^;]+)/iu.exec(connectionString)?.[1];
    return account ? `storage account ${account} (connection string)` : 'storage (connection string)';
  }
  return `storage account ${storage.accountName ?? storage.tableServiceUri ?? '(unknown)'} (identity-based)`;
}
