/** Settings every test starts from; the fakes serve these URLs. */
export const TEST_SETTINGS = {
  BC_TENANT_ID: '4f1a1d7e-0e4f-4b8e-9a55-6f3c2a1b0c9d',
  BC_CLIENT_ID: '9b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d',
  BC_CLIENT_SECRET: 'test-client-secret-value-0001',
  BC_ENVIRONMENT: 'production',
  BC_COMPANY_ID: 'b18aed47-c385-49d2-b954-dbdf8ad71780',
  BC_API_BASE_URL: 'https://api.businesscentral.test/v2.0',
  AZURE_AUTHORITY_HOST: 'https://login.entra.test',
  IPAAS_API_BASE_URL: 'https://api.ipaas.test',
  IPAAS_API_TOKEN: 'test-ipaas-api-token-0001',
  WEBHOOK_CLIENT_STATE: 'test-client-state-0123456789abcdef',
  HTTP_RETRY_BASE_MS: '5',
  HTTP_RETRY_MAX_DELAY_MS: '2000',
  HTTP_TIMEOUT_MS: '2000',
} as const;
