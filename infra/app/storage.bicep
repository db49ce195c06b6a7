// A storage account reached by identity only: shared keys off, so no connection string or key can work.
param name string
param location string
param tags object
@description('Blob containers to create')
param containers array
@description('Blobs the account deletes itself, at no request cost to the app: [{ name, prefixes: [ \'<container>/<path>\' ], days, state? }], each deleted once unmodified for more than days (with state: only while its aml_state blob index tag is that value)')
param expiring array = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // checkov:skip=CKV_AZURE_35: the public endpoint stays open (Event Grid and the Flex app reach it without a VNet); shared keys are off, so only Entra identities with a role get in
    // checkov:skip=CKV_AZURE_59: public network access stays enabled for the same reason (no VNet); anonymous blob access is off (allowBlobPublicAccess: false)
    // checkov:skip=CKV_AZURE_43: the name is derived from the azd environment (uniqueString), which checkov cannot evaluate
    // checkov:skip=CKV_AZURE_206: locally redundant keeps the idle cost lowest; choose ZRS/GRS here for production data
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource created 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in containers: {
  parent: blobs
  name: container
  properties: {
    publicAccess: 'None'
  }
}]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(expiring)) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [for rule in expiring: {
        name: rule.name
        enabled: true
        type: 'Lifecycle'
        definition: {
          filters: union({ blobTypes: [ 'blockBlob' ], prefixMatch: rule.prefixes }, contains(rule, 'state') ? { blobIndexMatch: [ { name: 'aml_state', op: '==', value: rule.state } ] } : {})
          actions: {
            baseBlob: {
              delete: {
                daysAfterModificationGreaterThan: rule.days
              }
            }
          }
        }
      }]
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
