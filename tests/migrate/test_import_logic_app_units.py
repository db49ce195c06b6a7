"""The Logic App importer's parts, in process, on workflows built here: each finding it reports (notes and what is
not carried over, whole and in order), the rule it writes, and what it reads from the trigger's folder id."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from cli.migrate.import_logic_app import LogicAppImport, import_logic_app, import_logic_apps
from cli.migrate.logic_app_export import ExportedWorkflow, LogicAppError

URI = "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/PipelineRuns/PipelineSubmit/p"
TRIGGER = "When_a_blob_is_added"
AUTHENTICATION = {"type": "ManagedServiceIdentity", "audience": "https://management.azure.com/"}


def blob_trigger(folder_id: object = "/data", **extra: Any) -> dict[str, Any]:
    return {"type": "ApiConnection", "recurrence": {"frequency": "Minute", "interval": 3},
            "inputs": {"path": "/v2/datasets/x/triggers/batch/onupdatedfile", "queries": {"folderId": folder_id}},
            **extra}


def post(body: dict[str, Any] | None = None, **inputs: Any) -> dict[str, Any]:
    return {"type": "Http", "inputs": {"method": "POST", "uri": URI, "authentication": AUTHENTICATION,
                                       "body": {"ExperimentName": "e"} if body is None else body, **inputs}}


def definition(actions: dict[str, Any] | None = None, trigger: object = None) -> dict[str, Any]:
    return {"triggers": {TRIGGER: blob_trigger() if trigger is None else trigger},
            "actions": {"HTTP": post()} if actions is None else actions}


def imported(workflow: dict[str, Any], **options: Any) -> LogicAppImport:
    return import_logic_app(ExportedWorkflow("wf", workflow, "definition", []), **options)


def texts(findings: list[Any]) -> list[str]:
    return [str(finding) for finding in findings]


def refusal(workflow: object) -> str:
    with pytest.raises(LogicAppError) as refused:
        import_logic_app(ExportedWorkflow("wf", workflow, "definition", []))
    return str(refused.value)


def test_a_minimal_workflow_gives_its_rule_and_every_note_in_order():
    result = imported(definition())

    assert result.rule == {"name": "wf", "prefix": "", "suffix": "", "include_subfolders": False,
                           "target": {"url": URI}, "experiment": "e", "parameters": {}, "run_source": None}
    assert (result.container, result.folder, result.sends, result.unsupported) == ("data", "", "", [])
    assert texts(result.notes) == [
        f"triggers.{TRIGGER}.recurrence: polled every 3 Minute: Event Grid events replace polling (the catch-up sweep "
        "covers missed events)",
        f"triggers.{TRIGGER}: the Logic App did not look into subfolders: include_subfolders false keeps that",
        f"triggers.{TRIGGER}: the Logic App started for every file: suffix '' does too",
        "actions.HTTP.inputs.authentication: managed identity, audience https://management.azure.com/: the app's own "
        "managed identity gets a token for https://management.azure.com/.default"]
    assert result.relative_path_note("a.csv") == "the Logic App passed no DataPath; neither does the rule"


def test_a_trigger_without_recurrence_says_it_does_not_know_the_polling():
    trigger = blob_trigger()
    del trigger["recurrence"]
    assert texts(imported(definition(trigger=trigger)).notes)[0] == (
        f"triggers.{TRIGGER}.recurrence: polled every ? ?: Event Grid events replace polling (the catch-up sweep "
        "covers missed events)")


def test_everything_around_the_post_is_listed_with_its_reason_in_order():
    actions = {
        "Skipped": "not an action",
        "Untyped": {"inputs": {}},
        "Route": {"type": "Switch", "cases": {"csv": {"actions": {"Log": {"type": "Compose"}}}, "bad": "text"},
                  "default": {"actions": {}}},
        "HTTP": post(),
        "Again": post(),
    }
    triggers = {TRIGGER: blob_trigger(), "Second": {}, "Third": {}}

    result = imported({"triggers": triggers, "actions": actions})

    assert texts(result.unsupported) == [
        "triggers.Second: a second trigger: import it as its own rule",
        "triggers.Third: a second trigger: import it as its own rule",
        "actions.Untyped: an action of type (none) has no rule equivalent; the app only starts the pipeline",
        "actions.Route: a condition decides whether the POST happens: a rule filters by folder and file ending only "
        "(prefix, suffix; required_columns checks a CSV's header); keep such logic in the pipeline",
        "actions.Route.cases.csv.actions.Log: an action of type Compose has no rule equivalent; the app only starts "
        "the pipeline",
        "actions.Again: another POST: one rule per pipeline, import it separately"]


@pytest.mark.parametrize("workflow, message", [
    ({"actions": {}}, "no workflow definition (an object with triggers and actions) found"),
    ({"triggers": {}, "actions": {}}, "the workflow has no triggers; expected the blob connector's \"When a blob is "
                                      "added or modified (properties only)\" trigger"),
    ({"triggers": [], "actions": {}}, "the workflow has no triggers; expected the blob connector's \"When a blob is "
                                      "added or modified (properties only)\" trigger"),
    (definition({"Get": {"type": "Http", "inputs": {"method": "GET"}}, "Typeless": {"inputs": {"method": "POST"}}}),
     "the workflow has no HTTP action with method POST to a pipeline"),
    (definition({"HTTP": post(body=["not", "an", "object"])}),
     "actions.HTTP.inputs.body must be a JSON object (PipelineSubmissionInfo)"),
    (definition({"HTTP": post(uri="@{parameters('uri')}")}),
     "actions.HTTP.inputs.uri must be the pipeline's REST endpoint as text, not an expression"),
    (definition({"HTTP": post(uri=["https://x"])}),
     "actions.HTTP.inputs.uri must be the pipeline's REST endpoint as text, not an expression"),
])
def test_a_workflow_it_cannot_translate_is_refused_with_the_exact_reason(workflow, message):
    assert refusal(workflow) == message


TRIGGER_REFUSED = (f"trigger {TRIGGER!r} is not the blob connector's \"When a blob is added or modified (properties "
                   "only)\" trigger (an ApiConnection trigger on .../triggers/batch/onupdatedfile)")


@pytest.mark.parametrize("trigger", [
    "text",
    {"type": "ApiConnection"},
    {"type": "ApiConnection", "inputs": {"path": "/v2/datasets/x/triggers/onupdatedfile"}},
    {**blob_trigger(), "type": "Request"},
])
def test_a_trigger_other_than_the_blob_connectors_is_refused(trigger):
    assert refusal(definition(trigger=trigger)) == TRIGGER_REFUSED


def encoded(path: str, keep_padding: bool = False) -> str:
    """The connector's folder id: base64 of the URL-encoded path, its padding dropped."""
    text = base64.b64encode(path.replace("/", "%2F").encode("utf-8")).decode("ascii")
    return text if keep_padding else text.rstrip("=")


