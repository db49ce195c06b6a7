// azd up: the Function app on Flex Consumption, one user-assigned identity for everything, host storage and the
// watched account without shared keys, monitoring with local auth off, the Event Grid system topic, and every role
// by built-in role id. Only local modules: nothing needs a module registry. The Event Grid subscription itself is
// made by scripts/postdeploy.sh (.ps1): its webhook key exists only once the code is deployed.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: resource names derive from it and every resource is tagged with it')
param environmentName string

@minLength(1)
@description('Region of every new resource (one that offers Flex Consumption)')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource id of the existing Azure ML workspace the app submits to; the app gets AzureML Data Scientist there')
param amlWorkspaceId string

@description('AML_PIPELINE_URL: PublishedPipeline.endpoint, PipelineEndpoint.endpoint or a batch endpoint; empty with a rules file')
param amlPipelineUrl string = ''

@description('AML_EXPERIMENT: the experiment runs are filed under; empty with a rules file')
param amlExperiment string = ''

@description('AML_WORKSPACE: for a batch endpoint target only, its workspace resource id (studio links); empty for v1 URLs')
param amlWorkspace string = ''

@description('AML_DATA_PATH_PARAMETER: the pipeline parameter that receives the blob (empty: none)')
param amlDataPathParameter string = ''

@description('AML_DATASTORE: the datastore over the watched container (with AML_DATA_PATH_PARAMETER)')
param amlDatastore string = ''

@description('Resource id of an existing storage account to watch; empty creates a new one')
param watchedStorageAccountId string = ''

@description('Resource id of the watched account\'s existing Event Grid system topic (an account has at most one); empty creates one')
param watchedSystemTopicId string = ''

@description('Resource id of the workspace\'s existing Event Grid system topic (a workspace has at most one); empty creates one')
param workspaceSystemTopicId string = ''

@description('WATCH_CONTAINER: the watched container (created if missing)')
param watchContainer string = 'training-data'

@description('WATCH_PREFIX: folder inside the container, ending with / (empty: the whole container)')
param watchPrefix string = ''

@description('WATCH_SUFFIX: file ending, case-insensitive (* = any ending; empty is refused)')
param watchSuffix string = '.csv'

@description('TRIGGER_RULES_FILE: a rules file deployed with the app (relative to its root); replaces the one-rule settings')
param triggerRulesFile string = ''

@allowed([ 512, 2048, 4096 ])
@description('Flex Consumption instance memory in MB')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Flex Consumption maximum instance count')
param maximumInstanceCount int = 100

