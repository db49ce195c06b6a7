"""v2 pipeline jobs end to end (Azurite and the Azure ML stand-in): the job a blob creates, named after its trigger's
record so Azure ML itself refuses a second one; the existing job adopted with one GET; outcomes, explain and the
refusals at load."""

from __future__ import annotations

import json

import pytest

from localdev.aml_standin import AcceptedRun, AcceptThenDrop, Respond
from localdev.host import deliver_event
from shared.clients.process.services import process_services
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.ledger.keys import blob_version_key
from shared.flows.outcomes.run_outcomes import poll_open_runs
from tests.support.batch import STANDIN_WORKSPACE, expected_job_name, pipeline_job_rule, rules_file
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV
from tests.support.settings import LOADED_AT

BLOB = "incoming/machines.csv"
SCORES = "azureml://datastores/workspaceblobstore/paths/scores/"
JOBS = STANDIN_WORKSPACE + "/jobs/"


def _delivered(app_env, aml, tmp_path, monkeypatch, **fields) -> tuple[str, str]:
    """One blob under a pipeline_job rule, delivered as the host delivers it: its key and ETag."""
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, **fields)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)
    deliver_blob(container, BLOB)
    return blob_version_key(container, BLOB, etag), etag


def test_a_blob_creates_one_pipeline_job_of_the_component_named_after_its_record(app_env, aml, tmp_path,
                                                                                   monkeypatch):
    key, etag = _delivered(app_env, aml, tmp_path, monkeypatch, display_name="nightly retrain",
                           parameters={"model_name": "m1", "max_trials": 3, "learning_rate": 0.1,
                                       "early_stop": True},
                           outputs={"scores": {"type": "uri_folder", "uri": SCORES}}, tags={"team": "ml"},
                           continue_on_step_failure=True)
    container = app_env["WATCH_CONTAINER"]
    name = expected_job_name("rules/pjob", key)

    [job] = aml.accepted
    [put] = aml.received
    assert (job.run_id, put.path, put.query) == (name, JOBS + name, {"api-version": "2024-01-01-preview"})
    assert put.audience == "https://management.azure.com"
    assert job.body == {"properties": {
        "jobType": "Pipeline", "componentId": STANDIN_WORKSPACE + "/components/retrain_pipeline/versions/3",
        "experimentName": "retrain", "displayName": "nightly retrain", "isArchived": False, "jobs": {},
        "inputs": {"model_name": {"jobInputType": "literal", "value": "m1"},
                   "max_trials": {"jobInputType": "literal", "value": "3"},
                   "learning_rate": {"jobInputType": "literal", "value": "0.1"},
                   "early_stop": {"jobInputType": "literal", "value": "True"},
                   "input_data": {"jobInputType": "uri_file",
                                  "uri": f"azureml://datastores/workspaceblobstore/paths/{BLOB}"}},
        "outputs": {"scores": {"jobOutputType": "uri_folder", "uri": SCORES}},
        "settings": {"_source": "REMOTE.WORKSPACE.COMPONENT", "continue_on_step_failure": True,
                     "default_compute": STANDIN_WORKSPACE + "/computes/cpu-cluster"},
        "tags": {"team": "ml"},
        "properties": {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "pjob",
                       "trigger_blob": f"{container}/{BLOB}", "trigger_etag": etag, "trigger_key": key},
    }}
    record = ledger_record("pjob", container, BLOB, etag)
    assert (record["state"], record["run_id"]) == ("submitted", name)
    assert record["run_url"] == (f"https://ml.azure.com/runs/{name}?wsid=/subscriptions/00000000-0000-0000-0000-"
                                 "000000000001/resourcegroups/ml-rg/workspaces/ml-ws")


def test_an_answer_lost_after_the_job_was_created_puts_again_and_adopts_the_job_with_one_get(
        app_env, aml, tmp_path, monkeypatch):
    aml.inject(AcceptThenDrop())

    key, etag = _delivered(app_env, aml, tmp_path, monkeypatch)

    name = expected_job_name("rules/pjob", key)
    [job] = aml.accepted
    assert [(request.path, request.status) for request in aml.received] == [
        (JOBS + name, None), (JOBS + name, 400), (JOBS + name, 200)]  # PUT lost, PUT refused as existing, GET
    assert aml.queries == []  # the name finds the job: no listing is searched
    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", job.run_id, True)


