"""infra/ (Bicep for `azd up`) and the postdeploy hooks, checked here without a Bicep CLI, Core Tools or Azure:
every template parses (pycep-parser), the app settings it writes load through the app's own loader, roles are the
documented built-in ones, no key or connection string appears, and the hooks, run against a fake ``az``, create
then update one Event Grid subscription per rule with the app's filters. checkov runs in ./dev infra."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import LarkError

from shared.core.config import settings
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.config.rule_names import RULE_NAME_LENGTH, event_subscription_name
from shared.core.config.settings import RECORD_RETENTION_DAYS
from shared.core.dead_letters.dead_letters import REPLAYED_PREFIX
from shared.core.ledger.keys import RECORD_PREFIXES, STATE_TAG
from shared.core.ledger.ledger_record import SETTLED_OUTCOMES
from shared.core.ledger.retention import MIN_RETENTION_DAYS
from shared.core.quiet_windows.quiet_windows import ENTRY_RETENTION_DAYS, FOLDERS_PREFIX, LISTING_PREFIX, QUIET_PREFIX
from shared.core.run_index.run_index import SUMMARY_NAME
from shared.core.runs.payloads import TRIGGERED_BY
from tests.support.harness import PROJECT_ROOT, indexed_functions
from tests.support.infra import HOOK_ENV, HOOK_PS1, HOOK_SH, INFRA, FakeAz, bicep_files, dotted, parsed, resolve
from tests.support.settings import LOADED_AT

EVENTS_SH, EVENTS_PS1 = HOOK_SH.with_name("postdeploy-run-events.sh"), HOOK_PS1.with_name("postdeploy-run-events.ps1")
AML_EVENTS_TOPIC = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
                    "Microsoft.EventGrid/systemTopics/evgt-aml-abc123")
EVENTS_KEY = "fake-eventgrid-extension-key-0123456789=="

WORKSPACE_ID = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
                "Microsoft.MachineLearningServices/workspaces/ml-ws")
PIPELINE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/00000000-0000-0000-0000-000000000001/"
                "resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws/PipelineRuns/"
                "PipelineSubmit/5d9e2f4c-0000-4000-8000-00000000a11a")
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
PLACEHOLDERS = {
    # main.bicep parameters azd asks for (or takes from main.parameters.json)
    "amlWorkspaceId": WORKSPACE_ID, "amlPipelineUrl": PIPELINE_URL, "amlExperiment": "retrain-nightly",
    "amlDataPathParameter": "input_datapath", "amlDatastore": "workspaceblobstore",
    # module outputs and resource properties, with values of the shape Azure returns
    "watched.outputs.blobEndpoint": "https://stdataabc123.blob.core.windows.net/",
    "watched.outputs.queueEndpoint": "https://stdataabc123.queue.core.windows.net/",
    "identity.outputs.clientId": CLIENT_ID, "identityClientId": CLIENT_ID,
    "hostStorage.properties.primaryEndpoints.blob": "https://sthostabc123.blob.core.windows.net/",
    "hostStorage.properties.primaryEndpoints.queue": "https://sthostabc123.queue.core.windows.net/",
    "hostStorage.properties.primaryEndpoints.table": "https://sthostabc123.table.core.windows.net/",
    "applicationInsights.properties.ConnectionString":
        "InstrumentationKey=00000000-0000-0000-0000-0000000000aa;IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/",
    "ledgerContainer": "aml-trigger-ledger",
    "deadLetterContainer": "aml-trigger-deadletter",
}
HOST_SETTINGS = {"AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
                 "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri",
                 "AzureWebJobsStorage__tableServiceUri",
                 "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
"""Read by the Functions host, not the app: its own storage by identity, and telemetry."""
DOCUMENTED_ROLES = {
    "Storage Blob Data Owner": ("storageBlobDataOwner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
    "Storage Queue Data Contributor": ("storageQueueDataContributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
    "Storage Table Data Contributor": ("storageTableDataContributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"),
    "Monitoring Metrics Publisher": ("monitoringMetricsPublisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
    "AzureML Data Scientist": ("azureMLDataScientist", "f6c7c914-8db3-469d-8ca1-694a8f32e121"),
}
"""Built-in role: the template variable holding it, and its role definition id from Azure's built-in roles
documentation."""
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def main_parameters() -> dict[str, dict]:
    return parsed("main.bicep")["parameters"]


def template_app_settings() -> dict[str, object]:
    """The app settings the site gets: main.bicep's appSettings for the app, then function.bicep's host settings."""
    return {**parsed("main.bicep")["modules"]["app"]["config"]["params"]["appSettings"],
            **{setting["name"]: setting["value"] for setting in parsed("app/function.bicep")["variables"][
                "hostSettings"]["value"]}}


def deployed_settings(**parameters: str) -> dict[str, str]:
    """The app settings as they would be deployed: parameters at their defaults unless given, other names from
    PLACEHOLDERS."""
    names = {name: str(parameter.get("default", "")) for name, parameter in main_parameters().items()
             if "default" in parameter}
    names.update(PLACEHOLDERS)
    names.update(parameters)
    return {name: resolve(value, names) for name, value in template_app_settings().items()}


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(INFRA)))
def test_every_bicep_file_in_infra_parses_with_pycep(path):
    template = parsed(str(path.relative_to(INFRA)))
    assert template["resources"] or template["modules"]


def test_a_deliberately_broken_copy_of_a_template_fails_to_parse(tmp_path):
    from pycep import BicepParser

    broken = tmp_path / "main.bicep"
    broken.write_text((INFRA / "main.bicep").read_text(encoding="utf-8").replace("\n}\n", "\n", 1),
                      encoding="utf-8")  # one resource's closing brace gone
    broken_module = tmp_path / "function.bicep"
    broken_module.write_text((INFRA / "app" / "function.bicep").read_text(encoding="utf-8")
                             .replace("resource site ", "resource site = ", 1), encoding="utf-8")
    for path in (broken, broken_module):
        with pytest.raises(LarkError):
            BicepParser().parse(file_path=path)


def test_the_infra_has_every_expected_template_and_uses_local_modules_only():
    assert [str(path.relative_to(INFRA)) for path in bicep_files()] == [
        "app/function.bicep", "app/identity.bicep", "app/monitoring.bicep", "app/roles.bicep", "app/storage.bicep",
        "app/system-topic.bicep", "app/watched.bicep", "app/workspace-events.bicep", "app/workspace-role.bicep",
        "main.bicep"]
    for path in bicep_files():
        for name, module in parsed(str(path.relative_to(INFRA)))["modules"].items():
            assert module["type"] == "local", (path, name)
            assert (path.parent / module["detail"]["path"]).is_file(), (path, name)


def test_the_app_settings_the_template_writes_load_through_the_apps_configuration_loader():
    config = load_config(deployed_settings(), PROJECT_ROOT, now=LOADED_AT)

    assert config.watch_container == "training-data"
    (rule,) = config.rules
    assert (rule.watch.prefix, rule.watch.suffix, rule.watch.include_subfolders) == ("", ".csv", False)
    assert rule.run.target.url == PIPELINE_URL and rule.run.experiment == "retrain-nightly"
    assert config.managed_identity_client_id == CLIENT_ID
    assert config.watch_storage.blob_url == "https://stdataabc123.blob.core.windows.net"
    assert config.ledger_connection == "AzureWebJobsStorage" and config.ledger_container == "aml-trigger-ledger"
    assert config.ledger_storage.blob_url == "https://sthostabc123.blob.core.windows.net"


def test_the_template_names_only_settings_the_app_or_host_reads_with_the_declared_defaults():
    declared = {setting.name: setting for setting in settings.SETTINGS}
    written = template_app_settings()
    identity_forms = {f"{settings.WATCH_STORAGE.name}__{key}"
                      for key in ("blobServiceUri", "queueServiceUri", "credential", "clientId")}
    assert set(written) - set(declared) - identity_forms - HOST_SETTINGS == set()
    assert {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"}.isdisjoint(written)
    tunable = {name for name, setting in declared.items()
               if not (setting.platform or setting.secret) and setting.name != "WATCH_STORAGE"}
    assert tunable - set(written) == set()  # every setting a user may tune has its app setting
    assert {name for name, setting in declared.items() if setting.secret} & set(written) == set()

    parameters = main_parameters()
    for name, value in written.items():
        setting = declared.get(name)
        if setting is None or not isinstance(value, str):
            continue
        if value in parameters:  # a parameter: its default is the declared one (where the app has one)
            if setting.default:
                assert str(parameters[value].get("default")) == setting.default, name
        elif value not in PLACEHOLDERS:  # a literal: exactly the declared default ('' where there is none)
            assert value == (setting.default or ""), name
    assert written["BLOB_TRIGGER_SOURCE"] == "EventGrid"  # the only source on Flex Consumption


def test_host_storage_and_telemetry_are_reached_by_the_one_user_assigned_identity():
    deployed = deployed_settings()
    assert {name: deployed[name] for name in HOST_SETTINGS} == {
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": CLIENT_ID,
        "AzureWebJobsStorage__blobServiceUri": "https://sthostabc123.blob.core.windows.net/",
        "AzureWebJobsStorage__queueServiceUri": "https://sthostabc123.queue.core.windows.net/",
        "AzureWebJobsStorage__tableServiceUri": "https://sthostabc123.table.core.windows.net/",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": PLACEHOLDERS["applicationInsights.properties.ConnectionString"],
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"ClientId={CLIENT_ID};Authorization=AAD",
    }
    assert deployed["WATCH_STORAGE__credential"] == "managedidentity"
    assert deployed["WATCH_STORAGE__clientId"] == CLIENT_ID
    assert deployed["MANAGED_IDENTITY_CLIENT_ID"] == CLIENT_ID
    identities = [resource for path in bicep_files() for resource in parsed(str(path.relative_to(INFRA)))["resources"]
                  .values() if resource["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"]
    assert len(identities) == 1


def test_the_flex_consumption_app_runs_python_3_11_from_a_package_container_reached_by_identity():
    site = parsed("app/function.bicep")["resources"]["site"]["config"]
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert config["scaleAndConcurrency"] == {"instanceMemoryMB": "instanceMemoryMB",
                                             "maximumInstanceCount": "maximumInstanceCount"}
    assert {main_parameters()[name]["default"] for name in ("instanceMemoryMB", "maximumInstanceCount")} == {2048, 100}
    assert site["kind"] == "functionapp,linux" and site["properties"]["httpsOnly"] is True
    plan = parsed("app/function.bicep")["resources"]["plan"]["config"]
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


def test_every_storage_account_has_shared_key_access_off_and_monitoring_has_local_auth_off():
    account = parsed("app/storage.bicep")["resources"]["account"]["config"]["properties"]
    assert account["allowSharedKeyAccess"] is False and account["allowBlobPublicAccess"] is False
    insights = parsed("app/monitoring.bicep")["resources"]
    assert insights["applicationInsights"]["config"]["properties"]["DisableLocalAuth"] is True
    assert insights["logAnalytics"]["config"]["properties"]["features"]["disableLocalAuth"] is True


def role_variables() -> dict[str, str]:
    """Every GUID-valued variable in infra/, by name: the role ids the templates grant."""
    found = {}
    for path in bicep_files():
        for name, variable in parsed(str(path.relative_to(INFRA)))["variables"].items():
            if isinstance(variable["value"], str) and _GUID.match(variable["value"]):
                assert found.setdefault(name, variable["value"]) == variable["value"], name
    return found


def test_role_ids_are_the_documented_built_in_roles_named_by_their_variables():
    assert role_variables() == dict(DOCUMENTED_ROLES.values())


def granted(relative: str) -> list[str]:
    """The role variables a template grants: its own roleAssignments and its roles.bicep calls."""
    template = parsed(relative)
    names = [resource["config"]["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
             for resource in template["resources"].values()
             if resource["type"] == "Microsoft.Authorization/roleAssignments"]
    names += [name for module in template["modules"].values() if module["detail"]["path"] == "roles.bicep"
              for name in module["config"]["params"]["roleIds"]]
    return names


def test_each_scope_gets_the_roles_the_app_needs_there():
    assert granted("app/watched.bicep") == ["storageBlobDataOwner", "storageQueueDataContributor"]
    assert granted("app/function.bicep") == [  # host storage
        "storageBlobDataOwner", "storageQueueDataContributor", "storageTableDataContributor"]
    assert granted("app/monitoring.bicep") == ["monitoringMetricsPublisher"]
    assert granted("app/workspace-role.bicep") == ["azureMLDataScientist"]
    roles = parsed("app/roles.bicep")["resources"]["assignments"]["config"]
    assert roles["config"]["properties"]["principalType"] == "ServicePrincipal"


SERVICE_ROLES = {"blob": {"storageBlobDataOwner", "storageBlobDataContributor"},
                 "queue": {"storageQueueDataContributor"}, "table": {"storageTableDataContributor"}}
"""The data role a storage service needs when an identity connection names its endpoint: the host creates and
writes blobs, queues and (for its diagnostic events) tables; the last one is Azure/azure-functions-host #10996's
"When using RBAC, we need Storage Table Data Contributor"."""


def test_every_storage_service_an_identity_connection_names_has_its_data_role_on_that_account():
    settings_by_account = {"AzureWebJobsStorage": "app/function.bicep",
                           settings.WATCH_STORAGE.name: "app/watched.bicep"}
    for name in template_app_settings():
        if match := re.fullmatch(r"(\w+?)__(blob|queue|table)ServiceUri", name):
            connection, service = match.groups()
            assert SERVICE_ROLES[service] & set(granted(settings_by_account[connection])), name


def test_nothing_in_infra_or_the_hooks_holds_an_account_key_a_connection_string_or_lists_keys():
    texts = {path: path.read_text(encoding="utf-8") for path in [*INFRA.rglob("*"), *HOOK_SH.parent.rglob("*"),
                                                                 PROJECT_ROOT / "azure.yaml"]
             if path.is_file()}
    for pattern in (r"AccountKey", r"DefaultEndpointsProtocol", r"listKeys\s*\(", r"listAccountSas",
                    r"SharedAccessSignature", r"UseDevelopmentStorage", r"@secure"):
        hits = [str(path) for path, text in texts.items() if re.search(pattern, text, re.IGNORECASE)]
        assert hits == [], pattern
    for name, output in parsed("main.bicep")["outputs"].items():
        assert "ConnectionString" not in json.dumps(output) and "KEY" not in name, name


def hook_text(path: Path) -> str:
    """A hook as it runs: its own text, with the shared library it sources (scripts/lib/) written in where it is
    sourced."""
    return re.sub(r'^\. "(?:\$\(dirname "\$0"\)|\$PSScriptRoot)/(lib/[^"]+)"$',
                  lambda sourced: (path.parent / sourced[1]).read_text(encoding="utf-8"),
                  path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def hook_constant(path: Path, name: str) -> str:
    (value,) = re.findall(rf'^\$?{name}\s*=\s*"([^"]*)"', hook_text(path), re.MULTILINE)
    return value


def test_the_hooks_send_events_to_the_blob_functions_indexed_name():
    (blob_function,) = [name for name, function in indexed_functions().items()
                        if json.loads(function.get_function_json())["bindings"][0]["type"] == "blobTrigger"]
    assert hook_constant(HOOK_SH, "WEBHOOK_FUNCTION") == hook_constant(HOOK_PS1, "WEBHOOK_FUNCTION") == blob_function


def required_hook_variables(path: Path) -> list[str]:
    """The outputs a hook refuses to run without: the sh hook's ``for name in`` list, the ps1 hook's ``foreach``."""
    text = hook_text(path)
    listed = re.search(r"for name in (.*?); do" if path.suffix == ".sh" else r"foreach \(\$name in @\((.*?)\)\)", text,
                       re.DOTALL)
    assert listed, path
    return re.findall(r"[A-Z][A-Z0-9_]+", listed.group(1))


def hook_variables(path: Path) -> set[str]:
    """Every environment variable a hook reads: the required ones and those read where used."""
    text = hook_text(path)
    used = re.findall(r"\$\{([A-Z][A-Z0-9_]+)" if path.suffix == ".sh" else r"\$env:([A-Z][A-Z0-9_]+)", text)
    return set(required_hook_variables(path)) | set(used) - {"SEP"}


def test_every_variable_the_hooks_read_is_an_output_of_main_bicep():
    outputs = set(parsed("main.bicep")["outputs"])
    assert required_hook_variables(HOOK_SH) == required_hook_variables(HOOK_PS1)
    assert hook_variables(HOOK_SH) == hook_variables(HOOK_PS1)
    assert hook_variables(HOOK_SH) <= outputs and set(HOOK_ENV) == hook_variables(HOOK_SH)


def az_commands(path: Path) -> list[str]:
    """Each az invocation in a hook: the command words and option names, without their values."""
    commands = []
    for line in hook_text(path).splitlines():
        if match := re.search(r"(?:^|\(|=\s*|\bif\s+)az\s+(.*)", line.strip()):
            invocation = re.split(r"\)|\|\||\||;|\s2?>", match.group(1))[0]
            words = [word for word in invocation.split() if re.fullmatch(r"[a-z][a-z-]*|--?[a-z-]+", word)]
            commands.append(" ".join(words))
    return commands


def test_the_powershell_hook_is_a_twin_of_the_sh_hook_calling_the_same_az_commands():
    """pwsh is not installed here and no registry reachable from here ships it, so the .ps1 is compared by text."""
    assert az_commands(HOOK_SH) == az_commands(HOOK_PS1) == [
        "rest --method get --url --query --output tsv",  # the wait for provisioningState, defined first
        "rest --method get --url --query --output tsv",  # why it failed: the put's operation status
        "functionapp keys list -g -n --query -o tsv",
        "rest --method get --url --output none",
        "rest --method put --url --body --output none --debug",
    ]
    for constant in ("WEBHOOK_FUNCTION", "API_VERSION"):
        assert hook_constant(HOOK_SH, constant) == hook_constant(HOOK_PS1, constant)
    for field in ("maxDeliveryAttempts", "eventTimeToLiveInMinutes", "subjectBeginsWith", "subjectEndsWith",
                  "deadLetterWithResourceIdentity", "UserAssigned", "Microsoft.Storage.BlobCreated", "EventGridSchema"):
        assert field in hook_text(HOOK_SH) and field in hook_text(HOOK_PS1), field


KEY = "fake-blobs-extension-key-0123456789=="
TOPIC = HOOK_ENV["EVENT_GRID_TOPIC_ID"]


def subscription_body(prefix: str, suffix: str) -> dict:
    subject = {"includedEventTypes": ["Microsoft.Storage.BlobCreated"],
               "subjectBeginsWith": f"/blobServices/default/containers/training-data/blobs/{prefix}"}
    if suffix:
        subject["subjectEndsWith"] = suffix
    return webhook_subscription("https://func-abc123.azurewebsites.net/runtime/webhooks/blobs?"
                                f"functionName=Host.Functions.start_runs_for_new_blob&code={KEY}",
                                {**subject, "isSubjectCaseSensitive": False})


def webhook_subscription(endpoint: str, event_filter: dict) -> dict:
    """A subscription as both hooks put it: one event a delivery, 30 attempts in 24 hours, then dead-lettered."""
    return {"properties": {
        "destination": {"endpointType": "WebHook", "properties": {
            "endpointUrl": endpoint, "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64}},
        "eventDeliverySchema": "EventGridSchema",
        "filter": event_filter,
        "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
        "deadLetterWithResourceIdentity": {
            "identity": {"type": "UserAssigned", "userAssignedIdentity": HOOK_ENV["AZURE_MANAGED_IDENTITY_ID"]},
            "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {
                "resourceId": HOOK_ENV["WATCHED_STORAGE_ACCOUNT_ID"], "blobContainerName": "aml-trigger-deadletter"}}},
    }}


def subscription_url(name: str) -> str:
    return f"https://management.azure.com{TOPIC}/eventSubscriptions/{name}?api-version=2025-02-15"


@pytest.mark.integration  # starts the hook
def test_the_hook_creates_the_subscription_on_the_first_run_and_updates_it_on_the_second(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=KEY)

    first, second = az.run_hook(), az.run_hook()

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "created Event Grid subscription aml-trigger-default" in first.stdout
    assert "updated Event Grid subscription aml-trigger-default" in second.stdout
    url = subscription_url("aml-trigger-default")
    one_run = [["functionapp", "keys", "list", "-g", "rg-dev", "-n", "func-abc123",
                "--query", "systemKeys.blobs_extension", "-o", "tsv"],
               ["rest", "--method", "get", "--url", url, "--output", "none"],
               ["rest", "--method", "put", "--url", url, "--body", "@", "--output", "none", "--debug"],
               ["rest", "--method", "get", "--url", url, "--query", "properties.provisioningState", "--output", "tsv"]]
    calls = [[word[:1] if word.startswith("@") else word for word in call["argv"]] for call in az.calls()]
    assert calls == one_run + one_run
    assert [call["body"] for call in az.calls() if "body" in call] == [subscription_body("incoming/", ".csv")] * 2
    assert list(az.resources()) == [f"{TOPIC}/eventSubscriptions/aml-trigger-default"]
    assert KEY not in first.stdout + first.stderr + second.stdout + second.stderr
    assert list(az.tmp.iterdir()) == [], "the request bodies (which hold the key) are removed"


@pytest.mark.integration  # starts the hooks
@pytest.mark.parametrize("hook", [HOOK_SH, EVENTS_SH], ids=["blob", "run-events"])
def test_the_hook_waits_while_event_grid_validates_the_webhook_and_succeeds_once_it_has(tmp_path, hook):
    az = FakeAz(tmp_path, blobs_extension=KEY, eventgrid_extension=EVENTS_KEY, provisioning=("Creating", "Succeeded"))

    result = az.run_hook(hook, AML_EVENTS_TOPIC_ID=AML_EVENTS_TOPIC)

    assert result.returncode == 0, result.stderr
    states = [call for call in az.calls() if "properties.provisioningState" in call["argv"]]
    assert len(states) == (2 if hook == HOOK_SH else 3)  # Creating, Succeeded; the next subscription's Succeeded
    assert "created Event Grid subscription" in result.stdout


@pytest.mark.integration  # starts the hook
def test_the_hook_fails_with_event_grids_answer_when_the_subscription_fails(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=KEY, provisioning=("Failed",))

    result = az.run_hook()

    assert result.returncode == 1 and "created Event Grid subscription" not in result.stdout
    assert result.stderr == (
        "postdeploy: Event Grid subscription aml-trigger-default: provisioningState Failed: Event Grid says: Webhook "
        "validation handshake failed for https://func-abc123.azurewebsites.net/runtime/webhooks/blobs. Http POST "
        "request failed with response code Unknown. For troublehooting, visit https://aka.ms/esvalidation. Activity "
        "id:00000000-0000-4000-8000-00000000a51c, timestamp: 12/7/2026 6:00:00 AM (UTC). (Event Grid did not create "
        "it: check that the app runs, then rerun azd hooks run postdeploy)\n")
    operation = ("https://management.azure.com:443/subscriptions/00000000-0000-0000-0000-000000000001/providers/"
                 "Microsoft.EventGrid/locations/eastus/operationsStatus/00000000-0000-4000-8000-00000000A51C"
                 "?api-version=2025-02-15")
    assert az.calls()[-1]["argv"] == ["rest", "--method", "get", "--url", operation, "--query", "error.message",
                                      "--output", "tsv"]
    assert list(az.tmp.iterdir()) == [], "the request body and the put's debug log (which hold the key) are removed"


@pytest.mark.integration  # starts the hook
def test_when_event_grid_gives_no_reason_the_hook_fails_naming_the_state_and_where_azure_keeps_it(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=KEY, provisioning=("Canceled",))

    result = az.run_hook()

    assert result.returncode == 1
    assert result.stderr == (
        "postdeploy: Event Grid subscription aml-trigger-default: provisioningState Canceled: Event Grid gave no "
        "reason here; see the activity log of aml-trigger-default (Event Grid did not create it: check that the app "
        "runs, then rerun azd hooks run postdeploy)\n")


@pytest.mark.integration  # starts the hook
def test_a_missing_blobs_extension_key_fails_clearly_with_a_non_zero_exit_and_creates_nothing(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=None)

    result = az.run_hook()

    assert result.returncode == 1
    assert ("postdeploy: could not read the blobs_extension system key of func-abc123: it exists once the code with "
            "the blob trigger is deployed") in result.stderr
    assert [call["argv"][0] for call in az.calls()] == ["functionapp"] and az.resources() == {}


@pytest.mark.integration  # starts the hook
def test_a_missing_infra_output_fails_naming_it_before_any_az_call(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(EVENT_GRID_TOPIC_ID="")

    assert result.returncode == 1 and "postdeploy: EVENT_GRID_TOPIC_ID is not set" in result.stderr
    assert az.calls() == []


@pytest.mark.integration  # starts the hook
@pytest.mark.parametrize("prefix, suffix", [("incoming/", ".csv"), ("", "*"), ("a b/\"q\"/", ".CSV")])
def test_the_one_rule_subscription_filters_are_the_apps_prefix_and_suffix(tmp_path, prefix, suffix):
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(WATCH_PREFIX=prefix, WATCH_SUFFIX=suffix)

    assert result.returncode == 0, result.stderr
    (rule,) = load_config({**deployed_settings(), "WATCH_PREFIX": prefix, "WATCH_SUFFIX": suffix}, PROJECT_ROOT,
                          now=LOADED_AT).rules
    (body,) = az.resources().values()
    assert body == subscription_body(rule.watch.prefix, rule.watch.suffix)


@pytest.mark.integration  # starts the hook
def test_with_a_rules_file_there_is_one_subscription_per_rule_filtered_as_the_app_filters(tmp_path):
    rules_file = tmp_path / "rules.json"
    target = {"url": PIPELINE_URL}
    rules_file.write_text(json.dumps({"rules": [
        {"name": "machines", "prefix": "incoming/machines/", "target": target, "experiment": "e1"},
        {"name": "any_file", "prefix": "raw/", "suffix": "", "include_subfolders": True, "target": target,
         "experiment": "e2"},
        {"name": "whole", "suffix": ".parquet", "target": target, "experiment": "e3"},
    ], "schedules": []}), encoding="utf-8")
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(TRIGGER_RULES_FILE=str(rules_file))

    assert result.returncode == 0, result.stderr
    config = load_config(deployed_settings(triggerRulesFile=str(rules_file)), PROJECT_ROOT, now=LOADED_AT)
    assert az.resources() == {
        f"{TOPIC}/eventSubscriptions/{event_subscription_name(rule.name)}":
            subscription_body(rule.watch.prefix, rule.watch.suffix) for rule in config.rules}
    assert len(config.rules) == 3


def rules_file_of(folder: Path, *names: str) -> Path:
    """A rules file of one rule per name, each on its own folder."""
    rules_file = folder / "rules.json"
    rules_file.write_text(json.dumps({"rules": [
        {"name": name, "prefix": f"in{index}/", "target": {"url": PIPELINE_URL}, "experiment": "e"}
        for index, name in enumerate(names)]}), encoding="utf-8")
    return rules_file


@pytest.mark.integration  # starts the hook
def test_every_name_the_app_takes_makes_a_subscription_event_grid_takes_as_the_app_names_it(tmp_path):
    """The app's check (shared/core/config/rule_names.py) and the hook's mapping agree, at the limits; the fake az
    refuses a name Event Grid would."""
    names = ("a", "7", "A" * RULE_NAME_LENGTH, "load_data_" + "x" * (RULE_NAME_LENGTH - 10), "-".join("abc"))
    rules_file = rules_file_of(tmp_path, *names)
    config = load_config(deployed_settings(triggerRulesFile=str(rules_file)), PROJECT_ROOT, now=LOADED_AT)
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(TRIGGER_RULES_FILE=str(rules_file))

    assert result.returncode == 0, result.stderr
    assert [rule.name for rule in config.rules] == list(names)
    subscriptions = [event_subscription_name(rule.name) for rule in config.rules]
    assert sorted(az.resources()) == sorted(f"{TOPIC}/eventSubscriptions/{name}" for name in subscriptions)
    assert max(map(len, subscriptions)) == 64 and f"aml-trigger-load-data-{'x' * 42}" in subscriptions


@pytest.mark.integration  # starts the hook
def test_a_name_one_longer_is_refused_by_the_app_and_would_fail_at_the_hooks_put(tmp_path):
    name = "n" * (RULE_NAME_LENGTH + 1)
    rules_file = rules_file_of(tmp_path, name)
    with pytest.raises(ConfigError, match=re.escape(f"rules[0].name = '{name}': 1-{RULE_NAME_LENGTH} letters")):
        load_config(deployed_settings(triggerRulesFile=str(rules_file)), PROJECT_ROOT, now=LOADED_AT)
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(TRIGGER_RULES_FILE=str(rules_file))

    assert result.returncode == 1 and az.resources() == {}
    assert f"postdeploy: could not put the Event Grid subscription aml-trigger-{name}" in result.stderr


@pytest.mark.integration  # starts the hook
def test_a_rules_file_name_naming_a_setting_fails_clearly_and_creates_nothing(tmp_path):
    rules_file = rules_file_of(tmp_path, "%RULE_NAME%")
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(TRIGGER_RULES_FILE=str(rules_file))

    assert result.returncode == 1 and az.calls() == []
    assert ("postdeploy: rule %RULE_NAME%: a %SETTING% in its name cannot become an Event Grid subscription name "
            "(aml-trigger-<name>): write the name itself") in result.stderr


@pytest.mark.integration  # starts the hook
def test_a_rules_file_prefix_naming_a_setting_fails_clearly_and_creates_nothing(tmp_path):
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"rules": [{"name": "r", "prefix": "%FOLDER%", "target": {"url": "x"},
                                                 "experiment": "e"}]}), encoding="utf-8")
    az = FakeAz(tmp_path, blobs_extension=KEY)

    result = az.run_hook(TRIGGER_RULES_FILE=str(rules_file))

    assert result.returncode == 1
    assert "postdeploy: rule r: a %SETTING% in prefix or suffix cannot become an Event Grid filter" in result.stderr
    assert az.calls() == []


def test_azure_yaml_runs_the_hooks_after_deploy_on_both_shells():
    text = (PROJECT_ROOT / "azure.yaml").read_text(encoding="utf-8")
    assert "postdeploy:" in text and "run: ./scripts/postdeploy.sh" in text and "run: ./scripts/postdeploy.ps1" in text
    assert "run: ./scripts/postdeploy.sh && ./scripts/postdeploy-run-events.sh" in text
    assert "run: ./scripts/postdeploy.ps1; if ($?) { ./scripts/postdeploy-run-events.ps1 }" in text
    assert "host: function" in text and "language: python" in text


@pytest.mark.parametrize("parameter, module, source", [("watchedSystemTopicId", "watched", "account"),
                                                       ("workspaceSystemTopicId", "workspaceEvents", "workspace")])
def test_an_existing_system_topic_is_named_by_a_parameter_and_then_none_is_created(parameter, module, source):
    """A source has at most one system topic: a second one fails the deployment, so the one it has is used."""
    assert main_parameters()[parameter]["default"] == ""
    assert parsed("main.bicep")["modules"][module]["config"]["params"]["existingSystemTopicId"] == parameter
    template = parsed(parsed("main.bicep")["modules"][module]["detail"]["path"])
    topic = template["modules"]["systemTopic"]
    assert topic["detail"]["path"] == "system-topic.bicep" and "systemTopic" not in template["resources"]
    assert topic["config"]["params"]["existingTopicId"] == "existingSystemTopicId"
    assert dotted(topic["config"]["params"]["location"]) == f"{source}.location"
    created = parsed("app/system-topic.bicep")["resources"]["systemTopic"]["config"]
    assert created["condition"] == {"function": {"type": "empty", "parameters": {"item_to_test": "existingTopicId"}}}
    outputs = {name: output["value"]["operator"]["operands"] for name, output in
               parsed("app/system-topic.bicep")["outputs"].items()}
    assert outputs["id"]["false_value"] == "existingTopicId"
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    environment_name = re.sub(r"(?<!^)(?=[A-Z])", "_", parameter).upper()  # watchedSystemTopicId: WATCHED_SYSTEM_...
    assert parameters[parameter]["value"] == f"${{{environment_name}=}}"


def test_the_workspace_gets_a_system_topic_for_its_run_events_in_its_own_resource_group():
    topic = parsed("app/workspace-events.bicep")["modules"]["systemTopic"]["config"]["params"]
    assert topic["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    assert dotted(topic["sourceId"]) == "workspace.id" and dotted(topic["location"]) == "workspace.location"
    module = parsed("main.bicep")["modules"]["workspaceEvents"]
    assert json.dumps(module["config"]["scope"]) == json.dumps(parsed("main.bicep")["modules"]["workspaceRole"][
        "config"]["scope"])
    assert "AML_EVENTS_TOPIC_ID" in parsed("main.bicep")["outputs"]


def test_the_run_event_hooks_send_to_the_run_event_functions_indexed_name_and_are_twins():
    (events_function,) = [name for name, function in indexed_functions().items()
                          if json.loads(function.get_function_json())["bindings"][0]["type"] == "eventGridTrigger"]
    assert hook_constant(EVENTS_SH, "EVENTS_FUNCTION") == hook_constant(EVENTS_PS1, "EVENTS_FUNCTION") == (
        events_function)
    for constant in ("TRIGGERED_BY", "API_VERSION"):
        assert hook_constant(EVENTS_SH, constant) == hook_constant(EVENTS_PS1, constant)
    assert hook_constant(EVENTS_SH, "TRIGGERED_BY") == TRIGGERED_BY
    assert az_commands(EVENTS_SH) == az_commands(EVENTS_PS1) == az_commands(HOOK_SH)
    assert required_hook_variables(EVENTS_SH) == required_hook_variables(EVENTS_PS1)
    assert hook_variables(EVENTS_SH) == hook_variables(EVENTS_PS1) <= set(parsed("main.bicep")["outputs"])


def run_events_body(labels: str) -> dict:
    return webhook_subscription(
        f"https://func-abc123.azurewebsites.net/runtime/webhooks/eventgrid?functionName=record_run_status&code={EVENTS_KEY}",
        {"includedEventTypes": ["Microsoft.MachineLearningServices.RunStatusChanged",
                                "Microsoft.MachineLearningServices.RunCompleted"],
         "advancedFilters": [{"operatorType": "StringIn", "key": f"data.{labels}.triggered_by",
                              "values": ["aml-pipeline-trigger"]}]})


@pytest.mark.integration  # starts the hook
def test_the_run_event_hook_subscribes_the_function_to_runs_tagged_or_labelled_by_the_app(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=None, eventgrid_extension=EVENTS_KEY)

    first, second = (az.run_hook(EVENTS_SH, AML_EVENTS_TOPIC_ID=AML_EVENTS_TOPIC) for _ in range(2))

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "created Event Grid subscription aml-trigger-run-events-runtags" in first.stdout
    assert "updated Event Grid subscription aml-trigger-run-events-runproperties" in second.stdout
    assert [call["body"] for call in az.calls() if "body" in call] == [
        run_events_body("runTags"), run_events_body("runProperties")] * 2
    assert sorted(az.resources()) == [f"{AML_EVENTS_TOPIC}/eventSubscriptions/aml-trigger-run-events-runproperties",
                                      f"{AML_EVENTS_TOPIC}/eventSubscriptions/aml-trigger-run-events-runtags"]
    assert EVENTS_KEY not in first.stdout + first.stderr + second.stdout + second.stderr
    assert list(az.tmp.iterdir()) == []


@pytest.mark.integration  # starts the hook
def test_a_missing_eventgrid_extension_key_fails_clearly_and_creates_nothing(tmp_path):
    az = FakeAz(tmp_path, blobs_extension=KEY, eventgrid_extension=None)

    result = az.run_hook(EVENTS_SH, AML_EVENTS_TOPIC_ID=AML_EVENTS_TOPIC)

    assert result.returncode == 1
    assert ("postdeploy: could not read the eventgrid_extension system key of func-abc123: it exists once the code "
            "with the run-event function is deployed") in result.stderr
    assert az.resources() == {}


def _expiring(module: str) -> list[dict[str, Any]]:
    """The lifecycle rules main.bicep gives ``module``'s account, each as declared (a loop's as its items)."""
    variables = parsed("main.bicep")["variables"]
    config = parsed("main.bicep")["modules"][module]["config"]
    found = config.get("config", config)["params"]["expiring"]  # a conditional module's is one level down
    named = found if isinstance(found, list) else [*found["function"]["parameters"]["arg_1"],
                                                      found["function"]["parameters"]["arg_2"]]
    return [rule for name in named for rule in _rules(variables[name]["value"], variables)]


def _rules(declared: dict[str, Any], variables: dict[str, Any]) -> list[dict[str, Any]]:
    """One variable's rules: itself, or one per item of the array its ``for`` runs over."""
    if "loop_type" not in declared:
        return [declared]
    loop = declared["loop_type"]["detail"]
    return [{key: item if value == loop["item_name"] else value.replace("${" + loop["item_name"] + "}", item)
             if isinstance(value, str) else value for key, value in declared["config"].items()}
            for item in variables[loop["array_name"]]["value"]]


