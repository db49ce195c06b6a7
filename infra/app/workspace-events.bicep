// The Azure ML workspace's Event Grid system topic, where the workspace publishes its run events; the postdeploy
// hook subscribes the run-event function to it once the function's webhook key exists. Deployed into the
// workspace's own resource group, next to the workspace (a system topic lives in its source's region). A source
// has at most one system topic: for a workspace that has one, its id comes in as existingSystemTopicId and is used.
param workspaceName string
param systemTopicName string
@description('Resource id of the workspace\'s existing Event Grid system topic; empty creates one')
param existingSystemTopicId string = ''
param identityId string
param tags object = {}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' existing = {
  name: workspaceName
}

// A module, so the topic's location may be the workspace's (known only once the deployment runs). The app's
// identity dead-letters undeliverable events (it may write blobs on the watched account).
module systemTopic 'system-topic.bicep' = {
  name: 'workspaceSystemTopic'
  params: {
    name: systemTopicName
    existingTopicId: existingSystemTopicId
    location: workspace.location
    sourceId: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
    identityId: identityId
    tags: tags
  }
}

output systemTopicId string = systemTopic.outputs.id
