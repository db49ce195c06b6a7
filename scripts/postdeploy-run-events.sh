#!/bin/sh
# azd postdeploy hook, second part: create, or update, the Event Grid subscriptions that send the Azure ML
# workspace's run events (RunStatusChanged, RunCompleted) to the run-event function's webhook. Like the blob
# subscriptions, it runs after the code is deployed: the webhook key (the eventgrid_extension system key) only
# exists once the host has loaded an Event Grid trigger. Two subscriptions, because Event Grid ANDs the filters
# of one: runs carrying the app's triggered_by tag (v1 pipeline runs) and jobs carrying it as a property (v2).
# Retried 30 times over 24 hours, then dead-lettered with the app's identity. Creating a subscription on the
# workspace's topic takes Contributor or Owner there. scripts/postdeploy-run-events.ps1 is its line-by-line
# twin; what both hooks share is in scripts/lib/event-subscription.sh.
set -eu

EVENTS_FUNCTION="record_run_status"  # the run-event function's name as the host indexes it
TRIGGERED_BY="aml-pipeline-trigger"  # the triggered_by label the app puts on every run it starts
. "$(dirname "$0")/lib/event-subscription.sh"

for name in AZURE_FUNCTION_APP_NAME RESOURCE_GROUP SERVICE_APP_HOSTNAME AML_EVENTS_TOPIC_ID WATCHED_STORAGE_ACCOUNT_ID \
    AZURE_MANAGED_IDENTITY_ID DEAD_LETTER_CONTAINER; do
  require_setting "$name"
done
require_az

key=$(system_key eventgrid_extension "the run-event function")
endpoint="https://$SERVICE_APP_HOSTNAME/runtime/webhooks/eventgrid?functionName=$EVENTS_FUNCTION&code=$key"

for labels in runTags runProperties; do
  subscription="aml-trigger-run-events-$(printf '%s' "$labels" | tr 'A-Z' 'a-z')"
  put_subscription "$AML_EVENTS_TOPIC_ID" "$subscription" "$endpoint" "{\"includedEventTypes\": [\"Microsoft.MachineLearningServices.RunStatusChanged\",
      \"Microsoft.MachineLearningServices.RunCompleted\"],
    \"advancedFilters\": [{\"operatorType\": \"StringIn\", \"key\": \"data.$labels.triggered_by\", \"values\": [\"$TRIGGERED_BY\"]}]}"
  echo "postdeploy: $action Event Grid subscription $subscription (run events whose data.$labels.triggered_by is $TRIGGERED_BY)"
done
