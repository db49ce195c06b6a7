# azd postdeploy hook: create, or update, the Event Grid subscription that sends BlobCreated events from the
# watched account to the blob trigger's webhook. It runs after the code is deployed because the webhook key
# (the blobs_extension system key) only exists once the host has loaded the blob trigger. One subscription per
# rule (its prefix and suffix as subject filters), retried 30 times over 24 hours, then dead-lettered with the
# app's identity. Rerunning it updates the subscriptions in place. scripts/postdeploy.sh is its line-by-line twin.
$ErrorActionPreference = "Stop"

$WEBHOOK_FUNCTION = "start_runs_for_new_blob"  # the blob trigger's function name as the host indexes it
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
foreach ($name in @("AZURE_FUNCTION_APP_NAME", "RESOURCE_GROUP", "SERVICE_APP_HOSTNAME", "EVENT_GRID_TOPIC_ID", "WATCHED_STORAGE_ACCOUNT_ID",
    "AZURE_MANAGED_IDENTITY_ID", "DEAD_LETTER_CONTAINER", "WATCH_CONTAINER")) {
  if (-not [Environment]::GetEnvironmentVariable($name)) { Fail "$name is not set: run this through azd (azd up / azd deploy), which exports the infra outputs" }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli" }

# name, prefix, suffix per rule: the rules file's rules, else the one rule of the WATCH_* settings.
# A rule's subscription is aml-trigger-<name> with '_' as '-': the app refuses at load a name that would not make
# a valid one (shared/core/config/rule_names.py); a %SETTING% name is the app's to substitute, not this hook's.
if ($env:TRIGGER_RULES_FILE) {
  try { $rules = @((Get-Content -Raw -Encoding utf8 $env:TRIGGER_RULES_FILE | ConvertFrom-Json).rules) }
  catch { Fail "cannot read the rules file $($env:TRIGGER_RULES_FILE): $_" }
  $filters = @(foreach ($rule in ($rules | Where-Object { $_ })) {
    $prefix = if ($null -ne $rule.prefix) { $rule.prefix } else { "" }
    $suffix = if ($null -ne $rule.suffix) { $rule.suffix } else { ".csv" }
    if (("$($rule.name)").Contains("%") -or ("$($rule.name)").Contains('${')) {
      Fail "rule $($rule.name): a %SETTING% in its name cannot become an Event Grid subscription name (aml-trigger-<name>): write the name itself"
    }
    if (("$prefix$suffix").Contains("%") -or ("$prefix$suffix").Contains('${')) {
      Fail "rule $($rule.name): a %SETTING% in prefix or suffix cannot become an Event Grid filter"
    }
    [pscustomobject]@{ rule = $rule.name; prefix = $prefix; suffix = $suffix }
  })
} else {  # '*' is any ending (the app refuses an empty WATCH_SUFFIX, which Windows would leave unset)
  $suffix = if ("$env:WATCH_SUFFIX" -eq "*") { "" } else { "$env:WATCH_SUFFIX" }
  $filters = @([pscustomobject]@{ rule = "default"; prefix = "$env:WATCH_PREFIX"; suffix = $suffix })
}
if ($filters.Count -eq 0) { Write-Output "postdeploy: the rules file has no blob rules: no Event Grid subscription needed"; exit 0 }

$key = az functionapp keys list -g $env:RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query systemKeys.blobs_extension -o tsv
if ($LASTEXITCODE -ne 0 -or -not $key) { Fail "could not read the blobs_extension system key of $($env:AZURE_FUNCTION_APP_NAME): it exists once the code with the blob trigger is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy" }

$bodyDir = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ([IO.Path]::GetRandomFileName()))
try {
  $endpoint = "https://$($env:SERVICE_APP_HOSTNAME)/runtime/webhooks/blobs?functionName=Host.Functions.$WEBHOOK_FUNCTION&code=$key"

  foreach ($filter in $filters) {
    $subscription = "aml-trigger-" + ($filter.rule -replace "_", "-")
    $body = Join-Path $bodyDir "$subscription.json"
    $subjectFilter = [ordered]@{ includedEventTypes = @("Microsoft.Storage.BlobCreated");
      subjectBeginsWith = "/blobServices/default/containers/$($env:WATCH_CONTAINER)/blobs/$($filter.prefix)" }
    if ($filter.suffix) { $subjectFilter.subjectEndsWith = $filter.suffix }
    $subjectFilter.isSubjectCaseSensitive = $false
    @{ properties = [ordered]@{
      destination = @{ endpointType = "WebHook"; properties = @{ endpointUrl = $endpoint;
        maxEventsPerBatch = 1; preferredBatchSizeInKilobytes = 64 } };
      eventDeliverySchema = "EventGridSchema";
      filter = $subjectFilter;
      retryPolicy = @{ maxDeliveryAttempts = 30; eventTimeToLiveInMinutes = 1440 };
      deadLetterWithResourceIdentity = @{
        identity = @{ type = "UserAssigned"; userAssignedIdentity = $env:AZURE_MANAGED_IDENTITY_ID };
        deadLetterDestination = @{ endpointType = "StorageBlob";
          properties = @{ resourceId = $env:WATCHED_STORAGE_ACCOUNT_ID; blobContainerName = $env:DEAD_LETTER_CONTAINER } } }
    } } | ConvertTo-Json -Depth 8 | Set-Content -Encoding utf8 -Path $body

    $url = "https://management.azure.com$($env:EVENT_GRID_TOPIC_ID)/eventSubscriptions/$($subscription)?api-version=$API_VERSION"
    az rest --method get --url $url --output none 2>$null | Out-Null
    if ($LASTEXITCODE -eq 0) {
      $action = "updated"
    } else {
      $action = "created"
    }
    az rest --method put --url $url --body "@$body" --output none
    if ($LASTEXITCODE -ne 0) { Fail "could not put the Event Grid subscription $subscription" }
    Wait-UntilSucceeded $subscription $url
    Write-Output "postdeploy: $action Event Grid subscription $subscription (rule $($filter.rule): prefix '$($filter.prefix)', suffix '$($filter.suffix)')"
  }
} finally { Remove-Item -Recurse -Force $bodyDir }
