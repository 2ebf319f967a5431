// Key Vault (RBAC authorization, soft delete) holding the app's three secrets, and each company's own iPaaS.com
// token when BC_COMPANIES names one. App settings refer to
// them by versionless URI, so a new secret version reaches the app without touching the settings.
// Every secret carries an expiry date (`exp`): Key Vault keeps serving it after that date (the app does not
// stop), but emits SecretNearExpiry 30 days before and SecretExpired after it, which the alerts module turns
// into an alert (infra/modules/alerts.bicep).

@description('Name of the key vault (3-24 letters, digits and hyphens, starting with a letter).')
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Purge protection cannot be turned off again once on; it also blocks `azd down --purge`.')
param enablePurgeProtection bool

@description('Whether a BC_CLIENT_SECRET is stored (BC_CREDENTIAL=clientSecret). A flag rather than a test of the secret here, so that no output depends on a secure parameter.')
param storeBcClientSecret bool

@secure()
@description('BC_CLIENT_SECRET; empty (BC_CREDENTIAL=managedIdentity) stores no secret.')
param bcClientSecret string

@secure()
@description('IPAAS_API_TOKEN')
param ipaasApiToken string

@secure()
@description('WEBHOOK_CLIENT_STATE')
param webhookClientState string

@description('Expiry of BC_CLIENT_SECRET as Unix seconds: the expiry of the client secret in Entra ID.')
param bcClientSecretExpiry int

@description('Expiry of IPAAS_API_TOKEN as Unix seconds: the expiry of the API key in iPaaS.com.')
param ipaasApiTokenExpiry int

@description('Expiry of WEBHOOK_CLIENT_STATE as Unix seconds: the date by which it is to be rotated.')
param webhookClientStateExpiry int

@description('Log Analytics workspace that receives the vault\'s audit logs and metrics.')
param logAnalyticsWorkspaceId string

@description('Settings that hold a company\'s own iPaaS.com token (BC_COMPANIES ipaasApiTokenSetting); each gets the secret IPAAS-TOKEN-<SETTING>.')
param companyTokenSettings array

@secure()
@description('Their tokens as a JSON object {"<setting>": "<token>"}; a setting without a token fails the deployment.')
param companyTokens string

// Key Vault secret names allow letters, digits and hyphens only.
var bcClientSecretName = 'BC-CLIENT-SECRET'
var ipaasApiTokenName = 'IPAAS-API-TOKEN'
var webhookClientStateName = 'WEBHOOK-CLIENT-STATE'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The service rejects an explicit false, so the property is left out unless it is switched on.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource bcClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (storeBcClientSecret) {
  parent: vault
  name: bcClientSecretName
  properties: {
    value: bcClientSecret
    contentType: 'text/plain'
    attributes: {
      exp: bcClientSecretExpiry
    }
  }
}

resource ipaasApiTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: ipaasApiTokenName
  properties: {
    value: ipaasApiToken
    contentType: 'text/plain'
    attributes: {
      exp: ipaasApiTokenExpiry
    }
  }
}

resource webhookClientStateSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: webhookClientStateName
  properties: {
    value: webhookClientState
    contentType: 'text/plain'
    attributes: {
      exp: webhookClientStateExpiry
    }
  }
}

// Who read or changed which secret, and failed requests (AzureDiagnostics, category AuditEvent).
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

var companyTokenValues = empty(companyTokens) ? {} : json(companyTokens)

resource companyTokenSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for setting in companyTokenSettings: {
    parent: vault
    name: 'IPAAS-TOKEN-${toUpper(replace(replace(setting, '_', '-'), '.', '-'))}'
    properties: {
      value: companyTokenValues[setting]
      contentType: 'text/plain'
      // A company's own key expires as IPAAS_API_TOKEN's is declared to (the same alert covers it).
      attributes: {
        exp: ipaasApiTokenExpiry
      }
    }
  }
]

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless and with the trailing slash: App Service then resolves the newest version.
output bcClientSecretUri string = storeBcClientSecret ? '${vault.properties.vaultUri}secrets/${bcClientSecretName}/' : ''
output ipaasApiTokenUri string = '${vault.properties.vaultUri}secrets/${ipaasApiTokenSecret.name}/'
output webhookClientStateUri string = '${vault.properties.vaultUri}secrets/${webhookClientStateSecret.name}/'
