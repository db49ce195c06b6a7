// An Event Grid system topic on one source (a storage account, an Azure ML workspace), carrying the app's identity,
// which dead-letters undeliverable events by role, not key. A source has at most one system topic: given the id of
// the one it has (existingTopicId), nothing is created and that topic is used. The location comes in as a parameter:
// a resource's location must be known at the start of the deployment, and an existing source's is not (BCP120).
param name string
@description('Resource id of the source\'s existing system topic; empty creates one named name')
param existingTopicId string = ''
param location string
param sourceId string
param topicType string
param identityId string
param tags object = {}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (empty(existingTopicId)) {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: sourceId
    topicType: topicType
  }
}

output id string = empty(existingTopicId) ? resourceId('Microsoft.EventGrid/systemTopics', name) : existingTopicId
output name string = empty(existingTopicId) ? name : last(split(existingTopicId, '/'))
