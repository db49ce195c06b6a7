# azd postdeploy hook: create, or update, the Event Grid subscription that sends BlobCreated events from the
# watched account to the blob trigger's webhook. It runs after the code is deployed because the webhook key
# (the blobs_extension system key) only exists once the host has loaded the blob trigger. One subscription per
# rule (its prefix and suffix as subject filters), retried 30 times over 24 hours, then dead-lettered with the
# app's identity. Rerunning it updates the subscriptions in place. scripts/postdeploy.sh is its line-by-line twin;
# what both hooks share is in scripts/lib/EventSubscription.ps1.
$ErrorActionPreference = "Stop"

$WEBHOOK_FUNCTION = "start_runs_for_new_blob"  # the blob trigger's function name as the host indexes it
. "$PSScriptRoot/lib/EventSubscription.ps1"

foreach ($name in @("AZURE_FUNCTION_APP_NAME", "RESOURCE_GROUP", "SERVICE_APP_HOSTNAME", "EVENT_GRID_TOPIC_ID", "WATCHED_STORAGE_ACCOUNT_ID",
    "AZURE_MANAGED_IDENTITY_ID", "DEAD_LETTER_CONTAINER", "WATCH_CONTAINER")) {
  Require-Setting $name
}
Require-Az

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

$key = Get-SystemKey "blobs_extension" "the blob trigger"

$endpoint = "https://$($env:SERVICE_APP_HOSTNAME)/runtime/webhooks/blobs?functionName=Host.Functions.$WEBHOOK_FUNCTION&code=$key"

foreach ($filter in $filters) {
  $subscription = "aml-trigger-" + ($filter.rule -replace "_", "-")
  $subjectFilter = [ordered]@{ includedEventTypes = @("Microsoft.Storage.BlobCreated");
    subjectBeginsWith = "/blobServices/default/containers/$($env:WATCH_CONTAINER)/blobs/$($filter.prefix)" }
  if ($filter.suffix) { $subjectFilter.subjectEndsWith = $filter.suffix }
  $subjectFilter.isSubjectCaseSensitive = $false
  $action = Put-Subscription $env:EVENT_GRID_TOPIC_ID $subscription $endpoint $subjectFilter
  Write-Output "postdeploy: $action Event Grid subscription $subscription (rule $($filter.rule): prefix '$($filter.prefix)', suffix '$($filter.suffix)')"
}
