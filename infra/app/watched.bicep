// The watched account, new or existing: the watched and dead-letter containers, the app's roles on it, and its
// Event Grid system topic (app/system-topic.bicep: a new one, or the one the account has).
// Deployed into the account's own resource group.
param storageAccountName string
param containers array
param systemTopicName string
@description('Resource id of the account\'s existing Event Grid system topic; empty creates one')
param existingSystemTopicId string = ''
param tags object
param identityId string
param principalId string

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
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

// The blob trigger reads blobs and keeps its poison queue on this account; dead-lettering writes blobs.
module roles 'roles.bicep' = {
  name: 'watchedRoles'
  params: {
    storageAccountName: account.name
    principalId: principalId
    roleIds: [ storageBlobDataOwner, storageQueueDataContributor ]
  }
}

// A module, so the topic's location may be the account's (known only once the deployment runs).
module systemTopic 'system-topic.bicep' = {
  name: 'watchedSystemTopic'
  params: {
    name: systemTopicName
    existingTopicId: existingSystemTopicId
    location: account.location
    sourceId: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
    identityId: identityId
    tags: tags
  }
}

output storageAccountId string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output systemTopicId string = systemTopic.outputs.id
output systemTopicName string = systemTopic.outputs.name
