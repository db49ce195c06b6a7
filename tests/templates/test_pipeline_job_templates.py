"""Templates rendered in pipeline-job bodies at the stand-in: a literal input and the input path shaped by the
blob or the schedule's occurrence, the job's name still the trigger's (exactly once), a rendered value the job
cannot take refused with nothing sent, and explain showing the rendered PUT while sending nothing."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from cli.__main__ import main
from shared.clients.process.services import build_services
from shared.core.ledger.keys import blob_version_key, schedule_occurrence_key
from shared.flows.schedules.schedule_runs import fire_schedule
from tests.support.batch import STANDIN_WORKSPACE, expected_job_name, pipeline_job_rule, rules_file
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV

BLOB = "incoming/2026/Machines.csv"
DATASTORE = "azureml://datastores/workspaceblobstore/paths/"
COMPONENT_ID = STANDIN_WORKSPACE + "/components/retrain_pipeline/versions/3"
TEMPLATED = {"include_subfolders": True, "parameters": {"model_name": "{rule}-{blob.stem|lower}", "max_trials": 3},
             "data_path": {"parameter": "input_data", "datastore": "workspaceblobstore",
                           "relative_path": "{blob.folder}"}}


def test_a_blobs_job_carries_the_rendered_literal_and_folder_under_the_triggers_name(app_env, aml, tmp_path,
                                                                                   monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, **TEMPLATED)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)

    deliver_blob(container, BLOB)
    deliver_blob(container, BLOB)  # the duplicate starts nothing

    key = blob_version_key(container, BLOB, etag)
    name = expected_job_name("rules/pjob", key)  # the trigger's record names the job, not what was rendered
    [job] = aml.accepted
    [put] = aml.received
    assert (job.run_id, put.path) == (name, f"{STANDIN_WORKSPACE}/jobs/{name}")
    assert job.body == {"properties": {
        "jobType": "Pipeline", "componentId": COMPONENT_ID, "experimentName": "retrain", "isArchived": False,
        "jobs": {}, "outputs": {}, "tags": {},
        "inputs": {"model_name": {"jobInputType": "literal", "value": "pjob-machines"},
                   "max_trials": {"jobInputType": "literal", "value": "3"},
                   "input_data": {"jobInputType": "uri_folder", "uri": DATASTORE + "incoming/2026/"}},
        "settings": {"_source": "REMOTE.WORKSPACE.COMPONENT",
                     "default_compute": STANDIN_WORKSPACE + "/computes/cpu-cluster"},
        "properties": {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "pjob",
                       "trigger_blob": f"{container}/{BLOB}", "trigger_etag": etag, "trigger_key": key},
    }}
    assert ledger_record("pjob", container, BLOB, etag)["run_id"] == name


def test_a_schedules_job_gets_a_dated_folder_of_its_occurrence(app_env, aml, tmp_path, monkeypatch):
    schedule = {key: value for key, value in pipeline_job_rule(aml, name="nightly").items() if key != "prefix"}
    schedule |= {"cron": "0 0 2 * * *", "parameters": {"model_name": "m-{trigger.time:%Y-%m-%d}"},
                 "data_path": {"parameter": "input_data", "datastore": "workspaceblobstore",
                               "relative_path": "daily/{trigger.time:%Y/%m/%d}/"}}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [], "schedules": [schedule]}), "utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))

    fire_schedule("nightly", fired_at=datetime(2026, 11, 3, 2, 0, 0, 300_000, UTC), past_due=False,
                  services=build_services(os.environ))

    [job] = aml.accepted
    key = schedule_occurrence_key("nightly", datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    assert job.run_id == expected_job_name("schedules/nightly", key)
    assert job.body["properties"]["inputs"] == {
        "model_name": {"jobInputType": "literal", "value": "m-2026-11-03"},
        "input_data": {"jobInputType": "uri_folder", "uri": DATASTORE + "daily/2026/11/03/"}}


def test_a_rendered_file_path_goes_as_a_uri_file(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, include_subfolders=True, data_path={
        "parameter": "input_data", "datastore": "workspaceblobstore", "relative_path": "copies/{blob.name|lower}"})])
    container = app_env["WATCH_CONTAINER"]
    upload(container, BLOB, SAMPLE_CSV)

    deliver_blob(container, BLOB)

    [job] = aml.accepted
    assert job.body["properties"]["inputs"]["input_data"] == {"jobInputType": "uri_file",
                                                              "uri": DATASTORE + "copies/machines.csv"}


def test_explain_shows_the_rendered_put_of_a_pipeline_job_and_sends_nothing(app_env, aml, tmp_path, monkeypatch,
                                                                            capsys):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, **TEMPLATED)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)

    status, by_http = call("http_explain", body={"blob": BLOB})
    assert main(["explain", "--blob", BLOB]) == 0  # the CLI and the status page call the same explain

    assert aml.received == [] and aml.accepted == []
    assert status == 200 and json.loads(capsys.readouterr().out) == by_http
    [shown] = by_http["rules"]
    name = expected_job_name("rules/pjob", blob_version_key(container, BLOB, etag))
    assert shown["request"]["method"] == "PUT"
    assert shown["request"]["url"] == f"{aml.url}{STANDIN_WORKSPACE}/jobs/{name}?api-version=2024-01-01-preview"
    assert shown["request"]["body"]["properties"]["inputs"] == {
        "model_name": {"jobInputType": "literal", "value": "pjob-machines"},
        "max_trials": {"jobInputType": "literal", "value": "3"},
        "input_data": {"jobInputType": "uri_folder", "uri": DATASTORE + "incoming/2026/"}}
    deliver_blob(container, BLOB)
    [job] = aml.accepted
    assert job.body == shown["request"]["body"]  # what explain showed is what was sent