@minValue(15)
@maxValue(3650)
@description('RECORD_RETENTION_DAYS: days after their last change that run records, the run index and sweep reports are deleted (at least 15: Event Grid retries, dead-letter replay, the sweep; see docs/operating.md#retention)')
param recordRetentionDays int = 90

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainer = 'app-package-${take(appName, 32)}-${take(resourceToken, 7)}'
var ledgerContainer = 'aml-trigger-ledger'
// Quiet-window entries (shared/core/quiet_windows/quiet_windows.py QUIET_PREFIX, ENTRY_RETENTION_DAYS): deleted by the account,
// not the app; the app's sweep counts on the same days, so change both together (tests/infra/test_infra.py ties them).
var quietEntries = { name: 'quiet-window-entries', prefixes: [ '${ledgerContainer}/quiet/' ], days: 7 }
// Run records (shared/core/ledger/keys.py RECORD_PREFIXES), the run index (shared/core/run_index) and sweep reports:
// deleted by the account after RECORD_RETENTION_DAYS (the same parameter sets the app setting, whose sweep looks back
// one day less; tests/infra/test_infra.py ties them). Data claims (schedule-data/) stay: a deleted one would be new data again.
// A run record only once settled: one rule per settled value of its aml_state tag (shared/core/ledger/ledger_record.py
// SETTLED_OUTCOMES; tests/infra/test_infra.py ties them), so a record still running, starting, waiting or failed for
// now (its work still to do) is never deleted by age (docs/operating.md#retention).
var recordPrefixes = [ '${ledgerContainer}/rules/', '${ledgerContainer}/schedules/', '${ledgerContainer}/manual/' ]
var settledOutcomes = [ 'completed', 'failed', 'canceled', 'rejected', 'skipped' ]
var settledRecords = [for outcome in settledOutcomes: { name: 'run-records-${outcome}', prefixes: recordPrefixes, days: recordRetentionDays, state: outcome }]
var runIndex = { name: 'run-index', prefixes: [ '${ledgerContainer}/index/' ], days: recordRetentionDays }
var sweepReports = { name: 'sweep-reports', prefixes: [ '${ledgerContainer}/state/sweeps/' ], days: recordRetentionDays }
var deadLetterContainer = 'aml-trigger-deadletter'
// Dead letters the app replayed (moved under replayed/, shared/core/dead_letters) are deleted after the same
// retention: one older than the records' horizon is never replayed again anyway. Set on a new watched account only:
// an account has one lifecycle policy, and deploying it would replace an existing account's own (docs/operating.md).
var replayedDeadLetters = { name: 'replayed-dead-letters', prefixes: [ '${deadLetterContainer}/replayed/' ], days: recordRetentionDays }
var newWatchedAccount = empty(watchedStorageAccountId)
var watchedScope = newWatchedAccount ? [ subscription().subscriptionId, rg.name ] : [ split(watchedStorageAccountId, '/')[2], split(watchedStorageAccountId, '/')[4] ]
var workspaceParts = split(amlWorkspaceId, '/')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module hostStorage 'app/storage.bicep' = {
  name: 'hostStorage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}host${resourceToken}'
    location: location
    tags: tags
    containers: [ deploymentContainer, ledgerContainer ]
    expiring: concat([ quietEntries, runIndex, sweepReports ], settledRecords)
  }
}

