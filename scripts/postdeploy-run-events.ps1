# azd postdeploy hook, second part: create, or update, the Event Grid subscriptions that send the Azure ML
# workspace's run events (RunStatusChanged, RunCompleted) to the run-event function's webhook. Like the blob
# subscriptions, it runs after the code is deployed: the webhook key (the eventgrid_extension system key) only
# exists once the host has loaded an Event Grid trigger. Two subscriptions, because Event Grid ANDs the filters
# of one: runs carrying the app's triggered_by tag (v1 pipeline runs) and jobs carrying it as a property (v2).
# Retried 30 times over 24 hours, then dead-lettered with the app's identity. Creating a subscription on the
# workspace's topic takes Contributor or Owner there. scripts/postdeploy-run-events.sh is its line-by-line twin.
$ErrorActionPreference = "Stop"

$EVENTS_FUNCTION = "record_run_status"  # the run-event function's name as the host indexes it
$TRIGGERED_BY = "aml-pipeline-trigger"  # the triggered_by label the app puts on every run it starts
$API_VERSION = "2025-02-15"
$WAIT_SECONDS = 300  # how long a put subscription may take to pass Event Grid's webhook validation
$POLL_SECONDS = 5

function Fail([string]$message) { [Console]::Error.WriteLine("postdeploy: $message"); exit 1 }

# az rest returns once Event Grid accepts the put; the subscription exists only once its webhook passes validation.
function Wait-UntilSucceeded([string]$subscription, [string]$url) {
  $waited = 0
  while ($true) {
    $state = az rest --method get --url $url --query properties.provisioningState --output tsv
    if ($LASTEXITCODE -ne 0) { $state = "unreadable" }
    if ($state -eq "Succeeded") { return }
    if ($state -in @("Failed", "Canceled")) { Fail "Event Grid subscription $($subscription): provisioningState $state (Event Grid did not create it; for a webhook the usual reason is a failed validation handshake with the function: check that the app runs, then rerun azd hooks run postdeploy; the reason is in the activity log of $subscription)" }
    if ($waited -ge $WAIT_SECONDS) { Fail "Event Grid subscription $($subscription): still $state after $WAIT_SECONDS seconds; rerun azd hooks run postdeploy once it is Succeeded or Failed" }
    Start-Sleep -Seconds $POLL_SECONDS
    $waited += $POLL_SECONDS
  }
}
foreach ($name in @("AZURE_FUNCTION_APP_NAME", "RESOURCE_GROUP", "SERVICE_APP_HOSTNAME", "AML_EVENTS_TOPIC_ID", "WATCHED_STORAGE_ACCOUNT_ID",
    "AZURE_MANAGED_IDENTITY_ID", "DEAD_LETTER_CONTAINER")) {
  if (-not [Environment]::GetEnvironmentVariable($name)) { Fail "$name is not set: run this through azd (azd up / azd deploy), which exports the infra outputs" }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli" }

$key = az functionapp keys list -g $env:RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query systemKeys.eventgrid_extension -o tsv
if ($LASTEXITCODE -ne 0 -or -not $key) { Fail "could not read the eventgrid_extension system key of $($env:AZURE_FUNCTION_APP_NAME): it exists once the code with the run-event function is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy" }

$bodyDir = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ([IO.Path]::GetRandomFileName()))
try {
  $endpoint = "https://$($env:SERVICE_APP_HOSTNAME)/runtime/webhooks/eventgrid?functionName=$EVENTS_FUNCTION&code=$key"

  foreach ($labels in @("runTags", "runProperties")) {
    $subscription = "aml-trigger-run-events-" + $labels.ToLower()
    $body = Join-Path $bodyDir "$subscription.json"
    @{ properties = [ordered]@{
      destination = @{ endpointType = "WebHook"; properties = @{ endpointUrl = $endpoint;
        maxEventsPerBatch = 1; preferredBatchSizeInKilobytes = 64 } };
      eventDeliverySchema = "EventGridSchema";
      filter = [ordered]@{ includedEventTypes = @("Microsoft.MachineLearningServices.RunStatusChanged",
          "Microsoft.MachineLearningServices.RunCompleted");
        advancedFilters = @(@{ operatorType = "StringIn"; key = "data.$labels.triggered_by"; values = @($TRIGGERED_BY) }) };
      retryPolicy = @{ maxDeliveryAttempts = 30; eventTimeToLiveInMinutes = 1440 };
      deadLetterWithResourceIdentity = @{
        identity = @{ type = "UserAssigned"; userAssignedIdentity = $env:AZURE_MANAGED_IDENTITY_ID };
        deadLetterDestination = @{ endpointType = "StorageBlob";
          properties = @{ resourceId = $env:WATCHED_STORAGE_ACCOUNT_ID; blobContainerName = $env:DEAD_LETTER_CONTAINER } } }
    } } | ConvertTo-Json -Depth 8 | Set-Content -Encoding utf8 -Path $body

    $url = "https://management.azure.com$($env:AML_EVENTS_TOPIC_ID)/eventSubscriptions/$($subscription)?api-version=$API_VERSION"
    az rest --method get --url $url --output none 2>$null | Out-Null
    if ($LASTEXITCODE -eq 0) {
      $action = "updated"
    } else {
      $action = "created"
    }
    az rest --method put --url $url --body "@$body" --output none
    if ($LASTEXITCODE -ne 0) { Fail "could not put the Event Grid subscription $subscription" }
    Wait-UntilSucceeded $subscription $url
    Write-Output "postdeploy: $action Event Grid subscription $subscription (run events whose data.$labels.triggered_by is $TRIGGERED_BY)"
  }
} finally { Remove-Item -Recurse -Force $bodyDir }