def test_an_identical_re_put_answered_200_as_an_update_records_the_same_job_once(app_env, aml, tmp_path,
                                                                                  monkeypatch):
    aml.identical_reput_updates = True  # inferred answer: the existing job, 200, instead of the cited refusal
    aml.inject(AcceptThenDrop())

    key, etag = _delivered(app_env, aml, tmp_path, monkeypatch)
    deliver_blob(app_env["WATCH_CONTAINER"], BLOB)  # and the event delivered again

    name = expected_job_name("rules/pjob", key)
    [job] = aml.accepted
    assert [(request.path, request.status) for request in aml.received] == [
        (JOBS + name, None), (JOBS + name, 200)]  # PUT lost, the same PUT taken as an update; the redelivery sends none
    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["run_id"], record["attempts"]) == ("submitted", job.run_id, 2)


def test_a_job_of_the_name_without_the_triggers_key_is_not_adopted(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)
    name = expected_job_name("rules/pjob", blob_version_key(container, BLOB, etag))
    aml.accept_new(AcceptedRun(name, "retrain_pipeline", None, {"properties": {"properties": {}}}, kind="v2"))

    deliver_blob(container, BLOB)

    record = ledger_record("pjob", container, BLOB, etag)
    assert (record["state"], record["retryable"]) == ("failed", False)
    assert record["reason"] == (
        f"a job of this name already exists but does not carry this trigger's key {record['key']!r}: not adopted")


def test_a_refused_job_is_recorded_with_the_services_error_and_not_retried(app_env, aml, tmp_path, monkeypatch):
    _, etag = _delivered(app_env, aml, tmp_path, monkeypatch, parameters={"not_an_input": "x"})

    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["retryable"], record["error"]["status"]) == ("failed", False, 400)
    assert "input 'not_an_input' is not an input of the component" in record["error"]["message"]
    assert aml.accepted == [] and len(aml.received) == 1


def test_a_run_event_and_the_fallback_bring_a_pipeline_jobs_record_to_its_end(app_env, aml, tmp_path, monkeypatch):
    _, etag = _delivered(app_env, aml, tmp_path, monkeypatch)
    [job] = aml.accepted
    aml.set_status(job.run_id, "Running")
    deliver_event(aml.run_event(job.run_id))
    assert ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)["run"]["status"] == "running"
    aml.set_status(job.run_id, "Failed", {"code": "UserError", "message": "train step failed"})
    aml.received.clear()

    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert (report["asked"], report["ended"]) == (1, 1)
    # the job on ARM; then run history's host by the workspace's discovery (here: this stand-in), then the job there
    assert [(request.path, request.query) for request in aml.received] == [
        (JOBS + job.run_id, {"api-version": "2024-10-01"}), (STANDIN_WORKSPACE, {"api-version": "2024-10-01"}),
        ("/discovery", {}), (f"/history/v1.0{STANDIN_WORKSPACE}/runs/{job.run_id}", {})]
    run = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)["run"]
    assert (run["status"], run["error"]) == ("failed", {"code": "UserError", "message": "train step failed"})


def test_explain_shows_the_put_it_would_send_and_sends_nothing(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)

    [explained] = call("http_explain", body={"blob": BLOB})[1]["rules"]

    name = expected_job_name("rules/pjob", blob_version_key(container, BLOB, etag))
    assert explained["outcome"] == "would submit"
    assert explained["request"]["method"] == "PUT"
    assert explained["request"]["url"] == f"{aml.url}{JOBS}{name}?api-version=2024-01-01-preview"
    assert explained["request"]["token_scope"] == "https://management.azure.com/.default"
    assert explained["request"]["body"]["properties"]["componentId"].endswith("/retrain_pipeline/versions/3")
    assert aml.received == [] and aml.accepted == []


def test_a_transient_refusal_is_retried_with_the_same_name(app_env, aml, tmp_path, monkeypatch):
    aml.inject(Respond(503))

    key, _ = _delivered(app_env, aml, tmp_path, monkeypatch)

    name = expected_job_name("rules/pjob", key)
    assert [(request.path, request.status) for request in aml.received] == [(JOBS + name, 503), (JOBS + name, 201)]
    assert [job.run_id for job in aml.accepted] == [name]


def config_problems(tmp_path, rule: dict) -> list[str]:
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule]}))
    env = {"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
           "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5", "TRIGGER_RULES_FILE": "rules.json"}
    with pytest.raises(ConfigError) as error:
        load_config(env, tmp_path, now=LOADED_AT)
    return [str(problem) for problem in error.value.problems]


