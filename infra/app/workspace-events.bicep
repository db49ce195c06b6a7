// The Azure ML workspace's Event Grid system topic, where the workspace publishes its run events; the postdeploy
// hook subscribes the run-event function to it once the function's webhook key exists. Deployed into the
// workspace's own resource group, next to the workspace (a system topic lives in its source's region). A source
// has at most one system topic: a workspace that has one already needs this module removed and that topic's id
// given to the hook as AML_EVENTS_TOPIC_ID.
param workspaceName string
param systemTopicName string
param identityId string
param tags object = {}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' existing = {
  name: workspaceName
}

// The app's identity dead-letters undeliverable events (it may write blobs on the watched account).
resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: workspace.location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

output systemTopicId string = systemTopic.id