@pytest.mark.parametrize("folder_id, metadata, container_and_folder", [
    ("/data/In/BoX", {}, ("data", "In/BoX/")),
    ("/data/", {}, ("data", "")),
    ("folder-1", {"folder-1": "/data/Named"}, ("data", "Named/")),
    (encoded("/data/a"), {}, ("data", "a/")),  # one '=' of padding dropped
    (encoded("/data/abc"), {}, ("data", "abc/")),  # two dropped
    (encoded("/data/ab"), {}, ("data", "ab/")),  # none needed
    (encoded("/data/a", keep_padding=True), {}, ("data", "a/")),  # kept
    (encoded("/data/In"), {encoded("/data/In"): "not a path"}, ("data", "In/")),
])
def test_the_watched_folder_is_read_from_a_path_a_metadata_name_or_the_connectors_base64(folder_id, metadata,
                                                                                       container_and_folder):
    result = imported(definition(trigger=blob_trigger(folder_id, metadata=metadata)))
    assert (result.container, result.folder) == container_and_folder
    assert result.rule["prefix"] == container_and_folder[1]


@pytest.mark.parametrize("folder_id", [
    None, "", 7, "folder-1", "L3$$Rh",  # '$' is no base64: not skipped (without it, the id reads '/ta')
    base64.b64encode(b"\x80abc").decode("ascii"),  # not UTF-8
    encoded("data/no-slash"),
])
def test_a_folder_id_it_cannot_read_is_refused_naming_the_field(folder_id):
    assert refusal(definition(trigger=blob_trigger(folder_id))) == (
        f"triggers.{TRIGGER}.inputs.queries.folderId: expected the watched folder ('/<container>[/<folder>]', or an "
        "id its metadata names)")


