"""v2 batch endpoints (pipeline component deployments) end to end, and beside a v1 pipeline from one CSV drop."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from localdev.aml_standin import Respond
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.ledger.keys import blob_version_key
from tests.support.batch import batch_rule, expected_request_id, rules_file
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV
from tests.support.settings import LOADED_AT


def test_one_csv_drop_starts_a_v1_run_and_a_v2_job_from_two_rules(app_env, aml, identity, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [
        {"name": "v1", "prefix": "incoming/", "target": {"url": aml.published_pipeline_url()},
         "experiment": "retrain", "parameters": {"model_name": "m1", "max_trials": 3},
         "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}},
        batch_rule(aml, parameters={"model_name": "m1", "max_trials": 3, "learning_rate": 0.1, "early_stop": True},
                   outputs={"scores": {"type": "uri_folder",
                                       "uri": "azureml://datastores/workspaceblobstore/paths/scores/"}}),
    ])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/machines.csv", SAMPLE_CSV)
    key = blob_version_key(container, "incoming/machines.csv", etag)

    deliver_blob(container, "incoming/machines.csv")
    deliver_blob(container, "incoming/machines.csv")  # the duplicate starts neither again

    v1_run, v2_job = sorted(aml.accepted, key=lambda run: run.kind)
    assert v1_run.body["ParameterAssignments"] == {"model_name": "m1", "max_trials": "3"}
    assert v1_run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == "incoming/machines.csv"
    assert v2_job.body == {"properties": {
        "inputData": {
            "model_name": {"jobInputType": "Literal", "value": "m1"},
            "max_trials": {"jobInputType": "Literal", "value": 3},
            "learning_rate": {"jobInputType": "Literal", "value": 0.1},
            "early_stop": {"jobInputType": "Literal", "value": True},
            "input_data": {"jobInputType": "UriFile",
                           "uri": "azureml://datastores/workspaceblobstore/paths/incoming/machines.csv"},
        },
        "outputData": {"scores": {"jobOutputType": "UriFolder",
                                  "uri": "azureml://datastores/workspaceblobstore/paths/scores/"}},
        "properties": {"experimentName": "batch-retrain", "triggered_by": "aml-pipeline-trigger",
                       "trigger_rule": "v2", "trigger_blob": f"{container}/incoming/machines.csv",
                       "trigger_etag": etag, "trigger_key": key},
    }}
    assert (v2_job.deployment, v2_job.request_id) == ("blue", expected_request_id(key))
    audiences = {received.path: received.audience for received in aml.received}
    assert audiences["/jobs"] == "https://ml.azure.com" and len(aml.received) == 2
    assert [r for r in audiences.values() if r != "https://ml.azure.com"] == ["https://management.azure.com"]
    assert sorted(request.resource for request in identity.requests) == [
        "https://management.azure.com", "https://ml.azure.com"]  # one token per audience, each cached

    v2_record = ledger_record("v2", container, "incoming/machines.csv", etag)
    assert v2_record["run_id"] == v2_job.run_id
    assert v2_record["run_url"] == (f"https://ml.azure.com/runs/{v2_job.run_id}"
                                    "?wsid=/subscriptions/sub-1/resourcegroups/ml-rg/workspaces/ml-ws")
    assert ledger_record("v1", container, "incoming/machines.csv", etag)["run_id"] == v1_run.run_id


def test_without_a_datastore_the_blob_url_is_the_input(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml, data_path={"parameter": "input_data"})])
    upload(app_env["WATCH_CONTAINER"], "incoming/a b#1.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "incoming/a b#1.csv")

    [job] = aml.accepted
    uri = job.body["properties"]["inputData"]["input_data"]["uri"]
    assert uri.endswith(f"/{app_env['WATCH_CONTAINER']}/incoming/a%20b%231.csv")  # the blob's own, encoded URL


def test_a_sas_in_the_watched_connection_never_reaches_a_job_or_explain(app_env, aml, azurite, tmp_path,
                                                                        monkeypatch):
    from datetime import datetime, timedelta

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    from localdev.azurite import ACCOUNT, ACCOUNT_KEY
    from tests.support.http import call

    sas = generate_account_sas(ACCOUNT, ACCOUNT_KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, list=True), datetime.now(UTC) + timedelta(hours=1))
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    monkeypatch.setenv("WATCH_STORAGE",
                       f"BlobEndpoint={azurite.endpoints['blob']}/{ACCOUNT};SharedAccessSignature={sas}")
    rules_file(tmp_path, monkeypatch, [batch_rule(aml, data_path={"parameter": "input_data"})])

    explained = call("http_explain", body={"blob": "incoming/a.csv"})[1]
    deliver_blob(app_env["WATCH_CONTAINER"], "incoming/a.csv")

    [job] = aml.accepted
    uri = job.body["properties"]["inputData"]["input_data"]["uri"]
    assert uri.endswith("/incoming/a.csv") and "sig=" not in uri
    assert "sig=" not in json.dumps(explained) and explained["rules"][0]["outcome"] == "would submit"


def test_a_retried_invocation_carries_the_same_repeatability_id(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml)])
    aml.inject(Respond(503))
    etag = upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "incoming/a.csv")

    ids = {received.headers["repeatability_request-id"] for received in aml.received}
    assert len(aml.received) == 2 and ids == {expected_request_id(
        blob_version_key(app_env["WATCH_CONTAINER"], "incoming/a.csv", etag))}


@pytest.mark.parametrize("target, status, code", [
    ({"deployment": "green"}, 400, "UserError"),  # no such deployment on the endpoint
    ({"scope": "https://management.azure.com/.default"}, 401, "InvalidAudience"),  # v1's audience, not v2's
])
def test_refusals_are_permanent_and_recorded_with_the_services_error(app_env, aml, tmp_path, monkeypatch, target,
                                                                       status, code):
    rule = batch_rule(aml)
    rules_file(tmp_path, monkeypatch, [{**rule, "target": {**rule["target"], **target}}])
    etag = upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "incoming/a.csv")

    record = ledger_record("v2", app_env["WATCH_CONTAINER"], "incoming/a.csv", etag)
    assert (record["state"], record["retryable"], record["error"]["status"], record["error"]["code"]) == (
        "failed", False, status, code)
    assert aml.accepted == []


def config_problems(tmp_path, rule: dict) -> list[str]:
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule]}))
    env = {"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
           "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5",
           "TRIGGER_RULES_FILE": "rules.json"}
    with pytest.raises(ConfigError) as error:
        load_config(env, tmp_path, now=LOADED_AT)
    return [str(problem) for problem in error.value.problems]


SCORING_URI = "https://retrain.eastus.inference.ml.azure.com/jobs"
V1_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
          "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")


@pytest.mark.parametrize("rule, expected", [
    ({"target": {"url": SCORING_URI}, "description": "d"},
     "rules[0].description = 'd': description applies to v1 pipelines only, not to a batch_endpoint target"),
    ({"target": {"url": SCORING_URI}, "continue_on_step_failure": True},
     "rules[0].continue_on_step_failure = True: continue_on_step_failure applies to v1 pipelines and pipeline jobs "
     "only, not to a batch_endpoint target"),
    ({"target": {"url": V1_URL}, "outputs": {"o": {"type": "uri_file", "uri": "azureml://datastores/d/paths/o"}}},
     "rules[0].outputs = {'o': {'type': 'uri_file', 'uri': 'azureml://datastores/d/paths/o'}}: outputs apply to "
     "v2 batch endpoints and pipeline jobs only, not to a published_pipeline target"),
    ({"target": {"url": V1_URL}, "data_path": {"parameter": "input_datapath"}},
     "rules[0].data_path.datastore = (not set): the datastore over the watched container (v1 needs one)"),
    ({"target": {"url": SCORING_URI}, "outputs": {"o": {"type": "mltable", "uri": "azureml://x"}}},
     "rules[0].outputs.o = {'type': 'mltable', 'uri': 'azureml://x'}: {\"<output>\": {\"type\": \"uri_folder\""),
    ({"target": {"url": "https://retrain.eastus.inference.ml.azure.com/score"}},
     "rules[0].target.url = 'https://retrain.eastus.inference.ml.azure.com/score': path does not fit"),
])
def test_fields_a_target_cannot_take_are_refused_at_load(tmp_path, rule, expected):
    problems = config_problems(tmp_path, {"name": "r", "experiment": "e", **rule})
    assert len(problems) == 1 and problems[0].startswith(f"rules.json: {expected}"), problems
