# Sourced by both azd postdeploy hooks (scripts/postdeploy.sh, scripts/postdeploy-run-events.sh): what putting one
# Event Grid webhook subscription takes, written once. scripts/lib/EventSubscription.ps1 is its line-by-line twin.

API_VERSION="2025-02-15"
WAIT_SECONDS=300  # how long a put subscription may take to pass Event Grid's webhook validation
POLL_SECONDS=5

fail() { echo "postdeploy: $*" >&2; exit 1; }

# az rest returns once Event Grid accepts the put; the subscription exists only once its webhook passes validation.
wait_until_succeeded() {  # subscription url operation-status-url
  waited=0
  while :; do
    state=$(az rest --method get --url "$2" --query properties.provisioningState --output tsv) || state="unreadable"
    case "$state" in
      Succeeded) return 0 ;;
      Failed|Canceled) fail "Event Grid subscription $1: provisioningState $state: $(failure_reason "$1" "$3") (Event Grid did not create it: check that the app runs, then rerun azd hooks run postdeploy)" ;;
    esac
    [ "$waited" -lt "$WAIT_SECONDS" ] || fail "Event Grid subscription $1: still $state after $WAIT_SECONDS seconds; rerun azd hooks run postdeploy once it is Succeeded or Failed"
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
}

# Event Grid keeps why a put failed (e.g. "Webhook validation handshake failed for <endpoint>. ...") in the status
# of the put's asynchronous operation, {status, error: {code, message}}, not on the subscription, which shows
# only its provisioningState.
failure_reason() {  # subscription operation-status-url (empty if the put's answer named none)
  reason=""
  if [ -n "$2" ]; then
    reason=$(az rest --method get --url "$2" --query error.message --output tsv 2>/dev/null) || reason=""
  fi
  if [ -n "$reason" ]; then
    printf 'Event Grid says: %s' "$reason"
  else
    printf 'Event Grid gave no reason here; see the activity log of %s' "$1"
  fi
}

require_setting() {  # name: an infra output azd exports
  eval "value=\${$1:-}"
  [ -n "$value" ] || fail "$1 is not set: run this through azd (azd up / azd deploy), which exports the infra outputs"
}

require_az() {
  command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli"
}

system_key() {  # extension what: the webhook's system key (e.g. blobs_extension), printed; else fail saying why
  key=$(az functionapp keys list -g "$RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" --query "systemKeys.$1" -o tsv) || key=""
  [ -n "$key" ] || fail "could not read the $1 system key of $AZURE_FUNCTION_APP_NAME: it exists once the code with $2 is deployed and the host has started; check the deployment (azd deploy) and that you may list the app's keys, then rerun azd hooks run postdeploy"
  printf '%s' "$key"
}

json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# Create, or update, one subscription: one event a delivery, retried 30 times over 24 hours, then dead-lettered
# with the app's identity. Sets action to created or updated.
put_subscription() {  # topic-id subscription endpoint filter-json
  url="https://management.azure.com$1/eventSubscriptions/$2?api-version=$API_VERSION"
  if [ -z "${body_dir:-}" ]; then
    body_dir=$(mktemp -d)
    trap 'rm -rf "$body_dir"' EXIT
  fi
  body="$body_dir/$2.json"
  (umask 077; cat > "$body" <<JSON
{"properties": {
  "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "$(json "$3")",
    "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64}},
  "eventDeliverySchema": "EventGridSchema",
  "filter": $4,
  "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
  "deadLetterWithResourceIdentity": {
    "identity": {"type": "UserAssigned", "userAssignedIdentity": "$AZURE_MANAGED_IDENTITY_ID"},
    "deadLetterDestination": {"endpointType": "StorageBlob",
      "properties": {"resourceId": "$WATCHED_STORAGE_ACCOUNT_ID", "blobContainerName": "$DEAD_LETTER_CONTAINER"}}}
}}
JSON
  )
  if az rest --method get --url "$url" --output none >/dev/null 2>&1; then
    action="updated"
  else
    action="created"
  fi
  # az rest prints a response's headers only under --debug; the put's Azure-AsyncOperation header names the
  # operation whose status holds Event Grid's reason if the subscription fails. The log holds the request body
  # (the key): it stays in the private body_dir and is removed at once.
  log="$body_dir/$2.log"
  az rest --method put --url "$url" --body "@$body" --output none --debug 2>"$log" ||
    fail "could not put the Event Grid subscription $2: $(sed -n 's/^ERROR: //p' "$log")"
  operation=$(sed -n "s/.*'Azure-AsyncOperation': '\([^']*\)'.*/\1/p" "$log" | head -n 1)
  rm -f "$log"
  wait_until_succeeded "$2" "$url" "$operation"
}
