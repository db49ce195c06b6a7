"""import logic-app: the seed's Logic App (blob trigger, then a managed-identity POST of DataPathAssignments) becomes a
rule whose request, built as explain builds it, is the Logic App's body but for tags; the rest is listed."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from cli.__main__ import main
from cli.migrate import imports
from cli.migrate.import_logic_app import import_logic_apps
from cli.migrate.logic_app_export import LogicAppError
from shared.core.common.errors import InvalidInput
from shared.core.config.problems import ConfigError
from shared.core.config.rule_names import RULE_NAME_LENGTH
from shared.core.config.rules_file import load_rules_file
from shared.core.runs.payloads import DataRef, submission
from tests.support import planted
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "importers"
CODE_VIEW = FIXTURES / "logic_app_code_view.json"
ARM_TEMPLATE = FIXTURES / "logic_app_arm_template.json"
ENV = {"WATCH_CONTAINER": "training-data"}
SEED_BODY = {  # the HTTP action's body in the seed, with the workspace's datastore filled in
    "DataPathAssignments": {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                               "RelativePath": "@{triggerBody()?['Name']}"}},
    "ExperimentName": "MyRestPipeline",
    "ParameterAssignments": {"input_string": "sample_string3"},
    "RunSource": "SDK",
}


def import_logic_app(document) -> object:
    """The one workflow of ``document``, translated."""
    (imported,), refused = import_logic_apps(document)
    assert refused == []
    return imported


def workflow(path=CODE_VIEW) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def seed_body_for(relative_path: str) -> dict:
    body = copy.deepcopy(SEED_BODY)
    body["DataPathAssignments"]["input_datapath"]["RelativePath"] = relative_path
    return body


def rule_request_body(report: imports.ImportReport, tmp_path, blob: str) -> dict:
    """The imported rule, loaded by the app's loader, and the request body it sends for ``blob``."""
    (tmp_path / "rules.json").write_text(json.dumps(report.document), encoding="utf-8")
    (rule,), _ = load_rules_file({"TRIGGER_RULES_FILE": "rules.json"}, tmp_path, now=LOADED_AT)
    return dict(submission(rule.run, data=DataRef(blob, "https://a/b"), tags={"trigger_key": "k"}, key="k",
                           namespace="rules/r").body)


def test_the_fixture_has_the_seeds_http_body():
    assert workflow()["definition"]["actions"]["HTTP"]["inputs"]["body"] == SEED_BODY


