import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../shared/config';
import { parseDotenv, resolveOperatorStorage } from '../../dev/operatorStorage';
import { blobServiceClient, queueClient, tableClient } from '../../shared/storage';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'operator-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const localSettings = (values: Record<string, string>) => writeFileSync(path.join(root, 'local.settings.json'), JSON.stringify({ IsEncrypted: false, Values: values }));
const noAzd = () => null;

test('the environment comes first and says so', () => {
  const resolved = resolveOperatorStorage({ root, local: false }, { AzureWebJobsStorage__accountName: 'stprod' }, () => ({ AZURE_STORAGE_ACCOUNT_NAME: 'other' }));
  expect(resolved.connection).toEqual({ accountName: 'stprod' });
  expect(resolved.description).toBe('storage account stprod (identity-based), from AzureWebJobsStorage in the environment');
});

test('then the selected azd environment, identity-based as the signed-in operator', () => {
  const resolved = resolveOperatorStorage({ root, local: false }, {}, () => ({ AZURE_ENV_NAME: 'bc-sync-prod', AZURE_STORAGE_ACCOUNT_NAME: 'stabc123' }));
  expect(resolved.connection).toEqual({ accountName: 'stabc123' });
  expect(resolved.description).toBe('storage account stabc123 (identity-based), from the azd environment bc-sync-prod (signed in as you)');
});

test('then local.settings.json; never the local Azurite without --local', () => {
  expect(() => resolveOperatorStorage({ root, local: false }, {}, noAzd)).toThrow(ConfigError);
  expect(() => resolveOperatorStorage({ root, local: false }, {}, noAzd)).toThrow(/--local/u);
  localSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
  expect(resolveOperatorStorage({ root, local: false }, {}, noAzd).description).toBe('development storage (Azurite), from local.settings.json');
});

test('--local uses local.settings.json or the local Azurite, and says which', () => {
  expect(resolveOperatorStorage({ root, local: true }, { AzureWebJobsStorage__accountName: 'stprod' }, noAzd).description).toBe('development storage (Azurite), from the local Azurite (--local)');
});

test('azd env get-values output is parsed as dotenv', () => {
  expect(parseDotenv('AZURE_ENV_NAME="prod"\nAZURE_STORAGE_ACCOUNT_NAME="st1"\nQUOTED="a \\"b\\""\n\nBAD LINE')).toEqual({ AZURE_ENV_NAME: 'prod', AZURE_STORAGE_ACCOUNT_NAME: 'st1', QUOTED: 'a "b"' });
});

test("an azd environment's storage endpoints win over the account name, so a sovereign cloud is reached at its own host names", () => {
  const resolved = resolveOperatorStorage({ root, local: false }, {}, () => ({
    AZURE_ENV_NAME: 'bc-sync-gov',
    AZURE_STORAGE_ACCOUNT_NAME: 'stgov1',
    AZURE_STORAGE_BLOB_ENDPOINT: 'https://stgov1.blob.core.usgovcloudapi.net/',
    AZURE_STORAGE_QUEUE_ENDPOINT: 'https://stgov1.queue.core.usgovcloudapi.net/',
    AZURE_STORAGE_TABLE_ENDPOINT: 'https://stgov1.table.core.usgovcloudapi.net/',
  }));
  expect(tableClient(resolved.connection, 'T').url).toBe('https://stgov1.table.core.usgovcloudapi.net');
  expect(queueClient(resolved.connection, 'q').url).toBe('https://stgov1.queue.core.usgovcloudapi.net/q');
  expect(blobServiceClient(resolved.connection).url).toBe('https://stgov1.blob.core.usgovcloudapi.net/');
});
