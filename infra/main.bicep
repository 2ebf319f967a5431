// Everything `azd up` provisions for the Business Central → iPaaS.com customer sync: a Function App on the
// Flex Consumption plan running as a user-assigned identity, its storage (no shared keys), Key Vault for
// the three secrets (with expiry dates), Log Analytics (daily cap) + Application Insights, the operations workbook,
// the alert rules, an availability test, a cost budget and, with VNET_ENABLED, a private network for storage.
// Every setting shared/config.ts reads is a parameter here (test/infra/agreement.test.ts checks that).
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------
// azd environment
// ---------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds the unique suffix of resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption: az functionapp list-flexconsumption-locations -o table')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or reuse; empty means rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of whoever runs azd (azd fills it in; empty means the deploying principal, deployer()). Gets Key Vault Secrets Officer to rotate secrets and the storage data roles that npm run replay and npm run reconcile need.')
param principalId string = ''

@description('Kind of principalId (azd fills it in).')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// ---------------------------------------------------------------------------------------------------
// App settings (shared/config.ts). Required ones have no default, so azd asks for them when unset.
// Optional ones default to '' and are then left out of the app settings, so the app's own default applies.
// ---------------------------------------------------------------------------------------------------

@description('BC_TENANT_ID: Entra tenant (GUID or domain) of the Business Central environment.')
param bcTenantId string

@description('BC_CLIENT_ID: application (client) id of the Entra app registration used for Business Central.')
param bcClientId string

@description('BC_CREDENTIAL: empty means managedIdentity without BC_CLIENT_SECRET (the app registration trusts this app\'s managed identity through a federated credential; no secret) and clientSecret with it.')
@allowed([
  ''
  'managedIdentity'
  'clientSecret'
])
param bcCredential string = ''

@secure()
@description('BC_CLIENT_SECRET: client secret of that app registration, only with BC_CREDENTIAL=clientSecret. Stored in Key Vault only; empty stores nothing.')
param bcClientSecret string = ''

@description('BC_ENVIRONMENT: Business Central environment name, e.g. production.')
param bcEnvironment string

@description('BC_COMPANY_ID: GUID of the Business Central company; empty when BC_COMPANIES lists the companies (exactly one of the two).')
param bcCompanyId string = ''

@description('BC_COMPANIES: several companies of the environment in one deployment, a JSON array [{"id","name","ipaasSystemId","mappingFile","ipaasApiTokenSetting"}] (docs/deploy.md, Several companies); empty means BC_COMPANY_ID alone.')
param bcCompanies string = ''

@description('Settings that hold a company\'s own iPaaS.com token (BC_COMPANIES ipaasApiTokenSetting), comma-separated, e.g. IPAAS_API_TOKEN_CANADA: each becomes a Key Vault reference.')
param ipaasCompanyTokenSettings string = ''

@secure()
@description('The tokens of ipaasCompanyTokenSettings as a JSON object, e.g. {"IPAAS_API_TOKEN_CANADA":"<token>"}. Stored in Key Vault only.')
param ipaasCompanyTokens string = ''

@description('BC_API_BASE_URL: empty means https://api.businesscentral.dynamics.com/v2.0.')
param bcApiBaseUrl string = ''

@description('AZURE_AUTHORITY_HOST: Entra authority for the Business Central token; empty means the Entra ID authority of the public cloud (docs/deploy.md).')
param azureAuthorityHost string = ''

@description('IPAAS_API_BASE_URL: iPaaS.com API root, e.g. https://api.ipaas.com.')
param ipaasApiBaseUrl string

@secure()
@description('IPAAS_API_TOKEN: iPaaS.com API key with customer create/update permission. Stored in Key Vault only.')
param ipaasApiToken string

@secure()
@minLength(16)
@description('WEBHOOK_CLIENT_STATE: shared secret (16+ characters) Business Central echoes in every notification. Stored in Key Vault only.')
param webhookClientState string