def test_the_seeds_logic_app_gives_a_rule_whose_body_equals_the_seeds_for_a_blob_at_the_root(tmp_path):
    report = imports.logic_app(workflow(), ENV, blobs=["machineData.csv"])

    assert report.ok, report.lines
    assert report.document == {"rules": [{
        "name": "logic-app", "prefix": "", "suffix": "", "include_subfolders": False,
        "target": {"url": workflow()["definition"]["actions"]["HTTP"]["inputs"]["uri"]},
        "experiment": "MyRestPipeline", "parameters": {"input_string": "sample_string3"}, "run_source": "SDK",
        "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}]}
    body = rule_request_body(report, tmp_path, "machineData.csv")
    assert body.pop("tags") == {"trigger_key": "k"}
    assert body == seed_body_for("machineData.csv")
    assert "  RelativePath 'machineData.csv', exactly as the Logic App sent it" in report.lines
    table = "\n".join(report.lines)
    assert "    tags                                              (absent)            {5 tags}             expected" \
        in table
    assert "    parity holds (expected to differ: tags)" in table


def test_a_logic_app_that_sent_no_run_source_gives_a_rule_that_sends_none(tmp_path):
    document = workflow()
    del document["definition"]["actions"]["HTTP"]["inputs"]["body"]["RunSource"]
    report = imports.logic_app(document, ENV, blobs=["machineData.csv"])

    assert report.ok, report.lines
    assert report.document["rules"][0]["run_source"] is None
    body = rule_request_body(report, tmp_path, "machineData.csv")
    del body["tags"]
    assert body == {key: value for key, value in seed_body_for("machineData.csv").items() if key != "RunSource"}
    assert "    parity holds (expected to differ: tags)" in report.lines


def test_the_seeds_logic_app_on_a_folder_keeps_the_logic_apps_exact_relative_path_when_asked(tmp_path):
    report = imports.logic_app(workflow(ARM_TEMPLATE), ENV, blobs=["Datasets/machineData.csv"],
                               keep_logic_app_value=True)

    assert report.ok, report.lines
    (rule,) = report.document["rules"]
    assert (rule["name"], rule["prefix"], rule["data_path"]["relative_path"]) == (
        "retrain-on-upload", "Datasets/", "file_name")
    body = rule_request_body(report, tmp_path, "Datasets/machineData.csv")
    del body["tags"]
    assert body == seed_body_for("machineData.csv")  # triggerBody()?['Name'] is the file name alone


def test_a_folder_blob_gets_its_path_in_the_container_unless_asked_and_the_table_shows_the_difference():
    report = imports.logic_app(workflow(ARM_TEMPLATE), ENV, blobs=["Datasets/machineData.csv"])

    assert not report.ok
    assert "  RelativePath 'Datasets/machineData.csv' (the blob's path in the container) where the Logic App sent " \
           "'machineData.csv'" in report.lines
    assert any("--keep-logic-app-value" in line for line in report.lines)
    row = next(line for line in report.lines if "RelativePath   " in line)
    assert row.split() == ["DataPathAssignments.input_datapath.RelativePath", "machineData.csv",
                           "Datasets/machineData.csv", "DIFFERENT"]


def test_the_arm_template_resolves_its_parameters_and_reads_the_connectors_folder_id():
    from_arm, from_code_view = import_logic_app(workflow(ARM_TEMPLATE)), import_logic_app(workflow())

    assert (from_arm.name, from_arm.container, from_arm.folder) == ("retrain-on-upload", "training-data", "Datasets/")
    assert from_arm.rule["target"] == from_code_view.rule["target"]  # [parameters('pipelineEndpoint')] resolved
    assert from_arm.unsupported == []  # the connection ids' ARM expressions are not part of the definition


def test_polling_batch_size_and_identity_are_reported_not_dropped():
    imported = import_logic_app(workflow())
    texts = [str(note) for note in imported.notes]

    assert "triggers.When_a_blob_is_added_or_modified_(properties_only)_(V2).recurrence: polled every 3 Minute: " \
           "Event Grid events replace polling (the catch-up sweep covers missed events)" in texts
    assert any(".maxFileCount: 10 blobs a poll" in text for text in texts)
    assert any("audience https://management.azure.com/" in text for text in texts)


def test_parts_it_cannot_translate_are_listed_with_their_reasons():
    document = workflow()
    definition = document["definition"]
    http = definition["actions"].pop("HTTP")
    http["inputs"]["headers"] = {"Content-Type": "application/json", "x-extra": "1"}
    http["inputs"]["body"]["ParameterAssignments"]["run_date"] = "@{utcNow()}"
    http["inputs"]["body"]["tags"] = {"source": "logic-app"}
    definition["actions"]["Only_csv"] = {
        "type": "If", "expression": {"and": [{"endsWith": ["@triggerBody()?['Name']", ".csv"]}]},
        "actions": {"HTTP": http}, "else": {"actions": {"Notify": {"type": "ApiConnection", "inputs": {}}}}}

    imported = import_logic_app(document)

    assert [str(item) for item in imported.unsupported] == [
        "actions.Only_csv: a condition decides whether the POST happens: a rule filters by folder and file ending "
        "only (prefix, suffix; required_columns checks a CSV's header); keep such logic in the pipeline",
        "actions.Only_csv.else.actions.Notify: an action of type ApiConnection has no rule equivalent; the app only "
        "starts the pipeline",
        "actions.Only_csv.actions.HTTP.inputs.headers.x-extra: the app sends its own headers only",
        "actions.Only_csv.actions.HTTP.inputs.body.tags: the app writes its own trigger tags",
        "actions.Only_csv.actions.HTTP.inputs.body.ParameterAssignments.run_date: expression '@{utcNow()}': no "
        "placeholder gives its value exactly; left out",
    ]
    assert imported.rule["parameters"] == {"input_string": "sample_string3"}


def test_a_path_expression_and_other_authentication_are_explained():
    document = workflow()
    inputs = document["definition"]["actions"]["HTTP"]["inputs"]
    inputs["body"]["DataPathAssignments"]["input_datapath"]["RelativePath"] = "@{triggerBody()?['Path']}"
    inputs["authentication"] = {"type": "ActiveDirectoryOAuth", "secret": "do-not-print-me"}

    imported = import_logic_app(document)

    assert imported.legacy_body("a.csv")["DataPathAssignments"]["input_datapath"]["RelativePath"] == \
        "/training-data/a.csv"
    assert any("triggerBody()?['Path'] is '/<container>/<path>'" in str(note) for note in imported.notes)
    assert [str(item) for item in imported.unsupported] == [
        "actions.HTTP.inputs.authentication: type 'ActiveDirectoryOAuth' is not carried over: the app calls with "
        "its own managed identity (grant it access to the workspace)"]
    assert "do-not-print-me" not in repr(imported.notes) + repr(imported.unsupported)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["definition"].update(triggers={"Recurrence": {"type": "Recurrence"}}),
     "trigger 'Recurrence' is not the blob connector's \"When a blob is added or modified (properties only)\""),
    (lambda d: d["definition"]["actions"]["HTTP"]["inputs"].update(method="GET"),
     "the workflow has no HTTP action with method POST to a pipeline"),
    (lambda d: d["definition"]["actions"]["HTTP"]["inputs"]["body"].update(ExperimentName="@{variables('e')}"),
     "actions.HTTP.inputs.body.ExperimentName must be a fixed experiment name"),
    (lambda d: d.update(definition=[]), "no workflow definition (an object with triggers and actions) found"),
])
def test_a_workflow_it_cannot_translate_at_all_is_refused_saying_what_it_expected(change, message):
    document = workflow()
    change(document)
    with pytest.raises(LogicAppError) as raised:
        import_logic_app(document)
    assert message in str(raised.value)