def test_authentication_with_another_audience_sets_the_scope_and_an_identity_is_named():
    authentication = {"type": "ManagedServiceIdentity", "audience": "https://ml.example/BoX",
                      "identity": "/subscriptions/s/identities/mine"}
    result = imported(definition({"HTTP": post(authentication=authentication)}))

    assert result.rule["target"] == {"url": URI, "scope": "https://ml.example/BoX/.default"}
    assert texts(result.notes)[-2:] == [
        "actions.HTTP.inputs.authentication: managed identity, audience https://ml.example/BoX: the app's own "
        "managed identity gets a token for https://ml.example/BoX/.default",
        "actions.HTTP.inputs.authentication.identity: a user-assigned identity: set MANAGED_IDENTITY_CLIENT_ID to its "
        "client id"]


def test_a_managed_identity_without_an_audience_gets_azure_resource_managers():
    result = imported(definition({"HTTP": post(authentication={"type": "ManagedServiceIdentity"})}))
    assert result.rule["target"] == {"url": URI}
    assert texts(result.notes)[-1] == (
        "actions.HTTP.inputs.authentication: managed identity, audience https://management.azure.com/: the app's own "
        "managed identity gets a token for https://management.azure.com/.default")


@pytest.mark.parametrize("authentication, kind", [("Raw", "None"), (None, "None"), ({"type": "Basic"}, "'Basic'")])
def test_other_authentication_is_not_carried_over_saying_its_type(authentication, kind):
    result = imported(definition({"HTTP": post(authentication=authentication)}))
    assert texts(result.unsupported) == [
        f"actions.HTTP.inputs.authentication: type {kind} is not carried over: the app calls with its own managed "
        "identity (grant it access to the workspace)"]


def test_headers_other_inputs_and_a_long_query_name_are_listed_and_the_version_moves_to_the_target():
    long_name = "n" * 45
    result = imported(definition({"HTTP": post(uri=f"{URI}?pipelineVersion=2&{long_name}=v",
                                               headers={"content-type": "json", "X-Id": "1"}, retryPolicy={},
                                               timeout="PT1M")}))

    assert result.rule["target"] == {"url": URI, "pipeline_version": "2"}
    assert texts(result.unsupported) == [
        f"actions.HTTP.inputs.uri: query {'n' * 40!r} removed from the URL and not written (a query may carry a "
        "secret; the app calls Azure ML with its own managed identity token)",
        "actions.HTTP.inputs.headers.X-Id: the app sends its own headers only",
        "actions.HTTP.inputs.retryPolicy: no rule equivalent",
        "actions.HTTP.inputs.timeout: no rule equivalent"]
    assert "actions.HTTP.inputs.uri: query parameter pipelineVersion: written as target.pipeline_version" in \
        texts(result.notes)


def test_the_body_keys_are_carried_over_or_listed_and_each_parameter_judged_in_turn():
    body = {"ExperimentName": "e", "Description": "d", "ContinueRunOnStepFailure": True, "RunSource": "SDK",
            "Extra": 1, "tags": {}, "ParameterAssignments": {"when": "@{utcNow()}", "count": 5, "plain": "p",
                                                            "name": "@{triggerBody()?['Name']}"}}
    result = imported(definition({"HTTP": post(body)}))

    assert {key: result.rule[key] for key in ("experiment", "parameters", "run_source", "description",
                                              "continue_on_step_failure")} == {
        "experiment": "e", "parameters": {"count": "5", "plain": "p", "name": "{blob.name}"}, "run_source": "SDK",
        "description": "d", "continue_on_step_failure": True}
    assert texts(result.unsupported) == [
        "actions.HTTP.inputs.body.Extra: not carried over",
        "actions.HTTP.inputs.body.tags: the app writes its own trigger tags",
        "actions.HTTP.inputs.body.ParameterAssignments.when: expression '@{utcNow()}': no placeholder gives its value "
        "exactly; left out"]
    assert texts(result.notes)[-1] == ("actions.HTTP.inputs.body.ParameterAssignments.name: expression "
                                       "\"@{triggerBody()?['Name']}\" written as '{blob.name}'")


