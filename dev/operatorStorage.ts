/**
 * Which storage an operator's command (`npm run replay`, `npm run reconcile`) works on, and where that choice
 * came from. Never silently the local Azurite: it is used only when asked (`--local`) or configured.
 *   1. `--local`: local.settings.json, else the local Azurite (as `npm start`).
 *   2. AzureWebJobsStorage (or the identity-based AzureWebJobsStorage__* settings) in the environment.
 *   3. The selected azd environment (`azd env get-values`): its storage account's endpoints (the
 *      AZURE_STORAGE_*_ENDPOINT outputs, right in every cloud; older environments: the account name), signed in as
 *      you (az or azd login; `azd up` grants you the table and queue roles).
 *   4. AzureWebJobsStorage in local.settings.json.
 * Otherwise: an error that says how to choose.
 */
import { execFileSync } from 'node:child_process';
import { ConfigError, loadStorageConfig, STORAGE_SERVICE_URI_SETTINGS, type StorageConfig } from '../shared/config';
import { describeStorage } from '../shared/storage';
import { BUILT_IN_DEFAULTS, readLocalSettings } from './settings';

export interface OperatorStorage {
  connection: StorageConfig;
  /** One line for the operator: which storage, and why. */
  description: string;
}

/** `azd env get-values` of the selected environment, or null when azd or an environment is missing. */
export type AzdValues = () => Record<string, string> | null;

/** Parses the dotenv lines `azd env get-values` prints (KEY="value"). */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/u)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/u.exec(line);
    if (!match) continue;
    let value = match[2] ?? '';
    if (/^".*"$/u.test(value)) value = value.slice(1, -1).replace(/\\"/gu, '"').replace(/\\n/gu, '\n').replace(/\\\\/gu, '\\');
    else if (/^'.*'$/u.test(value)) value = value.slice(1, -1);
    values[match[1] ?? ''] = value;
  }
  return values;
}

export const readAzdValues: AzdValues = () => {
  try {
    const output = execFileSync('azd', ['env', 'get-values', '--no-prompt'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000, shell: process.platform === 'win32' });
    return parseDotenv(output);
  } catch {
    return null;
  }
};

export function resolveOperatorStorage(
  options: { root: string; local: boolean },
  env: NodeJS.ProcessEnv = process.env,
  azdValues: AzdValues = readAzdValues,
): OperatorStorage {
  const describe = (connection: StorageConfig, from: string): OperatorStorage => ({ connection, description: `${describeStorage(connection)}, from ${from}` });
  const local = readLocalSettings(options.root);
  if (options.local) {
    const connection = loadStorageConfig({ ...BUILT_IN_DEFAULTS, ...local });
    return describe(connection, local.AzureWebJobsStorage?.trim() ? 'local.settings.json (--local)' : 'the local Azurite (--local)');
  }
  const identitySettings = ['AzureWebJobsStorage__accountName', ...Object.values(STORAGE_SERVICE_URI_SETTINGS)];
  if (env.AzureWebJobsStorage?.trim() || identitySettings.some((name) => env[name]?.trim())) return describe(loadStorageConfig(env), 'AzureWebJobsStorage in the environment');
  const azd = azdValues();
  const account = azd?.AZURE_STORAGE_ACCOUNT_NAME?.trim();
  if (account) {
    const name = azd?.AZURE_ENV_NAME?.trim();
    // The endpoints main.bicep outputs are this cloud's; the account name alone gives public-cloud host names.
    const endpoints = {
      [STORAGE_SERVICE_URI_SETTINGS.blob]: azd?.AZURE_STORAGE_BLOB_ENDPOINT,
      [STORAGE_SERVICE_URI_SETTINGS.queue]: azd?.AZURE_STORAGE_QUEUE_ENDPOINT,
      [STORAGE_SERVICE_URI_SETTINGS.table]: azd?.AZURE_STORAGE_TABLE_ENDPOINT,
    };
    return describe(loadStorageConfig({ AzureWebJobsStorage__accountName: account, ...endpoints }), `the azd environment${name ? ` ${name}` : ''} (signed in as you)`);
  }
  if (local.AzureWebJobsStorage?.trim()) return describe(loadStorageConfig(local), 'local.settings.json');
  throw new ConfigError([
    {
      setting: 'AzureWebJobsStorage',
      problem:
        'is not set and no azd environment with a storage account was found. Run the command in the project folder after `azd up` ' +
        '(or `azd env select <name>`), set AzureWebJobsStorage (or AzureWebJobsStorage__accountName), or pass --local for the local Azurite',
    },
  ]);
}