@description('WEBHOOK_NOTIFICATION_URL: public URL of the webhook; empty means this app\'s own URL (the WEBHOOK_URL output), none means no Business Central subscription (polling only).')
param webhookNotificationUrl string = ''

@description('POLL_SCHEDULE: NCRONTAB (UTC) of the polling fallback; empty means every 5 minutes (0 */5 * * * *).')
param pollSchedule string = ''

@description('SUBSCRIPTION_SCHEDULE: NCRONTAB (UTC) of the webhook-subscription check; empty means hourly (0 0 * * * *).')
param subscriptionSchedule string = ''

@description('POLL_START_FROM: ISO timestamp the first poll starts from; empty means a full initial load.')
param pollStartFrom string = ''

@description('POLL_OVERLAP_SECONDS: how far before its watermark each poll reads again; empty means the app default (120).')
param pollOverlapSeconds string = ''

@description('RECONCILE_SCHEDULE: NCRONTAB (UTC) of a scheduled reconciliation (report only); empty means none.')
param reconcileSchedule string = ''

@description('TRANSFER_RETENTION_DAYS: transfer history older than this many days is deleted daily; empty means the app default (90).')
param transferRetentionDays string = ''

@description('IPAAS_SYSTEM_ID: iPaaS.com subscription id of the Business Central system (GET /subscriptions/v2/Subscriptions); empty means customers are not linked by external id.')
param ipaasSystemId string = ''

@description('IPAAS_EXTERNAL_ID_SOURCE: number (default) or id: what the iPaaS.com external id of a customer is.')
param ipaasExternalIdSource string = ''

@description('IPAAS_PATHS: JSON object overriding iPaaS.com path templates by name; empty means the documented defaults.')
param ipaasPaths string = ''

@description('IPAAS_CLIENT_ID: sent as X-Client-Id on every iPaaS.com request when set; empty sends no such header.')
param ipaasClientId string = ''

@description('IPAAS_ADDRESS_MODE: separate (default; each address posted to addAddress) or nested (addresses inside the customer body).')
param ipaasAddressMode string = ''

@description('IPAAS_ADDRESS_COLLECTION: the customer body field holding the address collection with IPAAS_ADDRESS_MODE=nested; empty means addresses.')
param ipaasAddressCollection string = ''

@description('HTTP_TIMEOUT_MS: per-request timeout; empty means the app default (30000).')
param httpTimeoutMs string = ''

@description('HTTP_MAX_ATTEMPTS: attempts per outbound request; empty means the app default (4).')
param httpMaxAttempts string = ''

@description('HTTP_RETRY_BASE_MS: first retry back-off; empty means the app default (500).')
param httpRetryBaseMs string = ''

@description('HTTP_RETRY_MAX_DELAY_MS: longest back-off or Retry-After honoured; empty means the app default (30000).')
param httpRetryMaxDelayMs string = ''

@description('BC_MAX_CONCURRENT_REQUESTS: Business Central requests in flight per instance; empty means the app default (5).')
param bcMaxConcurrentRequests string = ''

@description('BC_SHARED_BUDGET: on (every instance shares one Business Central budget in Table Storage: 5 at once, 6,000 per 5 minutes) or off; empty means the app default (on in Azure).')
param bcSharedBudget string = ''

@description('IPAAS_MAX_CONCURRENT_REQUESTS: iPaaS.com requests in flight per instance; empty means the app default (10).')
param ipaasMaxConcurrentRequests string = ''

@description('SYNC_LEASE_SECONDS: how long one transfer holds its customer lease; empty means the app default (120).')
param syncLeaseSeconds string = ''

@description('OUTAGE_MAX_RETRY_AFTER_SECONDS: the longest a Retry-After may hold a service before it is probed again (30 to 86400); empty means the app default (900).')
param outageMaxRetryAfterSeconds string = ''

@description('CONSOLE_ACCESS: who may open the operator console: signed-in (Entra ID users through App Service Authentication; the app default in Azure), open or off.')
@allowed([
  ''
  'signed-in'
  'open'
  'off'
])
param consoleAccess string = ''