def _prefixes(rule: dict[str, Any]) -> list[str]:
    variables = parsed("main.bicep")["variables"]
    prefixes = rule["prefixes"]
    return [resolve(prefix, PLACEHOLDERS) for prefix in (
        variables[prefixes]["value"] if isinstance(prefixes, str) else prefixes)]


def test_the_account_deletes_each_rules_prefixes_after_its_days_and_only_blobs_tagged_as_its_state_says():
    """storage.bicep's one rule shape: block blobs under the rule's prefixes, unmodified for more than its days,
    and, for a rule with a state, only while their aml_state tag is that value (``blobIndexMatch``, op ``==``)."""
    policy = parsed("app/storage.bicep")["resources"]["lifecycle"]["config"]["config"]
    assert policy["name"] == "default"
    [definition] = [policy["properties"]["policy"]["rules"]["config"]["definition"]]
    union = definition["filters"]["function"]
    assert union["type"] == "union"
    every = union["parameters"]["arg_1"]
    assert every["blobTypes"] == ["blockBlob"] and dotted(every["prefixMatch"]) == "rule.prefixes"
    chosen = union["parameters"]["arg_2"]["operator"]["operands"]
    assert chosen["condition"]["function"] == {"type": "contains",
                                               "parameters": {"container": "rule", "item_to_find": "state"}}
    [match] = chosen["true_value"]["blobIndexMatch"]
    assert (match["name"], match["op"], dotted(match["value"])) == (STATE_TAG, "==", "rule.state")
    assert chosen["false_value"] == {}
    assert dotted(definition["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"]) == "rule.days"


