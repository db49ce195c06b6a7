#!/bin/sh
# azd postdeploy hook, second part: create, or update, the Event Grid subscriptions that send the Azure ML
# workspace's run events (RunStatusChanged, RunCompleted) to the run-event function's webhook. Like the blob
# subscriptions, it runs after the code is deployed: the webhook key (the eventgrid_extension system key) only
# exists once the host has loaded an Event Grid trigger. Two subscriptions, because Event Grid ANDs the filters
# of one: runs carrying the app's triggered_by tag (v1 pipeline runs) and jobs carrying it as a property (v2).
# Retried 30 times over 24 hours, then dead-lettered with the app's identity. Creating a subscription on the
# workspace's topic takes Contributor or Owner there. scripts/postdeploy-run-events.ps1 is its line-by-line twin.
set -eu

EVENTS_FUNCTION="record_run_status"  # the run-event function's name as the host indexes it
TRIGGERED_BY="aml-pipeline-trigger"  # the triggered_by label the app puts on every run it starts
API_VERSION="2025-02-15"
WAIT_SECONDS=300  # how long a put subscription may take to pass Event Grid's webhook validation
POLL_SECONDS=5

fail() { echo "postdeploy: $*" >&2; exit 1; }

# az rest returns once Event Grid accepts the put; the subscription exists only once its webhook passes validation.
wait_until_succeeded() {  # subscription url
  waited=0
  while :; do
    state=$(az rest --method get --url "$2" --query properties.provisioningState --output tsv) || state="unreadable"
    case "$state" in
      Succeeded) return 0 ;;
      Failed|Canceled) fail "Event Grid subscription $1: provisioningState $state (Event Grid did not create it; for a webhook the usual reason is a failed validation handshake with the function: check that the app runs, then rerun azd hooks run postdeploy; the reason is in the activity log of $1)" ;;
    esac
    [ "$waited" -lt "$WAIT_SECONDS" ] || fail "Event Grid subscription $1: still $state after $WAIT_SECONDS seconds; rerun azd hooks run postdeploy once it is Succeeded or Failed"
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
}
for name in AZURE_FUNCTION_APP_NAME RESOURCE_GROUP SERVICE_APP_HOSTNAME AML_EVENTS_TOPIC_ID WATCHED_STORAGE_ACCOUNT_ID \
    AZURE_MANAGED_IDENTITY_ID DEAD_LETTER_CONTAINER; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is not set: run this through azd (azd up / azd deploy), which exports the infra outputs"
done
command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli"

key=$(az functionapp keys list -g "$RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query systemKeys.eventgrid_extension -o tsv) || key=""
[ -n "$key" ] || fail "could not read the eventgrid_extension system key of $AZURE_FUNCTION_APP_NAME: it exists once the code with the run-event function is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy"

body_dir=$(mktemp -d)
trap 'rm -rf "$body_dir"' EXIT
endpoint="https://$SERVICE_APP_HOSTNAME/runtime/webhooks/eventgrid?functionName=$EVENTS_FUNCTION&code=$key"

for labels in runTags runProperties; do
  subscription="aml-trigger-run-events-$(printf '%s' "$labels" | tr 'A-Z' 'a-z')"
  body="$body_dir/$subscription.json"
  (umask 077; cat > "$body" <<JSON
{"properties": {
  "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "$endpoint",
    "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64}},
  "eventDeliverySchema": "EventGridSchema",
  "filter": {"includedEventTypes": ["Microsoft.MachineLearningServices.RunStatusChanged",
      "Microsoft.MachineLearningServices.RunCompleted"],
    "advancedFilters": [{"operatorType": "StringIn", "key": "data.$labels.triggered_by", "values": ["$TRIGGERED_BY"]}]},
  "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
  "deadLetterWithResourceIdentity": {
    "identity": {"type": "UserAssigned", "userAssignedIdentity": "$AZURE_MANAGED_IDENTITY_ID"},
    "deadLetterDestination": {"endpointType": "StorageBlob",
      "properties": {"resourceId": "$WATCHED_STORAGE_ACCOUNT_ID", "blobContainerName": "$DEAD_LETTER_CONTAINER"}}}
}}
JSON
  )
  url="https://management.azure.com$AML_EVENTS_TOPIC_ID/eventSubscriptions/$subscription?api-version=$API_VERSION"
  if az rest --method get --url "$url" --output none >/dev/null 2>&1; then
    action="updated"
  else
    action="created"
  fi
  az rest --method put --url "$url" --body "@$body" --output none || fail "could not put the Event Grid subscription $subscription"
  wait_until_succeeded "$subscription" "$url"
  echo "postdeploy: $action Event Grid subscription $subscription (run events whose data.$labels.triggered_by is $TRIGGERED_BY)"
done