@description('Client id of the Entra ID app registration operators sign in with to open /api/console (App Service Authentication). Empty: no sign-in is configured and the console (CONSOLE_ACCESS signed-in) cannot be opened.')
param consoleClientId string = ''

@description('CUSTOMER_MAPPING_FILE: mapping collection file in the deployment package, relative to its root (e.g. mappings/contoso.json); empty means mappings/customer-to-ipaas.json.')
param customerMappingFile string = ''

// ---------------------------------------------------------------------------------------------------
// Hosting and monitoring
// ---------------------------------------------------------------------------------------------------

@description('Most instances per function group. Every transfer needs about one Business Central request and all instances share BC_MAX_CONCURRENT_REQUESTS request slots (BC_SHARED_BUDGET), so instances beyond what the slots keep busy only wait and pay (docs/performance.md, Scale-out). Flex Consumption may require at least 40 in some regions; the shared budget still bounds Business Central then.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 2

@description('Random suffix of the Function App name, so its host name and webhook URL cannot be guessed from the environment name; the preprovision hook sets it once for a new environment (empty keeps func-<token>).')
@maxLength(12)
param functionAppNameSuffix string = ''

@description('Memory per instance (MB).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Most GB Log Analytics ingests per day (-1: no cap). Nothing is sampled; once reached, ingestion stops until 00:00 UTC and an alert says so.')
@minValue(-1)
param logDailyCapGb int = 5

@description('Monthly cost budget of the resource group, in the billing currency; 0: no budget.')
@minValue(0)
param costBudgetAmount int = 100

@description('First day of the month the budget starts (yyyy-MM-01); set once by the preprovision hook, since Azure refuses to change it later. Empty: this month (the first provision).')
param costBudgetStartDate string = ''

@description('First day of this month (never set it): the budget start of a first provision without COST_BUDGET_START_DATE.')
param currentMonthStart string = utcNow('yyyy-MM-01')

@description('Expiry of the iPaaS.com API key (IPAAS_API_TOKEN) as an ISO date-time, e.g. 2027-01-31T00:00:00Z; empty: SECRET_ROTATION_DAYS after this provision. Key Vault alerts 30 days before.')
param ipaasApiTokenExpiresOn string = ''

@description('Expiry of the Business Central client secret (only with BC_CREDENTIAL=clientSecret) as an ISO date-time; empty: SECRET_ROTATION_DAYS after this provision.')
param bcCredentialExpiresOn string = ''

@description('Days after a provision at which secrets without a known expiry (WEBHOOK_CLIENT_STATE, and the others when their date is not set) are due for rotation.')
@minValue(31)
param secretRotationDays int = 365

@description('Time of this deployment (never set it): the base of the rotation dates above.')
param provisionTime string = utcNow()

@description('Private network: storage is reachable only through private endpoints from the app\'s virtual network (docs/deploy.md).')
param vnetEnabled bool = false

@description('Key Vault purge protection. Once on it cannot be turned off, and `azd down --purge` can no longer remove the vault.')
param enableKeyVaultPurgeProtection bool = false

@description('Email address for alert notifications; empty creates the alert rules without notifying anyone.')
param alertEmail string = ''

@description('Failed transfers within 15 minutes above which the failure-spike alert fires.')
@minValue(1)
param failedTransfersAlertThreshold int = 20

@description('Missing + Drifted customers in a completed reconciliation above which the drift alert fires.')
@minValue(0)
param reconcileDriftAlertThreshold int = 50

// ---------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The key of the service in azure.yaml; azd deploys to the resource tagged with it.
var serviceName = 'api'
var functionAppName = empty(functionAppNameSuffix) ? 'func-${resourceToken}' : 'func-${resourceToken}-${toLower(functionAppNameSuffix)}'
var deploymentContainerName = 'app-package'
// When a secret without a known expiry is due for rotation.
var rotationDate = dateTimeAdd(provisionTime, 'P${secretRotationDays}D')

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    dailyCapGb: logDailyCapGb
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    vnetEnabled: vnetEnabled
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    enablePurgeProtection: enableKeyVaultPurgeProtection
    storeBcClientSecret: !empty(bcClientSecret)
    bcClientSecret: bcClientSecret
    ipaasApiToken: ipaasApiToken
    webhookClientState: webhookClientState
    companyTokenSettings: companyTokenSettings
    companyTokens: ipaasCompanyTokens
    bcClientSecretExpiry: dateTimeToEpoch(empty(bcCredentialExpiresOn) ? rotationDate : bcCredentialExpiresOn)
    ipaasApiTokenExpiry: dateTimeToEpoch(empty(ipaasApiTokenExpiresOn) ? rotationDate : ipaasApiTokenExpiresOn)
    webhookClientStateExpiry: dateTimeToEpoch(rotationDate)
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

// Each company's own iPaaS.com token: a Key Vault secret, and the app setting BC_COMPANIES names refers to it.
var companyTokenSettings = filter(map(split(ipaasCompanyTokenSettings, ','), setting => trim(setting)), setting => !empty(setting))
var companyTokenAppSettings = [
  for setting in companyTokenSettings: {
    name: setting
    value: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/IPAAS-TOKEN-${toUpper(replace(replace(setting, '_', '-'), '.', '-'))}/)'
  }
]

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'roleAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: empty(principalId) ? deployer().objectId : principalId
    operatorPrincipalType: principalType
  }
}

