import { loadConfig } from '../../shared/config';
import { configProblem } from '../support/config';
import { TEST_SETTINGS } from '../support/settings';

const US = 'b18aed47-c385-49d2-b954-dbdf8ad71780';
const CA = 'c2d4e6f8-0a1b-4c3d-8e5f-6a7b8c9d0e1f';
const base = { ...TEST_SETTINGS, AzureWebJobsStorage: 'UseDevelopmentStorage=true', BC_COMPANY_ID: undefined } as Record<string, string | undefined>;
const companies = (entries: unknown): Record<string, string | undefined> => ({ ...base, BC_COMPANIES: JSON.stringify(entries) });

const problemFor = configProblem;

describe('BC_COMPANIES and BC_COMPANY_ID', () => {
  test('BC_COMPANY_ID alone is one company named by its id (no name is invented), with the global settings', () => {
    const config = loadConfig({ ...base, BC_COMPANY_ID: US.toUpperCase(), IPAAS_SYSTEM_ID: '1207' });
    expect(config.companies).toHaveLength(1);
    expect(config.companies[0]).toMatchObject({ id: US, name: US, index: 0, ipaas: { systemId: 1207, apiToken: TEST_SETTINGS.IPAAS_API_TOKEN, tokenSetting: 'IPAAS_API_TOKEN' } });
    expect(config.companies[0]!.mapping.isDefault).toBe(true);
    expect(config.businessCentral.companyId).toBe(US);
  });

  test('each company has its own mapping file, system id and token setting, defaulting to the global ones', () => {
    const config = loadConfig({
      ...companies([
        { id: US, name: 'CRONUS USA, Inc.' },
        { id: CA.toUpperCase(), name: 'CRONUS Canada', ipaasSystemId: 2208, mappingFile: 'mappings/customer-to-ipaas.json', ipaasApiTokenSetting: 'IPAAS_API_TOKEN_CA' },
      ]),
      IPAAS_SYSTEM_ID: '1207',
      IPAAS_API_TOKEN_CA: 'canada-token-0001',
    });
    expect(config.companies.map((company) => [company.id, company.name, company.index, company.ipaas.systemId, company.ipaas.tokenSetting])).toEqual([
      [US, 'CRONUS USA, Inc.', 0, 1207, 'IPAAS_API_TOKEN'],
      [CA, 'CRONUS Canada', 1, 2208, 'IPAAS_API_TOKEN_CA'],
    ]);
    expect(config.companies[1]!.ipaas.apiToken).toBe('canada-token-0001');
    expect(config.companies[1]!.mapping.isDefault).toBe(false);
    expect(config.businessCentral.companyId).toBe(US);
  });

  test('IPAAS_API_TOKEN is not needed when every company names its own token setting', () => {
    const config = loadConfig({ ...companies([{ id: US, name: 'US', ipaasApiTokenSetting: 'TOKEN_US' }]), IPAAS_API_TOKEN: undefined, TOKEN_US: 'us-token-000001' });
    expect(config.ipaas.apiToken).toBe('us-token-000001');
  });

  test.each([
    ['both settings', { ...companies([{ id: US, name: 'US' }]), BC_COMPANY_ID: US }, /BC_COMPANIES and BC_COMPANY_ID are both set/u],
    ['neither', { ...base }, /BC_COMPANY_ID is required \(or BC_COMPANIES for several companies\)/u],
    ['not JSON', { ...base, BC_COMPANIES: '[{id:' }, /BC_COMPANIES must be a JSON array/u],
    ['an empty array', companies([]), /BC_COMPANIES must be a non-empty JSON array/u],
    ['a bad GUID', companies([{ id: US, name: 'US' }, { id: 'canada', name: 'CRONUS Canada' }]), /BC_COMPANIES entry 2 \("CRONUS Canada"\): id must be a GUID/u],
    ['a missing name', companies([{ id: US }]), /BC_COMPANIES entry 1: name is required/u],
    ['a duplicate id', companies([{ id: US, name: 'A' }, { id: US.toUpperCase(), name: 'B' }]), /BC_COMPANIES entry 2 \("B"\): id b18aed47-c385-49d2-b954-dbdf8ad71780 is also entry 1's/u],
    ['a duplicate name', companies([{ id: US, name: 'Cronus' }, { id: CA, name: 'CRONUS' }]), /BC_COMPANIES entry 2 \("CRONUS"\): name "CRONUS" is also entry 1's/u],
    ['a name with a slash', companies([{ id: US, name: 'US/East' }]), /entry 1 \("US\/East"\): name must not contain/u],
    ['a name that is another GUID', companies([{ id: US, name: CA }]), /name must not be a GUID/u],
    ['an unknown field', companies([{ id: US, name: 'US', mappingfile: 'x.json' }]), /entry 1 \("US"\): unknown field\(s\) "mappingfile"/u],
    ['a bad system id', companies([{ id: US, name: 'US', ipaasSystemId: 0 }]), /entry 1 \("US"\): ipaasSystemId must be a whole number greater than 0/u],
    ['a token setting that is missing', companies([{ id: US, name: 'US' }, { id: CA, name: 'CA', ipaasApiTokenSetting: 'IPAAS_TOKEN_CA' }]), /entry 2 \("CA"\): ipaasApiTokenSetting names IPAAS_TOKEN_CA, which is not set/u],
    ['a token instead of a setting name', companies([{ id: US, name: 'US', ipaasApiTokenSetting: 'eyJ0eXAiOi JKV1Qi' }]), /ipaasApiTokenSetting must be the name of another setting/u],
    ['a mapping file that does not load', companies([{ id: US, name: 'US', mappingFile: 'mappings/nope.json' }]), /entry 1 \("US"\): mappingFile does not load \(mappings\/nope.json: no such file/u],
  ])('%s fails at start with one message naming the setting and the entry', (_case, env, expected) => {
    expect(problemFor(env)).toMatch(expected);
  });

  test('a missing token setting never shows the other tokens', () => {
    const message = problemFor({ ...companies([{ id: US, name: 'US' }, { id: CA, name: 'CA', ipaasApiTokenSetting: 'IPAAS_TOKEN_CA' }]) });
    expect(message).not.toContain(TEST_SETTINGS.IPAAS_API_TOKEN);
  });

  test('an unresolved Key Vault reference in a company token setting is refused, naming that setting', () => {
    const message = problemFor({
      ...companies([{ id: US, name: 'US', ipaasApiTokenSetting: 'IPAAS_TOKEN_US' }]),
      IPAAS_TOKEN_US: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/IPAAS-TOKEN-US/)',
    });
    expect(message).toContain('IPAAS_TOKEN_US is an unresolved Key Vault reference');
  });
});
