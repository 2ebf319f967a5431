import { loadConfig, loadStorageConfig, scheduleSetting } from '../../shared/config';
import { ClientAssertionCredential, ClientSecretCredential } from '@azure/identity';
import { createBusinessCentralCredential, tokenExchangeAudience } from '../../shared/businessCentral/credentials';
import { configProblem } from '../support/config';
import { TEST_SETTINGS } from '../support/settings';

const valid = { ...TEST_SETTINGS, AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

const problemFor = configProblem;

describe('settings', () => {
  test('a complete environment loads with defaults applied', () => {
    const config = loadConfig({ ...valid, BC_API_BASE_URL: undefined, AZURE_AUTHORITY_HOST: undefined, POLL_SCHEDULE: '' });
    expect(config.businessCentral.apiBaseUrl).toBe('https://api.businesscentral.dynamics.com/v2.0');
    expect(config.businessCentral.authorityHost).toBe('https://login.microsoftonline.com');
    expect(config.poll.schedule).toBe('0 */5 * * * *');
    expect(config.subscription.schedule).toBe('0 0 * * * *');
    expect(config.webhook.notificationUrl).toBeUndefined();
    expect(config.storage).toEqual({ connectionString: 'UseDevelopmentStorage=true' });
  });

  test.each([
    'BC_TENANT_ID',
    'BC_CLIENT_ID',
    'BC_CLIENT_SECRET',
    'BC_ENVIRONMENT',
    'BC_COMPANY_ID',
    'IPAAS_API_BASE_URL',
    'IPAAS_API_TOKEN',
    'WEBHOOK_CLIENT_STATE',
  ])('a missing %s is named in one message', (name) => {
    const message = problemFor({ ...valid, [name]: undefined });
    expect(message).toContain(`${name} is required`);
    expect(message.split(';')).toHaveLength(1);
  });

  test('a missing storage setting names AzureWebJobsStorage', () => {
    expect(problemFor({ ...valid, AzureWebJobsStorage: undefined })).toContain('AzureWebJobsStorage is required');
    expect(() => loadStorageConfig({})).toThrow(/AzureWebJobsStorage/);
  });

  test('identity-based storage is accepted', () => {
    expect(loadStorageConfig({ AzureWebJobsStorage__accountName: 'contosoSync' })).toEqual({ accountName: 'contosoSync' });
  });

  test.each([
    ['BC_COMPANY_ID', 'not-a-guid', 'must be a GUID'],
    ['IPAAS_API_BASE_URL', 'ftp://x', 'must be an https URL'],
    ['IPAAS_API_BASE_URL', 'http://api.ipaas.com', 'plain http is accepted for localhost / 127.0.0.1 only'],
    ['BC_API_BASE_URL', 'http://api.businesscentral.dynamics.com/v2.0', 'plain http is accepted for localhost / 127.0.0.1 only'],
    ['WEBHOOK_NOTIFICATION_URL', 'http://sync.example.com/api/webhooks/business-central', 'must be an https URL'],
    ['IPAAS_API_BASE_URL', 'https://user:pass@api.ipaas.com', 'must not carry a user name or password'],
    ['POLL_START_FROM', '1', 'ISO timestamp'],
    ['POLL_START_FROM', '2026-02-30T00:00:00Z', 'ISO timestamp'],
    ['POLL_START_FROM', '2026-01-01T10:00:00', 'needs its zone'],
    ['POLL_START_FROM', '2999-01-01T00:00:00Z', 'must not be in the future'],
    ['TRANSFER_RETENTION_DAYS', '0', 'at least 1 day'],
    ['TRANSFER_RETENTION_DAYS', 'ninety', 'must be a number of days'],
    ['POLL_OVERLAP_SECONDS', '0', 'at least 1 second'],
    ['POLL_OVERLAP_SECONDS', '1.5', 'whole number of seconds'],
    ['AZURE_AUTHORITY_HOST', 'http://login.local', 'must be an https URL'],
    ['POLL_SCHEDULE', '*/5 * * * *', 'six-field NCRONTAB'],
    ['SUBSCRIPTION_SCHEDULE', 'hourly', 'six-field NCRONTAB'],
    ['POLL_START_FROM', 'yesterday', 'ISO timestamp'],
    ['WEBHOOK_CLIENT_STATE', 'short', 'at least 16 characters'],
    ['HTTP_TIMEOUT_MS', 'ten', 'must be a number'],
    ['OUTAGE_MAX_RETRY_AFTER_SECONDS', '10', 'at least 30 seconds'],
    ['OUTAGE_MAX_RETRY_AFTER_SECONDS', '604800', 'at most 86400 seconds'],
  ])('a malformed %s is named with the reason', (name, value, reason) => {
    const message = problemFor({ ...valid, [name]: value });
    expect(message).toContain(name);
    expect(message).toContain(reason);
  });

  test('plain http is accepted for loopback hosts only, ISO dates and date-times with a zone are accepted', () => {
    for (const url of ['http://localhost:7071/api/webhooks/business-central', 'http://127.0.0.1:9001', 'http://[::1]:8080']) {
      expect(() => loadConfig({ ...valid, WEBHOOK_NOTIFICATION_URL: url, IPAAS_API_BASE_URL: url, BC_API_BASE_URL: url })).not.toThrow();
    }
    for (const start of ['2026-01-01', '2026-01-01T00:00Z', '2026-01-01T00:00:00.123+01:00']) {
      expect(loadConfig({ ...valid, POLL_START_FROM: start }).poll.startFrom).toBe(start);
    }
    expect(loadConfig(valid).retention.transferDays).toBe(90);
    expect(loadConfig({ ...valid, TRANSFER_RETENTION_DAYS: '30' }).retention.transferDays).toBe(30);
    expect(loadConfig(valid).poll.overlapMs).toBe(120_000);
    expect(loadConfig({ ...valid, POLL_OVERLAP_SECONDS: '12' }).poll.overlapMs).toBe(12_000);
    expect(loadConfig(valid).outage.maxRetryAfterMs).toBe(15 * 60_000);
    expect(loadConfig({ ...valid, OUTAGE_MAX_RETRY_AFTER_SECONDS: '120' }).outage.maxRetryAfterMs).toBe(120_000);
  });

  test('several problems are all named', () => {
    const message = problemFor({ ...valid, BC_TENANT_ID: undefined, IPAAS_API_TOKEN: '' });
    expect(message).toContain('BC_TENANT_ID');
    expect(message).toContain('IPAAS_API_TOKEN');
  });

  test('error messages never contain secret values', () => {
    const message = problemFor({ ...valid, BC_COMPANY_ID: 'x', WEBHOOK_CLIENT_STATE: 'tiny-secret' });
    expect(message).not.toContain(valid.BC_CLIENT_SECRET);
    expect(message).not.toContain('tiny-secret');
    expect(message).not.toContain(valid.IPAAS_API_TOKEN);
  });

  test('schedules for registration fall back to defaults when invalid', () => {
    expect(scheduleSetting('POLL_SCHEDULE', { POLL_SCHEDULE: '*/10 * * * * *' })).toBe('*/10 * * * * *');
    expect(scheduleSetting('POLL_SCHEDULE', { POLL_SCHEDULE: 'bad' })).toBe('0 */5 * * * *');
    expect(scheduleSetting('SUBSCRIPTION_SCHEDULE', {})).toBe('0 0 * * * *');
  });
});

test('an unresolved Key Vault reference is refused, naming the setting', () => {
  const message = problemFor({ ...valid, WEBHOOK_CLIENT_STATE: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/WEBHOOK-CLIENT-STATE/)' });
  expect(message).toContain('WEBHOOK_CLIENT_STATE is an unresolved Key Vault reference');
});

describe('Business Central credential', () => {
  test('a client secret means clientSecret', () => {
    expect(loadConfig(valid).businessCentral).toMatchObject({ credential: 'clientSecret', clientSecret: TEST_SETTINGS.BC_CLIENT_SECRET });
  });

  test('in Azure without a secret: the managed identity (AZURE_CLIENT_ID) through a federated credential', () => {
    const config = loadConfig({ ...valid, BC_CLIENT_SECRET: undefined, IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token', AZURE_CLIENT_ID: 'b0f0a0c0-0000-4000-8000-000000000001' });
    expect(config.businessCentral).toMatchObject({ credential: 'managedIdentity', clientSecret: '', managedIdentityClientId: 'b0f0a0c0-0000-4000-8000-000000000001' });
  });

  test('BC_CREDENTIAL=managedIdentity needs no secret, and ignores one that is left over', () => {
    expect(loadConfig({ ...valid, BC_CREDENTIAL: 'managedIdentity' }).businessCentral).toMatchObject({ credential: 'managedIdentity', clientSecret: '' });
  });

  test('BC_CREDENTIAL=clientSecret without BC_CLIENT_SECRET, or an unknown BC_CREDENTIAL, is named', () => {
    expect(problemFor({ ...valid, BC_CREDENTIAL: 'clientSecret', BC_CLIENT_SECRET: undefined, IDENTITY_ENDPOINT: 'http://x' })).toContain('BC_CLIENT_SECRET is required with BC_CREDENTIAL=clientSecret');
    expect(problemFor({ ...valid, BC_CREDENTIAL: 'certificate' })).toContain('BC_CREDENTIAL must be one of clientSecret, managedIdentity');
  });

  test('the token-exchange audience follows the cloud of the authority', () => {
    expect(tokenExchangeAudience('https://login.microsoftonline.com')).toBe('api://AzureADTokenExchange');
    expect(tokenExchangeAudience('https://login.microsoftonline.us')).toBe('api://AzureADTokenExchangeUSGov');
    expect(tokenExchangeAudience('https://login.chinacloudapi.cn')).toBe('api://AzureADTokenExchangeChina');
  });

  test('the credential is a client assertion backed by the managed identity, never a secret', () => {
    const config = loadConfig({ ...valid, BC_CREDENTIAL: 'managedIdentity' });
    expect(createBusinessCentralCredential(config.businessCentral)).toBeInstanceOf(ClientAssertionCredential);
    expect(createBusinessCentralCredential(loadConfig(valid).businessCentral)).toBeInstanceOf(ClientSecretCredential);
  });

  test('storage in Azure uses the managed identity explicitly', () => {
    expect(loadStorageConfig({ AzureWebJobsStorage__accountName: 'stabc', AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: 'id-1' })).toEqual({
      accountName: 'stabc',
      clientId: 'id-1',
      credential: 'managedidentity',
    });
  });
});

describe('webhook URL', () => {
  test('in Azure it defaults to the app\'s own host name, so one deployment enables webhooks', () => {
    expect(loadConfig({ ...valid, WEBSITE_HOSTNAME: 'func-abc-1f2e3d4c.azurewebsites.net' }).webhook.notificationUrl).toBe(
      'https://func-abc-1f2e3d4c.azurewebsites.net/api/webhooks/business-central',
    );
  });

  test('an explicit URL wins; none turns the webhook off; locally there is no default', () => {
    expect(loadConfig({ ...valid, WEBSITE_HOSTNAME: 'a.azurewebsites.net', WEBHOOK_NOTIFICATION_URL: 'https://hooks.example.com/bc' }).webhook.notificationUrl).toBe('https://hooks.example.com/bc');
    expect(loadConfig({ ...valid, WEBSITE_HOSTNAME: 'a.azurewebsites.net', WEBHOOK_NOTIFICATION_URL: 'None' }).webhook.notificationUrl).toBeUndefined();
    expect(loadConfig({ ...valid, WEBHOOK_NOTIFICATION_URL: undefined }).webhook.notificationUrl).toBeUndefined();
    expect(problemFor({ ...valid, WEBHOOK_NOTIFICATION_URL: 'ftp://x' })).toContain('WEBHOOK_NOTIFICATION_URL');
  });
});

describe('iPaaS.com external ids and paths', () => {
  test('IPAAS_SYSTEM_ID: unset by default, an integer > 0 when set; no invented default', () => {
    const unset = loadConfig(valid);
    expect(unset.ipaas.systemId).toBeUndefined();
    expect(unset.ipaas.externalIdSource).toBe('number');
    expect(loadConfig({ ...valid, IPAAS_SYSTEM_ID: ' 1207 ', IPAAS_EXTERNAL_ID_SOURCE: 'id' }).ipaas).toMatchObject({ systemId: 1207, externalIdSource: 'id' });
  });

  test.each(['BusinessCentral', '0', '-5', '12.5', '1e3', '99999999999999999999'])('IPAAS_SYSTEM_ID=%s fails at start naming the setting', (value) => {
    expect(problemFor({ ...valid, IPAAS_SYSTEM_ID: value })).toMatch(/IPAAS_SYSTEM_ID must be a whole number greater than 0/u);
  });

  test('IPAAS_EXTERNAL_ID_SOURCE accepts number or id only', () => {
    expect(problemFor({ ...valid, IPAAS_EXTERNAL_ID_SOURCE: 'guid' })).toMatch(/IPAAS_EXTERNAL_ID_SOURCE must be "number"/u);
  });

  test('IPAAS_CLIENT_ID: unset by default (no header), printable text without spaces when set', () => {
    expect(loadConfig(valid).ipaas.clientId).toBeUndefined();
    expect(loadConfig({ ...valid, IPAAS_CLIENT_ID: ' contoso-0001 ' }).ipaas.clientId).toBe('contoso-0001');
    expect(problemFor({ ...valid, IPAAS_CLIENT_ID: 'two words' })).toMatch(/IPAAS_CLIENT_ID must be printable ASCII without spaces.*X-Client-Id/u);
    expect(problemFor({ ...valid, IPAAS_CLIENT_ID: 'naïve' })).toMatch(/IPAAS_CLIENT_ID/u);
  });

  test('IPAAS_ADDRESS_MODE: separate by default, nested accepted, anything else fails naming both values', () => {
    expect(loadConfig(valid).ipaas).toMatchObject({ addressMode: 'separate', addressCollection: 'addresses' });
    expect(loadConfig({ ...valid, IPAAS_ADDRESS_MODE: 'nested', IPAAS_ADDRESS_COLLECTION: 'customer_addresses' }).ipaas).toMatchObject({ addressMode: 'nested', addressCollection: 'customer_addresses' });
    expect(problemFor({ ...valid, IPAAS_ADDRESS_MODE: 'inline' })).toMatch(/IPAAS_ADDRESS_MODE must be "separate".*"nested"/u);
    expect(problemFor({ ...valid, IPAAS_ADDRESS_COLLECTION: 'addresses[]' })).toMatch(/IPAAS_ADDRESS_COLLECTION must be the JSON field name/u);
  });

  test('IPAAS_PATHS overrides a template by name and keeps the other defaults', () => {
    const { paths } = loadConfig({ ...valid, IPAAS_PATHS: '{"addAddress":"/customers/v2/Customer/Address/{id}","createCustomer":"/customers/v2/Customer/"}' }).ipaas;
    expect(paths.addAddress).toBe('/customers/v2/Customer/Address/{id}');
    expect(paths.createCustomer).toBe('/customers/v2/Customer');
    expect(paths.getCustomer).toBe('/customers/v2/Customer/{id}');
  });

  test.each([
    ['not JSON', '{createCustomer:', /IPAAS_PATHS must be a JSON object/u],
    ['an array', '["x"]', /IPAAS_PATHS must be a JSON object/u],
    ['an unknown name', '{"deleteCustomer":"/customers/v2/Customer/{id}"}', /IPAAS_PATHS has an unknown path name "deleteCustomer" \(known: searchCustomers, /u],
    ['a template missing {id}', '{"updateCustomer":"/customers/v2/Customer"}', /IPAAS_PATHS "updateCustomer" must contain \{id\}/u],
    ['an unknown placeholder', '{"createCustomer":"/customers/v2/{tenant}/Customer"}', /IPAAS_PATHS "createCustomer" has unknown placeholder\(s\) \{tenant\}/u],
    ['not a path', '{"getCustomer":"customers/v2/Customer/{id}"}', /IPAAS_PATHS "getCustomer" must be a path starting with "\/"/u],
    ['a query in the path', '{"searchCustomers":"/customers/v2/Customers?action=equals"}', /IPAAS_PATHS "searchCustomers" must be a path/u],
  ])('IPAAS_PATHS with %s fails at start with a clear message', (_name, value, message) => {
    expect(problemFor({ ...valid, IPAAS_PATHS: value })).toMatch(message);
  });
});