module newWatchedStorage 'app/storage.bicep' = if (newWatchedAccount) {
  name: 'watchedStorage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}data${resourceToken}'
    location: location
    tags: tags
    containers: []
    expiring: [ replayedDeadLetters ]
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

// The watched account (new or existing): its containers, the app's roles on it and its Event Grid system topic.
module watched 'app/watched.bicep' = {
  name: 'watched'
  scope: resourceGroup(watchedScope[0], watchedScope[1])
  params: {
    storageAccountName: newWatchedAccount ? newWatchedStorage.outputs.name : split(watchedStorageAccountId, '/')[8]
    containers: [ watchContainer, deadLetterContainer ]
    systemTopicName: '${abbrs.eventGridSystemTopics}${resourceToken}'
    existingSystemTopicId: watchedSystemTopicId
    tags: tags
    identityId: identity.outputs.id
    principalId: identity.outputs.principalId
  }
}

module app 'app/function.bicep' = {
  name: 'app'
  scope: rg
  params: {
    name: appName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    principalId: identity.outputs.principalId
    hostStorageName: hostStorage.outputs.name
    deploymentContainer: deploymentContainer
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: {
      WATCH_STORAGE__blobServiceUri: watched.outputs.blobEndpoint
      WATCH_STORAGE__queueServiceUri: watched.outputs.queueEndpoint
      WATCH_STORAGE__credential: 'managedidentity'
      WATCH_STORAGE__clientId: identity.outputs.clientId
      WATCH_CONTAINER: watchContainer
      WATCH_PREFIX: watchPrefix
      WATCH_SUFFIX: watchSuffix
      WATCH_SUBFOLDERS: 'false'
      WATCH_ENABLED: 'true'
      BLOB_TRIGGER_SOURCE: 'EventGrid'
      TRIGGER_RULES_FILE: triggerRulesFile
      AML_PIPELINE_URL: amlPipelineUrl
      AML_PIPELINE_VERSION: ''
      AML_DEPLOYMENT: ''
      AML_WORKSPACE: amlWorkspace
      AML_EXPERIMENT: amlExperiment
      AML_PARAMETERS: ''
      AML_DATA_PATH_PARAMETER: amlDataPathParameter
      AML_DATASTORE: amlDatastore
      CSV_REQUIRED_COLUMNS: ''
      AML_TOKEN_SCOPE: ''
      AML_ALLOW_LOCAL_TARGETS: 'false'
      STORAGE_ALLOWED_HOSTS: ''
      MANAGED_IDENTITY_CLIENT_ID: identity.outputs.clientId
      LEDGER_STORAGE: 'AzureWebJobsStorage'
      LEDGER_CONTAINER: ledgerContainer
      DEAD_LETTER_CONTAINER: deadLetterContainer
      CLAIM_EXPIRY_SECONDS: '600'
      SUBMIT_DEADLINE_SECONDS: '240'
      SWEEP_SCHEDULE: '0 */15 * * * *'
      SWEEP_MAX_BLOBS: '100'
      RECORD_RETENTION_DAYS: string(recordRetentionDays)
      RUN_INDEX_SCHEDULE: '0 * * * * *'
      RUN_INDEX_MAX_AGE_SECONDS: '120'
      RUN_STATUS_POLL_SCHEDULE: '0 */10 * * * *'
      RUN_STATUS_POLL_MAX_RUNS: '50'
      SUBMIT_ATTEMPT_TIMEOUT_SECONDS: '60'
      RUN_LISTING_DELAY_SECONDS: '15'
      HTTP_DEADLINE_SECONDS: '100'
      RUN_EVENT_DEADLINE_SECONDS: '25'
      RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS: '10'
      RETRY_MAX_ATTEMPTS: '8'
      RETRY_BASE_DELAY_SECONDS: '1'
      RETRY_MAX_DELAY_SECONDS: '30'
      AZURE_MONITOR_OPENTELEMETRY: 'false'  // the telemetry switch at its default (see README, Monitoring)
    }
  }
}

module workspaceRole 'app/workspace-role.bicep' = {
  name: 'workspaceRole'
  scope: resourceGroup(workspaceParts[2], workspaceParts[4])
  params: {
    workspaceName: workspaceParts[8]
    principalId: identity.outputs.principalId
  }
}

module workspaceEvents 'app/workspace-events.bicep' = {
  name: 'workspaceEvents'
  scope: resourceGroup(workspaceParts[2], workspaceParts[4])
  params: {
    workspaceName: workspaceParts[8]
    systemTopicName: '${abbrs.eventGridSystemTopics}aml-${resourceToken}'
    existingSystemTopicId: workspaceSystemTopicId
    identityId: identity.outputs.id
    tags: tags
  }
}

// What the hook and a user need next: names and URLs only, nothing secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output SERVICE_APP_HOSTNAME string = app.outputs.defaultHostName
output SERVICE_APP_BASE_URL string = 'https://${app.outputs.defaultHostName}'
output AZURE_MANAGED_IDENTITY_ID string = identity.outputs.id
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output HOST_STORAGE_ACCOUNT_NAME string = hostStorage.outputs.name
output LEDGER_CONTAINER string = ledgerContainer
output WATCHED_STORAGE_ACCOUNT_ID string = watched.outputs.storageAccountId
output WATCHED_STORAGE_BLOB_ENDPOINT string = watched.outputs.blobEndpoint
output WATCH_CONTAINER string = watchContainer
output WATCH_PREFIX string = watchPrefix
output WATCH_SUFFIX string = watchSuffix
output TRIGGER_RULES_FILE string = triggerRulesFile
output DEAD_LETTER_CONTAINER string = deadLetterContainer
output EVENT_GRID_TOPIC_ID string = watched.outputs.systemTopicId
output EVENT_GRID_TOPIC_NAME string = watched.outputs.systemTopicName
output AML_EVENTS_TOPIC_ID string = workspaceEvents.outputs.systemTopicId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsName
