import { TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { azuriteConnectionString, DEV_ACCOUNT_KEY, freePort } from '../../dev/azurite';
import { ConfigError, loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import {
  blobServiceClient,
  createQueueSender,
  createStorage,
  customerKey,
  describeStorage,
  peekCount,
  queueClient,
  storageError,
  tableClient,
  TableStateStore,
  TableTransferStore,
  toTableKey,
  TRANSFERS_BY_TIME_TABLE,
  TRANSFERS_TABLE,
  type TransferRecord,
} from '../../shared/storage';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { resetStorage, testStorageConnectionString } from '../support/storage';

const CUSTOMER = 'f2a5738a-44e3-ea11-bb43-000d3a2feca1';

const record = (): TransferRecord => ({
  transferId: 'transfer-1',
  customerId: CUSTOMER,
  customerNumber: '10000',
  source: 'manual',
  status: 'Succeeded',
  action: 'Created',
  errorCode: null,
  errorMessage: null,
  ipaasCustomerId: '4711',
  addressesAdded: 0,
  attempt: 1,
  startedAt: '2026-03-10T10:00:00.000Z',
  finishedAt: '2026-03-10T10:00:00.100Z',
  durationMs: 100,
  warnings: [],
});

async function tableNames(): Promise<string[]> {
  const names: string[] = [];
  const service = TableServiceClient.fromConnectionString(testStorageConnectionString(), { allowInsecureConnection: true });
  for await (const table of service.listTables()) if (table.name) names.push(table.name);
  return names.sort();
}

beforeEach(resetStorage);

describe('creating tables and queues', () => {
  test('tables are created on first use when missing', async () => {
    expect(await tableNames()).toEqual([]);
    const store = new TableTransferStore(loadStorageConfig());
    await store.record(record());
    expect(await tableNames()).toEqual([TRANSFERS_TABLE, TRANSFERS_BY_TIME_TABLE].sort());
  });

  test('many first uses at once create each table once, without failing on "already exists"', async () => {
    const stores = Array.from({ length: 5 }, () => new TableStateStore(loadStorageConfig(), { tableName: 'RaceTable' }));
    await Promise.all(stores.map((store, index) => store.put(`key-${index}`, index)));
    expect(await tableNames()).toEqual(['RaceTable']);
  });

  test('a table deleted behind our back is re-created instead of failing until restart', async () => {
    const store = new TableTransferStore(loadStorageConfig());
    await store.record(record());
    const service = TableServiceClient.fromConnectionString(testStorageConnectionString(), { allowInsecureConnection: true });
    await service.deleteTable(TRANSFERS_TABLE);
    await store.record({ ...record(), transferId: 'transfer-2' });
    expect((await store.listForCustomer(CUSTOMER)).map((r) => r.transferId)).toEqual(['transfer-2']);
  });

  test('a queue deleted behind our back is re-created', async () => {
    const storage = loadStorageConfig();
    const sender = createQueueSender(storage, SYNC_QUEUE);
    await sender.send([{ n: 1 }]);
    await QueueServiceClient.fromConnectionString(testStorageConnectionString()).deleteQueue(SYNC_QUEUE);
    await sender.send([{ n: 2 }]);
    expect(await peekCount(storage, SYNC_QUEUE)).toBe(1);
  });

  test('table names can be overridden per store; the documented names are the defaults', async () => {
    const store = new TableTransferStore(loadStorageConfig(), { tableName: 'OtherTransfers', byTimeTableName: 'OtherByTime' });
    await store.record(record());
    expect(await tableNames()).toEqual(['OtherByTime', 'OtherTransfers']);
  });
});

describe('settings', () => {
  test('without AzureWebJobsStorage, loadStorageConfig names the setting', () => {
    expect(() => loadStorageConfig({})).toThrow(ConfigError);
    expect(() => loadStorageConfig({ AzureWebJobsStorage: '  ' })).toThrow(/AzureWebJobsStorage/u);
  });

  test('a storage config with neither connection string nor account fails with the same ConfigError, not an SDK error', () => {
    expect(() => createStorage({})).toThrow(ConfigError);
    expect(() => createStorage({})).toThrow(/AzureWebJobsStorage/u);
  });

  test('a malformed connection string fails with a ConfigError that does not echo the string', () => {
    const secret = 'AccountName=x;AccountKey=c2VjcmV0LWtleQ==;Nonsense';
    let error: unknown;
    try {
      tableClient({ connectionString: secret }, 'T');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('AzureWebJobsStorage');
    expect((error as Error).message).not.toContain('c2VjcmV0');
  });

  test('UseDevelopmentStorage=true points at the local emulator', () => {
    expect(tableClient({ connectionString: 'UseDevelopmentStorage=true' }, 'T').url).toBe('http://127.0.0.1:10002/devstoreaccount1');
    expect(queueClient({ connectionString: 'UseDevelopmentStorage=true' }, 'q').url).toBe('http://127.0.0.1:10001/devstoreaccount1/q');
  });

  test('an account name gives identity-based https clients on the public cloud endpoints', () => {
    const storage = { accountName: 'contosofuncs' };
    expect(tableClient(storage, TRANSFERS_TABLE).url).toBe('https://contosofuncs.table.core.windows.net');
    expect(queueClient(storage, SYNC_QUEUE).url).toBe('https://contosofuncs.queue.core.windows.net/customer-sync');
  });

  test('explicit service URIs (AzureWebJobsStorage__tableServiceUri / __queueServiceUri) win over the account name', () => {
    const storage = {
      accountName: 'contosofuncs',
      tableServiceUri: 'https://contosofuncs.table.core.usgovcloudapi.net/',
      queueServiceUri: 'https://contosofuncs.queue.core.usgovcloudapi.net',
    };
    expect(tableClient(storage, TRANSFERS_TABLE).url).toBe('https://contosofuncs.table.core.usgovcloudapi.net');
    expect(queueClient(storage, SYNC_QUEUE).url).toBe('https://contosofuncs.queue.core.usgovcloudapi.net/customer-sync');
  });

  test('the service URIs Bicep sets (AzureWebJobsStorage__*ServiceUri, from the account itself) are used as they are, in any cloud', () => {
    const storage = loadStorageConfig({
      AzureWebJobsStorage__blobServiceUri: 'https://stchina1.blob.core.chinacloudapi.cn/',
      AzureWebJobsStorage__queueServiceUri: 'https://stchina1.queue.core.chinacloudapi.cn/',
      AzureWebJobsStorage__tableServiceUri: 'https://stchina1.table.core.chinacloudapi.cn/',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
    });
    expect(tableClient(storage, TRANSFERS_TABLE).url).toBe('https://stchina1.table.core.chinacloudapi.cn');
    expect(queueClient(storage, SYNC_QUEUE).url).toBe('https://stchina1.queue.core.chinacloudapi.cn/customer-sync');
    expect(blobServiceClient(storage).url).toBe('https://stchina1.blob.core.chinacloudapi.cn/');
    expect(describeStorage(storage)).not.toContain('core.windows.net');
  });

  test('service URIs are checked when the settings are read: https, and all three without an account name', () => {
    const all = {
      AzureWebJobsStorage__blobServiceUri: 'https://st1.blob.core.usgovcloudapi.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://st1.queue.core.usgovcloudapi.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://st1.table.core.usgovcloudapi.net/',
    };
    expect(() => loadStorageConfig(all)).not.toThrow();
    expect(() => loadStorageConfig({ ...all, AzureWebJobsStorage__queueServiceUri: 'http://st1.queue.core.usgovcloudapi.net' })).toThrow(/AzureWebJobsStorage__queueServiceUri must be the https endpoint/u);
    expect(() => loadStorageConfig({ ...all, AzureWebJobsStorage__tableServiceUri: 'not a url' })).toThrow(/AzureWebJobsStorage__tableServiceUri/u);
    const { AzureWebJobsStorage__blobServiceUri: _blob, ...withoutBlob } = all;
    expect(() => loadStorageConfig(withoutBlob)).toThrow(/AzureWebJobsStorage__blobServiceUri is required/u);
    // With the account name (public cloud) a missing one is derived from it.
    expect(loadStorageConfig({ ...withoutBlob, AzureWebJobsStorage__accountName: 'st1' })).toMatchObject({ accountName: 'st1', tableServiceUri: all.AzureWebJobsStorage__tableServiceUri });
  });

  test('a bad account name or service URI is a ConfigError naming the setting', () => {
    expect(() => tableClient({ accountName: 'Not_An_Account' }, 'T')).toThrow(/AzureWebJobsStorage__accountName/u);
    expect(() => tableClient({ tableServiceUri: 'http://insecure.example' }, 'T')).toThrow(/AzureWebJobsStorage__tableServiceUri/u);
  });

  test('describeStorage never reveals the account key', () => {
    const description = describeStorage({ connectionString: azuriteConnectionString({ blob: 1, queue: 2, table: 3 }, 'worker9') });
    expect(description).toContain('worker9');
    expect(description).not.toContain(DEV_ACCOUNT_KEY.slice(0, 10));
    expect(describeStorage({ connectionString: 'UseDevelopmentStorage=true' })).toContain('Azurite');
    expect(describeStorage({ accountName: 'contosofuncs' })).toContain('identity');
  });
});

describe('ping', () => {
  test('answers when storage answers, creating nothing', async () => {
    await expect(createStorage(loadStorageConfig()).ping()).resolves.toBeUndefined();
    expect(await tableNames()).toEqual([]);
  });

  test('rejects with a transient StorageUnavailable error naming the part when storage does not answer', async () => {
    const port = await freePort();
    const storage = { connectionString: azuriteConnectionString({ blob: port, queue: port, table: port }) };
    const error = await createStorage(storage, undefined, { pingTimeoutMs: 300 })
      .ping()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'StorageUnavailable', transient: true });
    expect((error as Error).message).toMatch(/^(Table|Queue) storage /u);
  });

  test('rejects when the credentials are refused', async () => {
    const wrongKey = testStorageConnectionString().replace(DEV_ACCOUNT_KEY, Buffer.from('wrong key wrong key').toString('base64'));
    const error = await createStorage({ connectionString: wrongKey }).ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as Error).message).toMatch(/HTTP 403/u);
  });
});

describe('keys and errors', () => {
  test('toTableKey escapes what table keys forbid, reversibly distinct, and bounds the length', () => {
    expect(toTableKey('plain-key_1')).toBe('plain-key_1');
    expect(toTableKey('a/b\\c#d?e%f\u0001')).toBe('a%2Fb%5Cc%23d%3Fe%25f%01');
    expect(toTableKey('a/b')).not.toBe(toTableKey('a%2Fb'));
    expect(toTableKey('')).toBe('%');
    const long = toTableKey('x'.repeat(5000));
    expect(long.length).toBeLessThanOrEqual(512);
    expect(long).not.toBe(toTableKey(`${'x'.repeat(4999)}y`));
  });

  test('customerKey canonicalizes GUIDs only', () => {
    expect(customerKey('{F2A5738A-44E3-EA11-BB43-000D3A2FECA1}')).toBe(CUSTOMER);
    expect(customerKey('Not-A-Guid')).toBe('Not-A-Guid');
  });

  test('storageError classifies: malformed requests are final StorageRejected, everything else transient StorageUnavailable', () => {
    const withStatus = (statusCode: number) => Object.assign(new Error('x'), { name: 'RestError', statusCode });
    expect(storageError('op', withStatus(400))).toMatchObject({ code: 'StorageRejected', transient: false, status: 400 });
    expect(storageError('op', withStatus(413))).toMatchObject({ code: 'StorageRejected', transient: false, status: 413 });
    expect(storageError('op', withStatus(503))).toMatchObject({ code: 'StorageUnavailable', transient: true, status: 503 });
    expect(storageError('op', withStatus(403))).toMatchObject({ transient: true });
    expect(storageError('op', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ transient: true });
    const original = new SyncError('IpaasRejected', 'kept');
    expect(storageError('op', original)).toBe(original);
  });
});
