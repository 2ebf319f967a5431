/**
 * Tables, queues and blob containers created when first used, once per process, and again when an operator
 * deleted one while the app runs.
 */
import type { TableClient } from '@azure/data-tables';
import type { QueueClient } from '@azure/storage-queue';
import type { ContainerClient } from '@azure/storage-blob';
import { statusOf, storageError, storageErrorCode } from './storageErrors';

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
