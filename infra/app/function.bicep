// The Flex Consumption plan and Function app (Python 3.11, Linux). The package container, host storage and
// telemetry are all reached with the one user-assigned identity: AzureWebJobsStorage__* identity settings and
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING, no key anywhere.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param principalId string
param hostStorageName string
param deploymentContainer string
param applicationInsightsName string
param instanceMemoryMB int
param maximumInstanceCount int
@description('The app\'s own settings (shared/core/config/settings.py names)')
param appSettings object

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

// What the Functions host itself reads: its storage by identity, and telemetry by identity (Entra ingestion). A list
// written out, not a loop: its values are known only once the deployment runs, and a for expression must be known
// at its start (BCP178).
var hostSettings = [
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: hostStorage.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: hostStorage.properties.primaryEndpoints.queue }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: hostStorage.properties.primaryEndpoints.table }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]

// The app's own settings as name/value pairs: a loop over the parameter, known at the start of the deployment.
var appSettingList = [for setting in items(appSettings): { name: setting.key, value: setting.value }]

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The host keeps locks, timer state and the deployment package in blobs and uses queues; the ledger
// (LEDGER_STORAGE=AzureWebJobsStorage) lives here too. Owner, not Contributor: ledger records carry blob index
// tags (blobs/tags/write) and the open runs are found by them (blobs/filter/action). Tables: with
// AzureWebJobsStorage__tableServiceUri set the host writes its diagnostic events to a table it creates, which takes
// Storage Table Data Contributor (Microsoft's Flex Consumption quickstarts grant it; without it the host logs
// recurring 403s: Azure/azure-functions-host #10995, #10996).
module hostRoles 'roles.bicep' = {
  name: 'hostStorageRoles'
  params: {
    storageAccountName: hostStorage.name
    principalId: principalId
    roleIds: [ storageBlobDataOwner, storageQueueDataContributor, storageTableDataContributor ]
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption is offered in some regions only and needs always-ready instances; opt in per region
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'app' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: Event Grid delivers to the blob extension webhook without a client certificate; function keys and the webhook key authenticate callers
    // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero; always-ready instances would bill while idle
    // checkov:skip=CKV_AZURE_213: the app's health endpoint (GET /api/health) needs a function key, which the platform health check does not send
    // checkov:skip=CKV_AZURE_222: Event Grid must reach the webhook over the public endpoint; callers authenticate with keys
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(appSettingList, hostSettings)
    }
  }
  dependsOn: [
    hostRoles
  ]
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
