#!/bin/sh
# azd postdeploy hook: create, or update, the Event Grid subscription that sends BlobCreated events from the
# watched account to the blob trigger's webhook. It runs after the code is deployed because the webhook key
# (the blobs_extension system key) only exists once the host has loaded the blob trigger. One subscription per
# rule (its prefix and suffix as subject filters), retried 30 times over 24 hours, then dead-lettered with the
# app's identity. Rerunning it updates the subscriptions in place. scripts/postdeploy.ps1 is its line-by-line twin.
set -eu

WEBHOOK_FUNCTION="start_runs_for_new_blob"  # the blob trigger's function name as the host indexes it
API_VERSION="2025-02-15"
WAIT_SECONDS=300  # how long a put subscription may take to pass Event Grid's webhook validation
POLL_SECONDS=5
SEP=$(printf '\037')

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
for name in AZURE_FUNCTION_APP_NAME RESOURCE_GROUP SERVICE_APP_HOSTNAME EVENT_GRID_TOPIC_ID WATCHED_STORAGE_ACCOUNT_ID \
    AZURE_MANAGED_IDENTITY_ID DEAD_LETTER_CONTAINER WATCH_CONTAINER; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is not set: run this through azd (azd up / azd deploy), which exports the infra outputs"
done
command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli"

# name SEP prefix SEP suffix, one line per rule: the rules file's rules, else the one rule of the WATCH_* settings.
# A rule's subscription is aml-trigger-<name> with '_' as '-': the app refuses at load a name that would not make
# a valid one (shared/core/config/rule_names.py); a %SETTING% name is the app's to substitute, not this hook's.
if [ -n "${TRIGGER_RULES_FILE:-}" ]; then
  command -v python3 >/dev/null 2>&1 || fail "python3 is needed to read the rules file $TRIGGER_RULES_FILE"
  filters=$(python3 - "$TRIGGER_RULES_FILE" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as file:
        rules = json.load(file).get("rules", [])
except (OSError, ValueError) as error:
    sys.exit(f"postdeploy: cannot read the rules file {sys.argv[1]}: {error}")
for rule in rules:
    name, prefix, suffix = str(rule.get("name", "")), rule.get("prefix", ""), rule.get("suffix", ".csv")
    if "%" in name or "${" in name:
        sys.exit(f"postdeploy: rule {name}: a %SETTING% in its name cannot become an Event Grid subscription name (aml-trigger-<name>): write the name itself")
    if "%" in prefix + suffix or "${" in prefix + suffix:
        sys.exit(f"postdeploy: rule {name}: a %SETTING% in prefix or suffix cannot become an Event Grid filter")
    print(name, prefix, suffix, sep="\037")
PY
  ) || exit 1
else  # '*' is any ending (the app refuses an empty WATCH_SUFFIX, which Windows would leave unset)
  suffix="${WATCH_SUFFIX:-}"
  [ "$suffix" != "*" ] || suffix=""
  filters="default${SEP}${WATCH_PREFIX:-}${SEP}${suffix}"
fi
[ -n "$filters" ] || { echo "postdeploy: the rules file has no blob rules: no Event Grid subscription needed"; exit 0; }

key=$(az functionapp keys list -g "$RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query systemKeys.blobs_extension -o tsv) || key=""
[ -n "$key" ] || fail "could not read the blobs_extension system key of $AZURE_FUNCTION_APP_NAME: it exists once the code with the blob trigger is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy"

body_dir=$(mktemp -d)
trap 'rm -rf "$body_dir"' EXIT
json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
endpoint="https://$SERVICE_APP_HOSTNAME/runtime/webhooks/blobs?functionName=Host.Functions.$WEBHOOK_FUNCTION&code=$key"

printf '%s\n' "$filters" | while IFS="$SEP" read -r rule prefix suffix; do
  subscription="aml-trigger-$(printf '%s' "$rule" | tr '_' '-')"
  body="$body_dir/$subscription.json"
  ends_with=""
  [ -z "$suffix" ] || ends_with="\"subjectEndsWith\": \"$(json "$suffix")\","
  (umask 077; cat > "$body" <<JSON
{"properties": {
  "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "$(json "$endpoint")",
    "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64}},
  "eventDeliverySchema": "EventGridSchema",
  "filter": {"includedEventTypes": ["Microsoft.Storage.BlobCreated"],
    "subjectBeginsWith": "/blobServices/default/containers/$(json "$WATCH_CONTAINER")/blobs/$(json "$prefix")", $ends_with
    "isSubjectCaseSensitive": false},
  "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
  "deadLetterWithResourceIdentity": {
    "identity": {"type": "UserAssigned", "userAssignedIdentity": "$AZURE_MANAGED_IDENTITY_ID"},
    "deadLetterDestination": {"endpointType": "StorageBlob",
      "properties": {"resourceId": "$WATCHED_STORAGE_ACCOUNT_ID", "blobContainerName": "$DEAD_LETTER_CONTAINER"}}}
}}
JSON
  )
  url="https://management.azure.com$EVENT_GRID_TOPIC_ID/eventSubscriptions/$subscription?api-version=$API_VERSION"
  if az rest --method get --url "$url" --output none >/dev/null 2>&1; then
    action="updated"
  else
    action="created"
  fi
  az rest --method put --url "$url" --body "@$body" --output none || fail "could not put the Event Grid subscription $subscription"
  wait_until_succeeded "$subscription" "$url"
  echo "postdeploy: $action Event Grid subscription $subscription (rule $rule: prefix '$prefix', suffix '$suffix')"
done
