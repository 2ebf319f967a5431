import { createHash } from 'node:crypto';
import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import { QueueClient, QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ConfigError, type StorageConfig } from '../config';
import { SyncError } from '../errors';
import { isGuid, normalizeGuid } from '../guid';
import { deadline } from '../http/deadline';
import { redact } from '../log';

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

/** Creates the container when missing, once per process. */
export function ensureContainer(client: ContainerClient): Promise<void> {
  return ensureOnce(`container:${client.url}`, async () => {
    try {
      await client.createIfNotExists();
    } catch (error) {
      if (statusOf(error) === 409) return;
      throw storageError(`creating blob container ${client.containerName}`, error);
    }
  });
}

export function queueClient(storage: StorageConnection, queueName: string): QueueClient {
  return queueServiceClient(storage).getQueueClient(queueName);
}

// --- Errors ---------------------------------------------------------------------------------------

/** HTTP status of an Azure SDK error, when the service answered. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The service's error code ("TableNotFound", "QueueNotFound", ...). The Tables SDK leaves
 * RestError.code empty and puts the OData error in the response body, so look there too.
 */
export function storageErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, response, message } = error as {
    code?: unknown;
    response?: { headers?: { get?: (name: string) => string | undefined }; parsedBody?: unknown };
    message?: unknown;
  };
  if (typeof code === 'string' && code) return code;
  const header = typeof response?.headers?.get === 'function' ? response.headers.get('x-ms-error-code') : undefined;
  if (header) return header;
  const fromBody = odataCode(response?.parsedBody);
  if (fromBody) return fromBody;
  if (typeof message === 'string' && message.startsWith('{')) {
    try {
      return odataCode(JSON.parse(message));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function odataCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const odata = (record.odataError ?? record['odata.error']) as { code?: unknown } | undefined;
  return typeof odata?.code === 'string' ? odata.code : undefined;
}

/** What went wrong, safe to log: status and service code, or the (redacted) network error. */
export function storageFailureDetail(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined) {
    const code = storageErrorCode(error);
    return `HTTP ${status}${code ? ` ${code}` : ''}`;
  }
  return redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);
}

/** Turns any failure of a storage call into a SyncError; already-classified errors pass through. */
export function storageError(operation: string, error: unknown): SyncError | ConfigError {
  if (error instanceof SyncError || error instanceof ConfigError) return error;
  const status = statusOf(error);
  // Only a malformed request cannot succeed later; auth, throttling, outages and network faults all can.
  const transient = status !== 400 && status !== 413;
  // A request storage refuses as malformed is not an outage: it gets its own code so it is not mistaken for one.
  return new SyncError(transient ? 'StorageUnavailable' : 'StorageRejected', `Storage ${operation} failed: ${storageFailureDetail(error)}`, {
    transient,
    ...(status === undefined ? {} : { status }),
    cause: error,
  });
}

// --- Creating tables and queues once per process ----------------------------------------------------

const ensured = new Map<string, Promise<void>>();

function ensureOnce(key: string, create: () => Promise<void>): Promise<void> {
  let pending = ensured.get(key);
  if (!pending) {
    pending = create().catch((error: unknown) => {
      // A failed creation is not remembered, so the next call tries again.
      ensured.delete(key);
      throw error;
    });
    ensured.set(key, pending);
  }
  return pending;
}

const tableKeyOf = (client: TableClient) => `table:${client.url}|${client.tableName}`;
const queueKeyOf = (client: QueueClient) => `queue:${client.url}`;

/** Creates the table when missing, once per process; "already exists" races are fine. */
export function ensureTable(client: TableClient): Promise<void> {
  return ensureOnce(tableKeyOf(client), async () => {
    try {
      await client.createTable(); // The SDK itself swallows 409 TableAlreadyExists.
    } catch (error) {
      if (statusOf(error) === 409 && storageErrorCode(error) === 'TableAlreadyExists') return;
      throw storageError(`creating table ${client.tableName}`, error);
    }
  });
}

/** Creates the queue when missing, once per process. */
export function ensureQueue(client: QueueClient): Promise<void> {
  return ensureOnce(queueKeyOf(client), async () => {
    try {
      await client.createIfNotExists();
    } catch (error) {
      if (statusOf(error) === 409 && storageErrorCode(error) === 'QueueAlreadyExists') return;
      throw storageError(`creating queue ${client.name}`, error);
    }
  });
}

/** Forgets which tables and queues were created, e.g. after a test deleted them all. */
export function forgetEnsuredResources(): void {
  ensured.clear();
}

/**
 * Runs a table operation after making sure the table exists; when the table vanished since
 * (deleted by an operator), re-creates it and runs the operation once more instead of failing until restart.
 */
export async function withTable<T>(client: TableClient, operation: () => Promise<T>): Promise<T> {
  await ensureTable(client);
  try {
    return await operation();
  } catch (error) {
    if (statusOf(error) !== 404 || storageErrorCode(error) !== 'TableNotFound') throw error;
    ensured.delete(tableKeyOf(client));
    await ensureTable(client);
    return operation();
  }
}

/** As withTable, for a queue. */
export async function withQueue<T>(client: QueueClient, operation: () => Promise<T>): Promise<T> {
  await ensureQueue(client);
  try {
    return await operation();
  } catch (error) {
    if (statusOf(error) !== 404 || storageErrorCode(error) !== 'QueueNotFound') throw error;
    ensured.delete(queueKeyOf(client));
    await ensureQueue(client);
    return operation();
  }
}

// --- Keys --------------------------------------------------------------------------------------------

const MAX_KEY_LENGTH = 512;
// Forbidden in PartitionKey/RowKey: / \ # ? and control characters; '%' is escaped too so the encoding is reversible.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARS = /[%/\\#?\u0000-\u001f\u007f-\u009f]/gu;

/**
 * Makes any string safe as a PartitionKey or RowKey: percent-encodes forbidden characters, maps
 * the empty string to "%" (which the encoding never produces otherwise), and shortens very long
 * values with a hash suffix (keys are limited to 1 KiB).
 */
export function toTableKey(value: string): string {
  if (value === '') return '%';
  const encoded = value.replace(FORBIDDEN_KEY_CHARS, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (encoded.length <= MAX_KEY_LENGTH) return encoded;
  return `${encoded.slice(0, MAX_KEY_LENGTH - 65)}~${createHash('sha256').update(value).digest('hex')}`;
}

/** Partition key of a Business Central customer: GUIDs in canonical form, so case and braces never split a customer's rows. */
export function customerKey(customerId: string): string {
  const normalized = normalizeGuid(customerId);
  return toTableKey(isGuid(normalized) ? normalized : customerId);
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