def template_of_three_workflows() -> dict:
    """The seed's template, plus a second blob workflow on Scoring/ and a third on a timer (no rule equivalent)."""
    document = workflow(ARM_TEMPLATE)
    first = document["resources"][0]
    second, third = copy.deepcopy(first), copy.deepcopy(first)
    second["name"] = "score-on-upload"
    trigger = next(iter(second["properties"]["definition"]["triggers"].values()))
    trigger["inputs"]["queries"]["folderId"] = "/training-data/Scoring"
    third["name"] = "nightly-report"
    third["properties"]["definition"]["triggers"] = {"Recurrence": {"type": "Recurrence"}}
    document["resources"] += [second, third]
    return document


def test_every_workflow_of_a_template_becomes_a_rule_and_one_it_cannot_translate_is_named_with_why(tmp_path):
    report = imports.logic_app(template_of_three_workflows(), ENV, keep_logic_app_value=True,
                               blobs=["Datasets/a.csv", "Scoring/b.csv"])

    assert [(rule["name"], rule["prefix"]) for rule in report.document["rules"]] == [
        ("retrain-on-upload", "Datasets/"), ("score-on-upload", "Scoring/")]
    assert "PROBLEM: resources[2] (workflow 'nightly-report'): not imported: trigger 'Recurrence' is not the blob " \
           "connector's \"When a blob is added or modified (properties only)\" trigger (an ApiConnection trigger on " \
           ".../triggers/batch/onupdatedfile)" in report.lines
    assert "Logic App 'score-on-upload': watched /training-data/Scoring/ -> rule 'score-on-upload'" in report.lines
    assert [line for line in report.lines if "parity" in line] == [
        "  parity for blob 'Datasets/a.csv':", "    parity holds (expected to differ: tags)",
        "  parity for blob 'Scoring/b.csv':", "    parity holds (expected to differ: tags)"]
    assert not report.ok  # the workflow not imported is a problem to resolve


def test_the_command_names_a_workflow_it_did_not_import_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    (source := tmp_path / "template.json").write_text(json.dumps(template_of_three_workflows()), encoding="utf-8")
    output = tmp_path / "rules.json"

    assert main(["import", "logic-app", str(source), "--output", str(output), "--keep-logic-app-value"]) == 1

    out = capsys.readouterr().out
    assert "PROBLEM: resources[2] (workflow 'nightly-report'): not imported: trigger 'Recurrence'" in out
    assert [rule["name"] for rule in json.loads(output.read_text())["rules"]] == ["retrain-on-upload",
                                                                                 "score-on-upload"]


def test_name_renames_the_one_rule_and_is_refused_for_a_template_of_several():
    with pytest.raises(InvalidInput) as refused:
        imports.logic_app(template_of_three_workflows(), ENV, name="mine")
    assert str(refused.value) == ("--name 'mine' names one rule, and the template gives 2: leave --name out (each "
                                  "rule takes its workflow's name)")


def test_a_template_whose_workflows_watch_two_containers_is_a_problem():
    document = template_of_three_workflows()
    del document["resources"][2]
    trigger = next(iter(document["resources"][1]["properties"]["definition"]["triggers"].values()))
    trigger["inputs"]["queries"]["folderId"] = "/other-data/Scoring"

    report = imports.logic_app(document, {}, keep_logic_app_value=True)

    assert "  PROBLEM: the Logic App watched container 'other-data', the first one imported 'training-data': one " \
           "app watches one container (import this workflow into another app)" in report.lines
    assert not report.ok


