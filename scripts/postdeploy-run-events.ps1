# azd postdeploy hook, second part: create, or update, the Event Grid subscriptions that send the Azure ML
# workspace's run events (RunStatusChanged, RunCompleted) to the run-event function's webhook. Like the blob
# subscriptions, it runs after the code is deployed: the webhook key (the eventgrid_extension system key) only
# exists once the host has loaded an Event Grid trigger. Two subscriptions, because Event Grid ANDs the filters
# of one: runs carrying the app's triggered_by tag (v1 pipeline runs) and jobs carrying it as a property (v2).
# Retried 30 times over 24 hours, then dead-lettered with the app's identity. Creating a subscription on the
# workspace's topic takes Contributor or Owner there. scripts/postdeploy-run-events.sh is its line-by-line
# twin; what both hooks share is in scripts/lib/EventSubscription.ps1.
$ErrorActionPreference = "Stop"

$EVENTS_FUNCTION = "record_run_status"  # the run-event function's name as the host indexes it
$TRIGGERED_BY = "aml-pipeline-trigger"  # the triggered_by label the app puts on every run it starts
. "$PSScriptRoot/lib/EventSubscription.ps1"

foreach ($name in @("AZURE_FUNCTION_APP_NAME", "RESOURCE_GROUP", "SERVICE_APP_HOSTNAME", "AML_EVENTS_TOPIC_ID", "WATCHED_STORAGE_ACCOUNT_ID",
    "AZURE_MANAGED_IDENTITY_ID", "DEAD_LETTER_CONTAINER")) {
  Require-Setting $name
}
Require-Az

$key = Get-SystemKey "eventgrid_extension" "the run-event function"

$endpoint = "https://$($env:SERVICE_APP_HOSTNAME)/runtime/webhooks/eventgrid?functionName=$EVENTS_FUNCTION&code=$key"

foreach ($labels in @("runTags", "runProperties")) {
  $subscription = "aml-trigger-run-events-" + $labels.ToLower()
  $runFilter = [ordered]@{ includedEventTypes = @("Microsoft.MachineLearningServices.RunStatusChanged",
      "Microsoft.MachineLearningServices.RunCompleted");
    advancedFilters = @(@{ operatorType = "StringIn"; key = "data.$labels.triggered_by"; values = @($TRIGGERED_BY) }) }
  $action = Put-Subscription $env:AML_EVENTS_TOPIC_ID $subscription $endpoint $runFilter
  Write-Output "postdeploy: $action Event Grid subscription $subscription (run events whose data.$labels.triggered_by is $TRIGGERED_BY)"
}
