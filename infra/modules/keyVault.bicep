// Key Vault (RBAC authorization, soft delete) holding the app's three secrets, and each company's own iPaaS.com
// token when BC_COMPANIES names one. App settings refer to
// them by versionless URI, so a new secret version reaches the app without touching the settings.

@description('Name of the key vault (3-24 letters, digits and hyphens, starting with a letter).')
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Purge protection cannot be turned off again once on; it also blocks `azd down --purge`.')
param enablePurgeProtection bool

@secure()
@description('BC_CLIENT_SECRET; empty (BC_CREDENTIAL=managedIdentity) stores no secret.')
param bcClientSecret string

@secure()
@description('IPAAS_API_TOKEN')
param ipaasApiToken string

@secure()
@description('WEBHOOK_CLIENT_STATE')
param webhookClientState string

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

resource bcClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(bcClientSecret)) {
  parent: vault
  name: bcClientSecretName
  properties: {
    value: bcClientSecret
    contentType: 'text/plain'
  }
}

resource ipaasApiTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: ipaasApiTokenName
  properties: {
    value: ipaasApiToken
    contentType: 'text/plain'
  }
}

resource webhookClientStateSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: webhookClientStateName
  properties: {
    value: webhookClientState
    contentType: 'text/plain'
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
    }
  }
]

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless and with the trailing slash: App Service then resolves the newest version.
output bcClientSecretUri string = empty(bcClientSecret) ? '' : '${vault.properties.vaultUri}secrets/${bcClientSecretName}/'
output ipaasApiTokenUri string = '${vault.properties.vaultUri}secrets/${ipaasApiTokenSecret.name}/'
output webhookClientStateUri string = '${vault.properties.vaultUri}secrets/${webhookClientStateSecret.name}/'
