// The one storage account: Functions host storage, the Flex Consumption deployment container, and the
// app's queues, tables and blob containers. Shared keys are disabled, so everything reaches it with Entra ID.

@description('Name of the storage account (3-24 lower-case letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Log Analytics workspace that receives the storage diagnostic logs and metrics.')
param logAnalyticsWorkspaceId string

@description('Private network: no public access; the app reaches blob, queue and table through private endpoints (infra/modules/network.bicep).')
param vnetEnabled bool

// The names the code uses: every name in shared/queueNames.ts and every queue a function is bound to,
// poison queues with a reader included (test/infra/storageNames.test.ts compares them with the code).
// The app creates them on first use as well; creating them here makes them visible before the first message.
var queueNames = [
  'customer-sync'
  'customer-sync-poison'
  'customer-sync-poison-poison'
  'customer-catchup'
  'customer-catchup-poison'
  'customer-catchup-poison-poison'
  'reconcile'
  'reconcile-poison'
  'reconcile-poison-poison'
]
var tableNames = [
  'CustomerTransfers'
  'CustomerLinks'
  'SyncState'
  'TransfersByTime'
]
// Reconciliation reports (shared/storage/reconcileStore.ts); the shared Business Central budget's slots, held as
// blob leases (shared/storage/blobLeases.ts).
var containerNames = [
  'reconciliations'
  'request-budget'
]

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: vnetEnabled
      ? {
          defaultAction: 'Deny'
          bypass: 'None'
        }
      : {
          defaultAction: 'Allow'
          bypass: 'AzureServices'
        }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// Diagnostic settings: account transactions as metrics, and writes and deletes of each service as logs
// (StorageBlobLogs, StorageQueueLogs, StorageTableLogs). Reads are left out on purpose: the queue triggers poll
// several times a second, and those reads would be most of the ingested volume (docs/monitoring.md).
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: storage
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

var serviceLogs = [
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]
var serviceMetrics = [
  {
    category: 'Transaction'
    enabled: true
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: serviceLogs
    metrics: serviceMetrics
  }
}

output id string = storage.id
output name string = storage.name
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
// The service endpoints of this cloud (environment().suffixes.storage), for AzureWebJobsStorage__*ServiceUri:
// no host name is built from the account name anywhere, so sovereign clouds work unchanged.
output blobServiceUri string = storage.properties.primaryEndpoints.blob
output queueServiceUri string = storage.properties.primaryEndpoints.queue
output tableServiceUri string = storage.properties.primaryEndpoints.table