def test_parameters_that_are_no_object_give_none():
    assert imported(definition({"HTTP": post({"ExperimentName": "e", "ParameterAssignments": ["x"]})})).rule[
        "parameters"] == {}


def body_with_data_path(*relative_paths: object) -> dict[str, Any]:
    assignments = {f"p{index}": {"DataStoreName": "store", "RelativePath": path}
                   for index, path in enumerate(relative_paths)}
    for assignment in assignments.values():
        if assignment["RelativePath"] is None:
            del assignment["RelativePath"]
    return {"ExperimentName": "e", "DataPathAssignments": assignments}


def in_folder(relative_path: object, folder_id: str = "/data/In", **options: Any) -> LogicAppImport:
    return imported(definition({"HTTP": post(body_with_data_path(relative_path))}, blob_trigger(folder_id)),
                    **options)


@pytest.mark.parametrize("relative_path, sends", [
    ("@{triggerBody()?['Name']}", "name"),
    ("@triggerBody()?['Path']", "path"),
    ("In/@{triggerBody()?['Name']}", "folder_name"),
    ("Out/@{triggerBody()?['Name']}", "template"),
    ("In/@{triggerBody()?['Path']}", "template"),
    ("In/@{triggerBody()?['Name']}.csv", "template"),
    ("@{toUpper(triggerBody()?['Name'])}x", "template"),
])
def test_what_the_logic_app_sent_as_relative_path_is_named(relative_path, sends):
    assert in_folder(relative_path).sends == sends


def test_a_name_in_a_folder_is_sent_as_the_path_in_the_container_unless_kept_and_the_note_says_so():
    sent = in_folder("@{triggerBody()?['Name']}")
    kept = in_folder("@{triggerBody()?['Name']}", keep_logic_app_value=True)

    assert sent.rule["data_path"] == {"parameter": "p0", "datastore": "store"}
    assert texts(sent.notes)[-1] == (
        "actions.HTTP.inputs.body.DataPathAssignments: triggerBody()?['Name'] is the file name without its folder; "
        "the rule sends the path in the container (run with --keep-logic-app-value to send the file name alone, if "
        "the pipeline relied on it)")
    assert sent.relative_path_note("In/sub/a.csv") == (
        "RelativePath 'In/sub/a.csv' (the blob's path in the container) where the Logic App sent 'a.csv'")
    assert kept.rule["data_path"] == {"parameter": "p0", "datastore": "store", "relative_path": "file_name"}
    assert "keep-logic-app-value" not in " ".join(texts(kept.notes))
    assert kept.relative_path_note("In/sub/a.csv") == "RelativePath 'a.csv', exactly as the Logic App sent it"


def test_a_name_at_the_root_needs_no_note_and_the_file_name_of_a_root_blob_is_itself():
    result = in_folder("@{triggerBody()?['Name']}", folder_id="/data", keep_logic_app_value=True)

    assert texts(result.notes)[-1].startswith("actions.HTTP.inputs.authentication: managed identity")
    assert "relative_path" not in result.rule["data_path"]
    result.rule["data_path"]["relative_path"] = "file_name"
    assert result.relative_path_note("a.csv") == "RelativePath 'a.csv', exactly as the Logic App sent it"


def test_a_path_is_noted_and_evaluated_as_the_logic_app_did():
    result = in_folder("@triggerBody()?['Path']")

    assert texts(result.notes)[-1] == (
        "actions.HTTP.inputs.body.DataPathAssignments: triggerBody()?['Path'] is '/<container>/<path>'; the rule "
        "sends the path in the container, which is what a datastore over the container resolves (no exact form)")
    assert result.legacy_body("In/a.csv")["DataPathAssignments"]["p0"]["RelativePath"] == "/data/In/a.csv"


def test_a_relative_path_template_is_written_noted_and_rendered_for_the_note():
    result = in_folder("Out/@{triggerBody()?['Path']}")

    assert result.rule["data_path"]["relative_path"] == "Out//data/{blob.path}"
    assert texts(result.notes)[-1] == ("actions.HTTP.inputs.body.DataPathAssignments.p0.RelativePath: expression "
                                       "\"Out/@{triggerBody()?['Path']}\" written as 'Out//data/{blob.path}'")
    assert result.relative_path_note("In/a.csv") == (
        "RelativePath 'Out//data/In/a.csv', exactly as the Logic App sent it")


