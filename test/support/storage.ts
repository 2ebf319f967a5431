import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { ALL_QUEUES } from '../../shared/queueNames';
import { forgetEnsuredResources } from '../../shared/storage/connection';

/** The queues the local host's triggers read (and their poison queues); it expects them to exist. */
const TRIGGER_QUEUES = ALL_QUEUES;

/** The current jest worker's Azurite account (set by setupEnv.ts). */
export function testStorageConnectionString(): string {
  const connectionString = process.env.AzureWebJobsStorage;
  if (!connectionString) throw new Error('AzureWebJobsStorage is not set; is test/support/setupEnv.ts in jest setupFiles?');
  return connectionString;
}

/**
 * Deletes every table, queue and blob container in the current worker's Azurite account, so a test file starts clean,
 * and makes the storage layer forget what it created so it creates again on first use.
 */
export async function resetStorage(): Promise<void> {
  const connectionString = testStorageConnectionString();
  const tables = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
  const queues = QueueServiceClient.fromConnectionString(connectionString);
  const tableNames: string[] = [];
  for await (const table of tables.listTables()) if (table.name) tableNames.push(table.name);
  const queueNames: string[] = [];
  for await (const queue of queues.listQueues()) queueNames.push(queue.name);
  const blobs = BlobServiceClient.fromConnectionString(connectionString);
  const containerNames: string[] = [];
  for await (const container of blobs.listContainers()) containerNames.push(container.name);
  await Promise.all([
    ...tableNames.map((name) => tables.deleteTable(name)),
    ...queueNames.map((name) => queues.deleteQueue(name)),
    ...containerNames.map((name) => blobs.deleteContainer(name)),
  ]);
  forgetEnsuredResources();
}

/** Empties the worker's Azurite account and re-creates the trigger queues the host reads. */
export async function resetAllStorage(): Promise<void> {
  await resetStorage();
  await Promise.all(TRIGGER_QUEUES.map((name) => queue(name).createIfNotExists()));
}

export function queue(name: string): QueueClient {
  return new QueueClient(testStorageConnectionString(), name);
}

export async function countMessages(name: string): Promise<number> {
  return (await queue(name).getProperties()).approximateMessagesCount ?? 0;
}

/** A stored link without its etag (which Table Storage sets), after checking that one is there for conditional saves. */
export function withoutEtag<T extends { etag?: string }>(stored: T | null): Omit<T, 'etag'> | null {
  if (stored === null) return null;
  const { etag, ...rest } = stored;
  expect(etag).toEqual(expect.stringMatching(/^W\/"datetime'/u));
  return rest;
}