def test_a_template_none_of_whose_workflows_translates_is_refused_naming_each():
    document = template_of_three_workflows()
    document["resources"] = document["resources"][2:] * 2

    with pytest.raises(LogicAppError) as refused:
        import_logic_apps(document)

    assert str(refused.value).startswith("no workflow of the ARM template can be imported: resources[0] (workflow "
                                         "'nightly-report'): not imported: trigger 'Recurrence' is not")
    assert "; resources[1] (workflow 'nightly-report'): not imported: trigger 'Recurrence'" in str(refused.value)


def test_another_watched_container_is_a_problem_named_with_its_fix():
    report = imports.logic_app(workflow(), {"WATCH_CONTAINER": "other-data"}, blobs=["a.csv"])
    assert not report.ok
    assert "  PROBLEM: the Logic App watched container 'training-data', this app watches " \
           "WATCH_CONTAINER='other-data': set WATCH_CONTAINER=training-data (one app, one container)" in report.lines


def test_a_sample_blob_the_rule_would_not_take_is_a_problem():
    report = imports.logic_app(workflow(ARM_TEMPLATE), ENV, blobs=["elsewhere/a.csv"])
    assert not report.ok
    assert any(line.startswith("  PROBLEM: rule 'retrain-on-upload' would not start for 'elsewhere/a.csv'")
               for line in report.lines)


def test_the_command_prints_the_rules_file_and_the_parity_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    output = tmp_path / "rules.json"

    assert main(["import", "logic-app", str(CODE_VIEW), "--blob", "machineData.csv", "--output", str(output)]) == 0

    out = capsys.readouterr().out
    assert json.loads(output.read_text())["rules"][0]["experiment"] == "MyRestPipeline"
    assert "parity holds (expected to differ: tags)" in out
    assert out.rstrip().endswith(f"wrote the rules file to {output}; set TRIGGER_RULES_FILE to it")


SECRETS = ("SECRETSIG", "SECRETCODE", "SECRETBARE", "SECRETFRAGMENT", "SECRETBEARER", "SECRETKEY")


def test_no_secret_of_the_uri_or_headers_is_printed_or_written_and_the_file_still_loads(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    document = workflow()
    inputs = document["definition"]["actions"]["HTTP"]["inputs"]
    inputs["uri"] += "?sig=SECRETSIG&code=SECRETCODE&SECRETBARE#SECRETFRAGMENT"
    inputs["headers"] = {"Content-Type": "application/json", "Authorization": "Bearer SECRETBEARER",
                         "api-key": "SECRETKEY"}
    (source := tmp_path / "workflow.json").write_text(json.dumps(document), encoding="utf-8")
    output = tmp_path / "rules.json"

    exit_code = main(["import", "logic-app", str(source), "--output", str(output)])

    printed = capsys.readouterr()
    written = output.read_text(encoding="utf-8")
    assert [secret for secret in SECRETS if secret in printed.out + printed.err + written] == []
    assert exit_code == 0
    assert json.loads(written)["rules"][0]["target"] == {"url": workflow()["definition"]["actions"]["HTTP"]["inputs"]
                                                         ["uri"]}
    assert "  NOT CARRIED OVER: actions.HTTP.inputs.uri: query 'sig', 'code', an item without '=' removed from the " \
           "URL and not written (a query may carry a secret; the app calls Azure ML with its own managed identity " \
           "token)" in printed.out.splitlines()
    assert "  NOT CARRIED OVER: actions.HTTP.inputs.uri: a fragment removed from the URL and not written (it may " \
           "carry a secret)" in printed.out.splitlines()
    load_rules_file({"TRIGGER_RULES_FILE": "rules.json"}, tmp_path, now=LOADED_AT)


def test_a_pipeline_endpoints_version_in_the_query_becomes_its_pipeline_version():
    document = workflow()
    inputs = document["definition"]["actions"]["HTTP"]["inputs"]
    endpoint = inputs["uri"].replace("PipelineSubmit/", "PipelineEndpointSubmit/Id/")
    inputs["uri"] = f"{endpoint}?pipelineVersion=3"

    report = imports.logic_app(document, ENV)

    assert report.ok, report.lines
    assert report.document["rules"][0]["target"] == {"url": endpoint, "pipeline_version": "3"}


def test_bad_json_gives_a_clear_error_and_writes_nothing(tmp_path, capsys):
    broken, output = tmp_path / "workflow.json", tmp_path / "rules.json"
    broken.write_text('{"definition": {"triggers": ', encoding="utf-8")

    assert main(["import", "logic-app", str(broken), "--output", str(output)]) == 1

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == f"{broken}: the Logic App workflow is not valid JSON (Expecting value at line 1 column 29)"
    assert not output.exists()


def test_a_file_name_relative_path_is_checked_and_is_for_v1_targets_only(tmp_path):
    rule = {"name": "r", "target": {"url": "https://x.inference.ml.azure.com/jobs"}, "experiment": "e",
            "data_path": {"parameter": "p", "relative_path": "file_name"}}
    bad = {**rule, "target": workflow()["definition"]["actions"]["HTTP"]["inputs"]["uri"],
           "data_path": {"parameter": "p", "datastore": "d", "relative_path": "basename"}}
    bad["target"] = {"url": bad["target"]}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule, {**bad, "name": "s"}]}), encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_rules_file({"TRIGGER_RULES_FILE": "rules.json"}, tmp_path, now=LOADED_AT)

    assert [str(problem) for problem in raised.value.problems] == [
        "rules.json: rules[0].data_path.relative_path = 'file_name': path (file_name applies to v1 pipelines only)",
        "rules.json: rules[1].data_path.relative_path = 'basename': path or file_name, or a path with a placeholder "
        "such as 'scored/{blob.stem}/'",
    ]