def test_the_host_account_deletes_quiet_window_entries_after_the_days_the_apps_sweep_counts_on():
    """The lifecycle rule is the app's only deletion of entries: its prefix must be the ledger container's entry
    prefix and its days the retention the sweep's horizon assumes, or a swept old file could run twice."""
    rule = _expiring("hostStorage")[0]
    assert rule["name"] == "quiet-window-entries" and "state" not in rule
    assert _prefixes(rule) == [f"{PLACEHOLDERS['ledgerContainer']}/{QUIET_PREFIX}"]
    assert rule["days"] == ENTRY_RETENTION_DAYS and not FOLDERS_PREFIX.startswith(QUIET_PREFIX)
    assert QUIET_PREFIX.startswith(LISTING_PREFIX) and FOLDERS_PREFIX.startswith(LISTING_PREFIX)
    assert deployed_settings()["LEDGER_CONTAINER"] == PLACEHOLDERS["ledgerContainer"]


def test_a_new_watched_account_deletes_replayed_dead_letters_under_the_prefix_the_app_moves_them_to():
    """The replay moves a letter to ``replayed/`` in the dead-letter container; the rule must delete that prefix,
    after the records' retention (older letters are too old to replay again), and nothing still waiting."""
    module = parsed("main.bicep")["modules"]["newWatchedStorage"]["config"]
    assert module["condition"] == "newWatchedAccount"  # an existing account keeps its own lifecycle policy
    [rule] = _expiring("newWatchedStorage")
    assert rule["name"] == "replayed-dead-letters" and "state" not in rule
    assert _prefixes(rule) == [f"{PLACEHOLDERS['deadLetterContainer']}/{REPLAYED_PREFIX}"]
    assert rule["days"] == "recordRetentionDays"
    assert deployed_settings()["DEAD_LETTER_CONTAINER"] == PLACEHOLDERS["deadLetterContainer"]


