# Dot-sourced by both azd postdeploy hooks (scripts/postdeploy.ps1, scripts/postdeploy-run-events.ps1): what
# putting one Event Grid webhook subscription takes, written once. scripts/lib/event-subscription.sh is its twin.

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

function Require-Setting([string]$name) {  # an infra output azd exports
  if (-not [Environment]::GetEnvironmentVariable($name)) { Fail "$name is not set: run this through azd (azd up / azd deploy), which exports the infra outputs" }
}

function Require-Az {
  if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli" }
}

# The webhook's system key (e.g. blobs_extension); else fail saying why.
function Get-SystemKey([string]$extension, [string]$what) {
  $key = az functionapp keys list -g $env:RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query "systemKeys.$extension" -o tsv
  if ($LASTEXITCODE -ne 0 -or -not $key) { Fail "could not read the $extension system key of $($env:AZURE_FUNCTION_APP_NAME): it exists once the code with $what is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy" }
  return $key
}

# Create, or update, one subscription: one event a delivery, retried 30 times over 24 hours, then dead-lettered
# with the app's identity. Returns created or updated.
function Put-Subscription([string]$topicId, [string]$subscription, [string]$endpoint, $filter) {
  $url = "https://management.azure.com$($topicId)/eventSubscriptions/$($subscription)?api-version=$API_VERSION"
  $bodyDir = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ([IO.Path]::GetRandomFileName()))
  try {
    $body = Join-Path $bodyDir "$subscription.json"
    @{ properties = [ordered]@{
      destination = @{ endpointType = "WebHook"; properties = @{ endpointUrl = $endpoint;
        maxEventsPerBatch = 1; preferredBatchSizeInKilobytes = 64 } };
      eventDeliverySchema = "EventGridSchema";
      filter = $filter;
      retryPolicy = @{ maxDeliveryAttempts = 30; eventTimeToLiveInMinutes = 1440 };
      deadLetterWithResourceIdentity = @{
        identity = @{ type = "UserAssigned"; userAssignedIdentity = $env:AZURE_MANAGED_IDENTITY_ID };
        deadLetterDestination = @{ endpointType = "StorageBlob";
          properties = @{ resourceId = $env:WATCHED_STORAGE_ACCOUNT_ID; blobContainerName = $env:DEAD_LETTER_CONTAINER } } }
    } } | ConvertTo-Json -Depth 8 | Set-Content -Encoding utf8 -Path $body

    az rest --method get --url $url --output none 2>$null | Out-Null
    if ($LASTEXITCODE -eq 0) {
      $action = "updated"
    } else {
      $action = "created"
    }
    az rest --method put --url $url --body "@$body" --output none
    if ($LASTEXITCODE -ne 0) { Fail "could not put the Event Grid subscription $subscription" }
  } finally { Remove-Item -Recurse -Force $bodyDir }
  Wait-UntilSucceeded $subscription $url
  return $action
}
