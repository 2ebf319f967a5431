// The Flex Consumption plan and the Function App. Runtime, scale and deployment storage live in
// functionAppConfig; FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION are not app settings on Flex.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App (becomes <name>.azurewebsites.net).')
param name string

@description('Azure region.')
param location string

@description('Tags for both resources.')
param tags object

@description('azd service this app hosts (the service key in azure.yaml).')
param serviceName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('URL of the blob container Flex Consumption deploys the package to.')
param deploymentContainerUrl string

@description('App settings as [{ name, value }]; assembled in main.bicep.')
param appSettings array

@description('Upper bound of instances per function group (Flex Consumption: 40 to 1000 in most regions, less in a few preview regions).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Client id of the Entra ID app registration for operator sign-in (the console); empty: no App Service Authentication.')
param consoleClientId string = ''

@description('Subnet the app integrates with (VNET_ENABLED); empty: no virtual network.')
param virtualNetworkSubnetId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  // azd finds the app to deploy to by this tag.
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the default would be a system-assigned one).
    keyVaultReferenceIdentity: identityId
    // VNET_ENABLED: outbound traffic (storage through its private endpoints) leaves through this subnet.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
      // A deployment or settings change starts new instances while the old ones finish what they hold, instead of
      // restarting all of them at once (the default, Recreate): queue messages and timers are not interrupted.
      siteUpdateStrategy: {
        type: 'RollingUpdate'
      }
    }
  }
}

// App Service Authentication (Entra ID) for the operator console. Unauthenticated requests are let through
// (AllowAnonymous) so that nothing but the console changes: Business Central reaches the webhook without signing
// in, health stays anonymous and the API routes keep their function keys for scripts. The console function itself
// requires the signed-in user this module injects (X-MS-CLIENT-PRINCIPAL-ID); it trusts that header only while the
// platform says its authentication is on (WEBSITE_AUTH_ENABLED, which it sets with this resource), because only then
// does the platform strip the header from client requests (functions/console.ts).
// No client secret: sign-in uses the ID token flow, so the app registration needs "ID tokens" enabled and the
// redirect URI https://<app>.azurewebsites.net/.auth/login/aad/callback (docs/deploy.md). The token store is off:
// the app never calls another API on the user's behalf, so no token needs keeping (the session cookie suffices).
resource authSettings 'Microsoft.Web/sites/config@2024-11-01' = if (!empty(consoleClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
      // Never challenged even if the action above is tightened later: Business Central cannot sign in.
      excludedPaths: [
        '/api/webhooks/business-central'
        '/api/health'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: consoleClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            consoleClientId
            'api://${consoleClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