// Identity-based host storage with a user-assigned identity needs __credential and __clientId besides the
// service URIs; AZURE_CLIENT_ID makes the app's own DefaultAzureCredential (tables, queues) pick that identity.
// The URIs come from the storage account itself (this cloud's endpoints, not host names built from the account
// name, which hold for the public cloud only): the host and the app (shared/storage/connection.ts) both use them.
var platformAppSettings = [
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.outputs.blobServiceUri
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.outputs.queueServiceUri
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.outputs.tableServiceUri
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identity.outputs.clientId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.outputs.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: monitoring.outputs.applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  }
  // No NODE_OPTIONS=--enable-source-maps: reading the source maps at every start costs more than loading the app.
  // The maps are deployed beside the bundle; add that setting while diagnosing a stack trace (docs/performance.md).
]

// Secrets are Key Vault references, resolved by the platform with the app's identity.
var requiredAppSettings = [
  {
    name: 'BC_TENANT_ID'
    value: bcTenantId
  }
  {
    name: 'BC_CLIENT_ID'
    value: bcClientId
  }
  {
    name: 'BC_ENVIRONMENT'
    value: bcEnvironment
  }
  {
    name: 'IPAAS_API_BASE_URL'
    value: ipaasApiBaseUrl
  }
  {
    name: 'IPAAS_API_TOKEN'
    value: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.ipaasApiTokenUri})'
  }
  {
    name: 'WEBHOOK_CLIENT_STATE'
    value: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.webhookClientStateUri})'
  }
]

// Only with BC_CREDENTIAL=clientSecret; with the managed identity there is no secret anywhere.
var bcClientSecretAppSettings = empty(keyVault.outputs.bcClientSecretUri) ? [] : [
  {
    name: 'BC_CLIENT_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.bcClientSecretUri})'
  }
]

