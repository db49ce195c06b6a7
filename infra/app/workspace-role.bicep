// AzureML Data Scientist on the existing workspace: enough to submit pipeline runs and batch endpoint jobs.
// Deployed into the workspace's own resource group.
param workspaceName string
param principalId string

var azureMLDataScientist = 'f6c7c914-8db3-469d-8ca1-694a8f32e121'

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' existing = {
  name: workspaceName
}

resource dataScientist 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, azureMLDataScientist)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureMLDataScientist)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