def test_the_az_show_and_bare_definition_forms_give_the_same_rule():
    code_view = workflow()
    az_show = {"name": "retrain-on-upload", "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Logic/"
               "workflows/retrain-on-upload", "state": "Enabled", "definition": code_view["definition"]}

    from_az, bare = import_logic_app(az_show), import_logic_app(code_view["definition"])

    assert from_az.rule == {**bare.rule, "name": "retrain-on-upload"}
    assert bare.rule == import_logic_app(code_view).rule


def test_a_workflow_name_that_is_no_rule_name_becomes_one_deterministically_and_the_report_says_so():
    long_name = "Retrain machines (plant 7).on-upload of new sensor data for the nightly batch"  # 78 characters
    az_show = {"name": long_name, "definition": workflow()["definition"]}

    report = imports.logic_app(az_show, ENV, blobs=["machineData.csv"])

    (rule,) = report.document["rules"]
    digest = hashlib.sha256(long_name.encode("utf-8")).hexdigest()[:6]
    assert rule["name"] == f"Retrain-machines-plant-7-on-upload-of-new-sen-{digest}"  # cut, then the original's hash
    assert len(rule["name"]) == RULE_NAME_LENGTH and import_logic_app(az_show).rule["name"] == rule["name"]
    assert report.ok, report.lines  # the app's own loader took the name
    assert (f"  note: name: {long_name!r} is not a rule name (1-52 letters, digits, '-' or '_', starting with a letter "
            f"or digit (the deploy hook names the rule's Event Grid subscription aml-trigger-<name>, '_' as '-', and "
            f"Event Grid allows 3-64 letters, digits and '-')): imported as {rule['name']!r}") in report.lines
    other = import_logic_app({**az_show, "name": long_name.replace("nightly", "weekly")})
    assert other.rule["name"] != rule["name"]  # the same first 45 characters, another hash


def test_a_workflow_name_with_other_characters_only_has_them_replaced():
    imported = import_logic_app({"name": "retrain.on upload", "definition": workflow()["definition"]})
    assert imported.rule["name"] == "retrain-on-upload"
    assert any(str(note).startswith("name: 'retrain.on upload' is not a rule name") for note in imported.notes)


def test_a_secret_looking_parameter_is_written_as_a_setting_reference_the_report_names(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    document = workflow()
    document["definition"]["actions"]["HTTP"]["inputs"]["body"]["ParameterAssignments"].update(planted.PARAMETERS)
    (source := tmp_path / "workflow.json").write_text(json.dumps(document), encoding="utf-8")
    output = tmp_path / "rules.json"

    exit_code = main(["import", "logic-app", str(source), "--blob", "machineData.csv", "--output", str(output)])

    printed = capsys.readouterr()
    written = output.read_text(encoding="utf-8")
    assert planted.leaked(printed.out, printed.err, written) == []
    assert exit_code == 0, printed.out
    assert json.loads(written)["rules"][0]["parameters"] == {
        "input_string": "sample_string3", "sas": "%AML_PARAM_LOGIC_APP_SAS%", "auth": "%AML_PARAM_LOGIC_APP_AUTH%"}
    lines = printed.out.splitlines()
    assert [line for line in planted.withheld_lines("rule", "logic-app", "LOGIC_APP") if line not in lines] == []
    assert "    parity holds (expected to differ: tags)" in lines
    assert planted.loaded_parameters(output, "LOGIC_APP") == {
        "logic-app": {"input_string": "sample_string3", **planted.PARAMETERS}}