var optionalAppSettings = [
  // Exactly one of these two is set (the app refuses both or neither at start, naming them).
  {
    name: 'BC_COMPANY_ID'
    value: bcCompanyId
  }
  {
    name: 'BC_COMPANIES'
    value: bcCompanies
  }
  {
    name: 'BC_CREDENTIAL'
    value: bcCredential
  }
  {
    name: 'BC_API_BASE_URL'
    value: bcApiBaseUrl
  }
  {
    name: 'AZURE_AUTHORITY_HOST'
    value: azureAuthorityHost
  }
  {
    name: 'WEBHOOK_NOTIFICATION_URL'
    value: webhookNotificationUrl
  }
  {
    name: 'POLL_SCHEDULE'
    value: pollSchedule
  }
  {
    name: 'SUBSCRIPTION_SCHEDULE'
    value: subscriptionSchedule
  }
  {
    name: 'POLL_START_FROM'
    value: pollStartFrom
  }
  {
    name: 'POLL_OVERLAP_SECONDS'
    value: pollOverlapSeconds
  }
  {
    name: 'RECONCILE_SCHEDULE'
    value: reconcileSchedule
  }
  {
    name: 'TRANSFER_RETENTION_DAYS'
    value: transferRetentionDays
  }
  {
    name: 'IPAAS_SYSTEM_ID'
    value: ipaasSystemId
  }
  {
    name: 'IPAAS_EXTERNAL_ID_SOURCE'
    value: ipaasExternalIdSource
  }
  {
    name: 'IPAAS_PATHS'
    value: ipaasPaths
  }
  {
    name: 'IPAAS_CLIENT_ID'
    value: ipaasClientId
  }
  {
    name: 'IPAAS_ADDRESS_MODE'
    value: ipaasAddressMode
  }
  {
    name: 'IPAAS_ADDRESS_COLLECTION'
    value: ipaasAddressCollection
  }
  {
    name: 'HTTP_TIMEOUT_MS'
    value: httpTimeoutMs
  }
  {
    name: 'HTTP_MAX_ATTEMPTS'
    value: httpMaxAttempts
  }
  {
    name: 'HTTP_RETRY_BASE_MS'
    value: httpRetryBaseMs
  }
  {
    name: 'HTTP_RETRY_MAX_DELAY_MS'
    value: httpRetryMaxDelayMs
  }
  {
    name: 'BC_MAX_CONCURRENT_REQUESTS'
    value: bcMaxConcurrentRequests
  }
  {
    name: 'BC_SHARED_BUDGET'
    value: bcSharedBudget
  }
  {
    name: 'IPAAS_MAX_CONCURRENT_REQUESTS'
    value: ipaasMaxConcurrentRequests
  }
  {
    name: 'SYNC_LEASE_SECONDS'
    value: syncLeaseSeconds
  }
  {
    name: 'OUTAGE_MAX_RETRY_AFTER_SECONDS'
    value: outageMaxRetryAfterSeconds
  }
  {
    name: 'CONSOLE_ACCESS'
    value: consoleAccess
  }
  {
    name: 'CUSTOMER_MAPPING_FILE'
    value: customerMappingFile
  }
]

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    planName: 'plan-${resourceToken}'
    name: functionAppName
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appSettings: concat(platformAppSettings, requiredAppSettings, bcClientSecretAppSettings, companyTokenAppSettings, filter(optionalAppSettings, setting => !empty(setting.value)))
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    consoleClientId: consoleClientId
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
  }
  // The host reads its package, storage and secrets with the identity as soon as it starts.
  dependsOn: [
    roleAssignments
  ]
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
    resourceToken: resourceToken
    alertEmail: alertEmail
    failedTransfersThreshold: failedTransfersAlertThreshold
    reconcileDriftThreshold: reconcileDriftAlertThreshold
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    keyVaultId: keyVault.outputs.id
    keyVaultLocation: location
    healthUrl: 'https://${functionApp.outputs.defaultHostName}/api/health'
  }
}

module budget 'modules/budget.bicep' = if (costBudgetAmount > 0) {
  name: 'budget'
  scope: rg
  params: {
    amount: costBudgetAmount
    startDate: empty(costBudgetStartDate) ? currentMonthStart : costBudgetStartDate
    alertEmail: alertEmail
    resourceToken: resourceToken
  }
}

// ---------------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<environment>/.env; read one with `azd env get-value NAME`)
// ---------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output CONSOLE_URL string = 'https://${functionApp.outputs.defaultHostName}/api/console'
output WEBHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api/webhooks/business-central'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
// npm run replay / reconcile reach storage at these (this cloud's endpoints).
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobServiceUri
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueServiceUri
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableServiceUri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsWorkspaceName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
// The subject of the federated credential on the Business Central app registration (docs/deploy.md).
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output WORKBOOK_ID string = workbook.outputs.id