def test_the_host_account_deletes_settled_run_records_the_index_and_sweep_reports_after_the_apps_retention():
    """One parameter sets both the lifecycle rules' days and RECORD_RETENTION_DAYS (the sweep's horizon follows the
    setting), so the account never deletes a record the sweep may still look for; data claims are kept. A run
    record is deleted only once settled: one rule per value of ``SETTLED_OUTCOMES``, exactly, so a record still
    waiting, failed for now, starting or running keeps its work whatever its age."""
    _quiet, index, sweeps, *records = _expiring("hostStorage")
    ledger = PLACEHOLDERS["ledgerContainer"]
    assert (index["name"], _prefixes(index)) == ("run-index", [f"{ledger}/{SUMMARY_NAME.split('/')[0]}/"])
    assert (sweeps["name"], _prefixes(sweeps)) == ("sweep-reports", [f"{ledger}/state/sweeps/"])
    assert "state" not in index and "state" not in sweeps
    assert sorted(rule["state"] for rule in records) == sorted(SETTLED_OUTCOMES)
    assert [rule["name"] for rule in records] == [f"run-records-{rule['state']}" for rule in records]
    assert all(_prefixes(rule) == [f"{ledger}/{prefix}" for prefix in RECORD_PREFIXES] for rule in records)
    assert {rule["days"] for rule in [index, sweeps, *records]} == {"recordRetentionDays"}
    parameter = main_parameters()["recordRetentionDays"]
    assert deployed_settings()["RECORD_RETENTION_DAYS"] == str(parameter["default"]) == RECORD_RETENTION_DAYS.default
    assert deployed_settings(recordRetentionDays="30")["RECORD_RETENTION_DAYS"] == "30"
    bounds = {decorator["type"]: decorator["argument"] for decorator in parameter["decorators"]}
    assert (bounds["min_value"], bounds["max_value"]) == (MIN_RETENTION_DAYS, RECORD_RETENTION_DAYS.maximum)