WORKSPACE = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"
TARGET = {"kind": "pipeline_job", "workspace": WORKSPACE, "component": "azureml:retrain:3"}


@pytest.mark.parametrize("change, expected", [
    ({"target": {**TARGET, "workspace": None}},
     "rules[0].target.workspace = (not set): a pipeline job is created in a workspace: its resource id, "
     "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>"),
    ({"target": {**TARGET, "component": None}},
     "rules[0].target.component = (not set): a registered pipeline component: azureml:<name>:<version> or "
     "azureml:<name>@latest"),
    ({"target": {**TARGET, "component": "azureml:retrain@prod"}},
     "rules[0].target.component = 'azureml:retrain@prod': a registered pipeline component: azureml:<name>:"
     "<version> or azureml:<name>@latest (as azure-ai-ml's components.get names them); azure-ai-ml resolves no "
     "label but @latest: it refuses @prod without asking Azure ML"),
    ({"target": {**TARGET, "component": 3}}, "rules[0].target.component = 3: text"),
    ({"target": {**TARGET, "compute": "cpu cluster"}},
     "rules[0].target.compute = 'cpu cluster': a compute name in the workspace (e.g. cpu-cluster)"),
    ({"target": {**TARGET, "url": "https://evilmanagement.azure.com"}},
     "rules[0].target.url = 'https://evilmanagement.azure.com': host 'evilmanagement.azure.com' is not an Azure ML "
     "host (expected *management.azure.com, *management.chinacloudapi.cn, *management.usgovcloudapi.net)"),
    ({"data_path": {"parameter": "input_data"}},
     "rules[0].data_path.datastore = (not set): the datastore over the watched container (a pipeline job's input "
     "is a datastore path)"),
    ({"description": "d"}, "rules[0].description = 'd': description applies to v1 pipelines only, not to a "
                           "pipeline_job target"),
    ({"tags": {"team": 1}}, "rules[0].tags = {'team': 1}: an object of tag names to text"),
    ({"display_name": ""}, "rules[0].display_name = '': text: the job's name in the studio"),
])
def test_a_pipeline_job_rule_with_a_bad_field_is_refused_at_load_naming_it(tmp_path, change, expected):
    rule = {"name": "r", "experiment": "e", "target": TARGET, **change}
    rule["target"] = {key: value for key, value in rule["target"].items() if value is not None}

    problems = config_problems(tmp_path, rule)

    assert len(problems) == 1 and problems[0].startswith(f"rules.json: {expected}"), problems


@pytest.mark.parametrize("key", ["display_name", "tags"])
def test_pipeline_job_fields_are_refused_for_other_targets(tmp_path, key):
    scoring = "https://retrain.eastus.inference.ml.azure.com/jobs"
    rule = {"name": "r", "experiment": "e", "target": {"url": scoring}, key: {"display_name": "x", "tags": {}}[key]}

    [problem] = config_problems(tmp_path, rule)

    assert f"{key} appl" in problem and "to pipeline jobs only, not to a batch_endpoint target" in problem


@pytest.mark.parametrize("key", ["component", "compute"])
def test_a_component_or_compute_on_another_target_is_refused(tmp_path, key):
    scoring = "https://retrain.eastus.inference.ml.azure.com/jobs"

    [problem] = config_problems(tmp_path, {"name": "r", "experiment": "e", "target": {"url": scoring, key: "x"}})

    assert problem == f"rules.json: rules[0].target.{key} = 'x': {key} applies to pipeline_job targets only"


def test_a_success_markers_batch_gives_the_job_a_uri_folder_input_and_a_run_limit_holds_the_second(
        app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, marker={"file": "_SUCCESS"}, include_subfolders=True,
                                                         max_active_runs=1)])
    container = app_env["WATCH_CONTAINER"]
    markers = {}
    for folder in ("incoming/2026-12-01/", "incoming/2026-12-02/"):
        upload(container, folder + "part-1.csv", SAMPLE_CSV)
        markers[folder] = upload(container, folder + "_SUCCESS", b"")
        deliver_blob(container, folder + "_SUCCESS")

    [job] = aml.accepted
    waiting = ledger_record("pjob", container, "incoming/2026-12-02/_SUCCESS", markers["incoming/2026-12-02/"])
    assert waiting["state"] == "waiting"  # until the first job ends
    assert job.body["properties"]["inputs"]["input_data"] == {
        "jobInputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/incoming/2026-12-01/"}
