#!/bin/sh
# azd postdeploy hook: create, or update, the Event Grid subscription that sends BlobCreated events from the
# watched account to the blob trigger's webhook. It runs after the code is deployed because the webhook key
# (the blobs_extension system key) only exists once the host has loaded the blob trigger. One subscription per
# rule (its prefix and suffix as subject filters), retried 30 times over 24 hours, then dead-lettered with the
# app's identity. Rerunning it updates the subscriptions in place. scripts/postdeploy.ps1 is its line-by-line twin;
# what both hooks share is in scripts/lib/event-subscription.sh.
set -eu

WEBHOOK_FUNCTION="start_runs_for_new_blob"  # the blob trigger's function name as the host indexes it
SEP=$(printf '\037')
. "$(dirname "$0")/lib/event-subscription.sh"

for name in AZURE_FUNCTION_APP_NAME RESOURCE_GROUP SERVICE_APP_HOSTNAME EVENT_GRID_TOPIC_ID WATCHED_STORAGE_ACCOUNT_ID \
    AZURE_MANAGED_IDENTITY_ID DEAD_LETTER_CONTAINER WATCH_CONTAINER; do
  require_setting "$name"
done
require_az

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

key=$(system_key blobs_extension "the blob trigger")
endpoint="https://$SERVICE_APP_HOSTNAME/runtime/webhooks/blobs?functionName=Host.Functions.$WEBHOOK_FUNCTION&code=$key"

printf '%s\n' "$filters" | while IFS="$SEP" read -r rule prefix suffix; do
  subscription="aml-trigger-$(printf '%s' "$rule" | tr '_' '-')"
  ends_with=""
  [ -z "$suffix" ] || ends_with="\"subjectEndsWith\": \"$(json "$suffix")\","
  put_subscription "$EVENT_GRID_TOPIC_ID" "$subscription" "$endpoint" "{\"includedEventTypes\": [\"Microsoft.Storage.BlobCreated\"],
    \"subjectBeginsWith\": \"/blobServices/default/containers/$(json "$WATCH_CONTAINER")/blobs/$(json "$prefix")\", $ends_with
    \"isSubjectCaseSensitive\": false}"
  echo "postdeploy: $action Event Grid subscription $subscription (rule $rule: prefix '$prefix', suffix '$suffix')"
done
