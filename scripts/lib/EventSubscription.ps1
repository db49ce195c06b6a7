# Dot-sourced by both azd postdeploy hooks (scripts/postdeploy.ps1, scripts/postdeploy-run-events.ps1): what
# putting one Event Grid webhook subscription takes, written once. scripts/lib/event-subscription.sh is its twin.

$API_VERSION = "2025-02-15"
$WAIT_SECONDS = 300  # how long a put subscription may take to pass Event Grid's webhook validation
$POLL_SECONDS = 5

function Fail([string]$message) { [Console]::Error.WriteLine("postdeploy: $message"); exit 1 }

# az rest returns once Event Grid accepts the put; the subscription exists only once its webhook passes validation.
function Wait-UntilSucceeded([string]$subscription, [string]$url, [string]$operation) {
  $waited = 0
  while ($true) {
    $state = az rest --method get --url $url --query properties.provisioningState --output tsv
    if ($LASTEXITCODE -ne 0) { $state = "unreadable" }
    if ($state -eq "Succeeded") { return }
    if ($state -in @("Failed", "Canceled")) { Fail "Event Grid subscription $($subscription): provisioningState $($state): $(Get-FailureReason $subscription $operation) (Event Grid did not create it: check that the app runs, then rerun azd hooks run postdeploy)" }
    if ($waited -ge $WAIT_SECONDS) { Fail "Event Grid subscription $($subscription): still $state after $WAIT_SECONDS seconds; rerun azd hooks run postdeploy once it is Succeeded or Failed" }
    Start-Sleep -Seconds $POLL_SECONDS
    $waited += $POLL_SECONDS
  }
}

# Event Grid keeps why a put failed (e.g. "Webhook validation handshake failed for <endpoint>. ...") in the status
# of the put's asynchronous operation, {status, error: {code, message}}, not on the subscription, which shows
# only its provisioningState. $operation is empty if the put's answer named none.
function Get-FailureReason([string]$subscription, [string]$operation) {
  $reason = ""
  if ($operation) {
    $reason = az rest --method get --url $operation --query error.message --output tsv 2>$null
    if ($LASTEXITCODE -ne 0) { $reason = "" }
  }
  if ($reason) {
    return "Event Grid says: $reason"
  } else {
    return "Event Grid gave no reason here; see the activity log of $subscription"
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
    # az rest prints a response's headers only under --debug; the put's Azure-AsyncOperation header names the
    # operation whose status holds Event Grid's reason if the subscription fails. The log holds the request body
    # (the key): it stays in the private body folder, removed below.
    $log = Join-Path $bodyDir "$subscription.log"
    az rest --method put --url $url --body "@$body" --output none --debug 2> $log
    if ($LASTEXITCODE -ne 0) { Fail "could not put the Event Grid subscription $($subscription): $((Select-String -Path $log -Pattern '^ERROR: (.*)' | ForEach-Object { $_.Matches[0].Groups[1].Value }) -join ' ')" }
    $operation = (Select-String -Path $log -Pattern "'Azure-AsyncOperation': '([^']*)'" | Select-Object -First 1 | ForEach-Object { $_.Matches[0].Groups[1].Value })
  } finally { Remove-Item -Recurse -Force $bodyDir }
  Wait-UntilSucceeded $subscription $url $operation
  return $action
}
