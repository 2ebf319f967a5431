// The operations workbook (infra/workbook.json), attached to the Application Insights component so it
// appears under that resource's Workbooks.

@description('Application Insights component the workbook queries.')
param applicationInsightsId string

@description('Azure region.')
param location string

@description('Tags for the workbook.')
param tags object

// The JSON names the component it falls back to when opened outside the component's own blade.
var serializedData = replace(loadTextContent('../workbook.json'), '__APPLICATION_INSIGHTS_RESOURCE_ID__', applicationInsightsId)

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  // Workbook names must be GUIDs; this one is stable per resource group, so re-provisioning updates it.
  name: guid(resourceGroup().id, 'bc-ipaas-customer-sync-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Customer sync (Business Central to iPaaS.com)'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: serializedData
    version: 'Notebook/1.0'
  }
}

output id string = workbook.id