@pytest.mark.parametrize("relative_path, shown", [(None, "''"), ("@{concat('a', 'b')}", "\"@{concat('a', 'b')}\"")])
def test_a_relative_path_without_a_template_is_listed_and_the_rule_sends_the_path(relative_path, shown):
    result = in_folder(relative_path)

    assert result.sends == "other"
    assert texts(result.unsupported) == [
        f"actions.HTTP.inputs.body.DataPathAssignments.p0.RelativePath: expression {shown}: no placeholder gives its "
        "value exactly; the rule sends the blob's path in the container"]


@pytest.mark.parametrize("assignments", [["In/a.csv"], {}, None])
def test_data_path_assignments_that_are_no_object_or_empty_pass_no_blob(assignments):
    result = imported(definition({"HTTP": post({"ExperimentName": "e", "DataPathAssignments": assignments})}))
    assert (result.sends, "data_path" in result.rule) == ("", False)


def test_a_second_data_path_is_listed_and_one_that_is_no_object_refused():
    result = imported(definition({"HTTP": post(body_with_data_path("@{triggerBody()?['Name']}", "x", "y"))}))

    assert texts(result.unsupported) == [
        "actions.HTTP.inputs.body.DataPathAssignments.p1: a rule passes the blob to one DataPath parameter",
        "actions.HTTP.inputs.body.DataPathAssignments.p2: a rule passes the blob to one DataPath parameter"]
    body = {"ExperimentName": "e", "DataPathAssignments": {"p": "In/a.csv"}}
    assert refusal(definition({"HTTP": post(body)})) == (
        "actions.HTTP.inputs.body.DataPathAssignments.p must be {\"DataStoreName\": ..., \"RelativePath\": ...}")


def test_the_legacy_body_evaluates_name_and_path_inside_expressions_it_cannot_translate():
    body = {"ExperimentName": "e", "ParameterAssignments": {
        "both": "@{triggerBody()?['Name']} @triggerBody()['Path'] @{utcNow()}", "n": 5}}
    result = imported(definition({"HTTP": post(body)}))

    assert result.legacy_body("In/a.csv")["ParameterAssignments"] == {
        "both": "a.csv /data/In/a.csv @{utcNow()}", "n": 5}
    assert result.clock_keys() == frozenset({"ParameterAssignments.both"})  # n is no text


def test_the_body_keys_reading_the_clock_are_named_by_their_dotted_keys():
    body = {"ExperimentName": "e", "Count": 3, "ParameterAssignments": {"day": "@{utcNow('yyyy-MM-dd')}", "n": 1}}
    assert imported(definition({"HTTP": post(body)})).clock_keys() == frozenset({"ParameterAssignments.day"})


SECRET = "sv=2024-08-04&sig=SECRETVALUE123456"


def test_secret_settings_are_numbered_across_an_imports_workflows_and_a_lone_workflow_has_its_own():
    with_secret = definition({"HTTP": post({"ExperimentName": "e", "ParameterAssignments": {"sas": SECRET}})})
    resource = {"type": "Microsoft.Logic/workflows", "name": "wf", "properties": {"definition": with_secret}}

    (first, second), refused = import_logic_apps({"resources": [resource, copy.deepcopy(resource)]})
    alone = import_logic_app(ExportedWorkflow("wf", copy.deepcopy(with_secret), "definition", []))

    assert refused == []
    assert (first.rule["parameters"], second.rule["parameters"]) == (
        {"sas": "%AML_PARAM_WF_SAS%"}, {"sas": "%AML_PARAM_WF_SAS_2%"})
    assert (alone.rule["parameters"], alone.settings) == ({"sas": "%AML_PARAM_WF_SAS%"}, {"AML_PARAM_WF_SAS": SECRET})


def test_the_file_name_alone_is_sent_only_when_asked():
    document = {"name": "wf", "definition": definition({"HTTP": post(body_with_data_path(
        "@{triggerBody()?['Name']}"))}, blob_trigger("/data/In"))}

    (default,), _ = import_logic_apps(copy.deepcopy(document))
    (kept,), _ = import_logic_apps(document, keep_logic_app_value=True)

    assert "relative_path" not in default.rule["data_path"]
    assert kept.rule["data_path"]["relative_path"] == "file_name"
