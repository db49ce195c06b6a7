"""Templates rendered in the bodies Azure ML receives (v1 published pipelines, v2 batch endpoints), at the stand-in:
exact bodies, the ledger key unchanged, a value the blob lacks rejected with nothing sent, and explain showing the
rendered body while sending nothing."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from cli.__main__ import main
from shared.clients.process.services import build_services
from shared.core.ledger.keys import blob_version_key
from shared.flows.schedules.schedule_runs import fire_schedule
from shared.operations.http.explain import explain
from tests.support.batch import batch_rule, expected_request_id
from tests.support.harness import deliver_blob, ledger_record, service_client
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV

DATA_PATH = {"parameter": "input_datapath", "datastore": "workspaceblobstore"}
SAS_SIG = "sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2Babc%3D"


def rules_file(tmp_path, monkeypatch, rules: list[dict], schedules: list[dict] | None = None) -> None:
    (tmp_path / "rules.json").write_text(json.dumps({"rules": rules, "schedules": schedules or []}), "utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))


def upload_with(container: str, name: str, metadata: dict[str, str]) -> tuple[str, datetime]:
    """Upload ``name`` with user metadata; its bare ETag and Last-Modified as storage reports them."""
    blob = service_client().get_blob_client(container, name)
    blob.upload_blob(SAMPLE_CSV, overwrite=True, metadata=metadata)
    properties = blob.get_blob_properties()
    return properties.etag.strip('"'), properties.last_modified


def v1_rule(aml, **fields) -> dict:
    return {"name": "scored", "prefix": "in/", "include_subfolders": True, "experiment": "retrain",
            "target": {"url": aml.published_pipeline_url()}, **fields}


def test_a_v1_body_carries_the_rendered_parameters_and_path_and_the_key_is_the_blobs(app_env, aml, tmp_path,
                                                                                  monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_rule(aml, parameters={
        "file": "{blob.name}", "run_name": "{rule}-{blob.stem|lower}", "day": "{blob.last_modified:%Y-%m-%d}",
        "owner": "{blob.metadata.Owner|upper}", "version": "{blob.etag}", "braces": "{{x}}", "n": 3},
        data_path={**DATA_PATH, "relative_path": "{blob.folder}"})])
    container = app_env["WATCH_CONTAINER"]
    etag, modified = upload_with(container, "in/2026/Machines.CSV", {"owner": "team-a"})

    deliver_blob(container, "in/2026/Machines.CSV")
    deliver_blob(container, "in/2026/Machines.CSV")  # the duplicate starts nothing

    [run] = aml.accepted
    assert run.body["ParameterAssignments"] == {
        "file": "Machines.CSV", "run_name": "scored-machines", "day": modified.strftime("%Y-%m-%d"),
        "owner": "TEAM-A", "version": etag, "braces": "{x}", "n": "3"}
    assert run.body["DataPathAssignments"] == {
        "input_datapath": {"DataStoreName": "workspaceblobstore", "RelativePath": "in/2026/"}}
    key = blob_version_key(container, "in/2026/Machines.CSV", etag)
    assert run.body["tags"]["trigger_key"] == key  # the key names the blob version, not what was rendered
    assert ledger_record("scored", container, "in/2026/Machines.CSV", etag)["run_id"] == run.run_id


def test_a_batch_endpoint_body_carries_the_rendered_literal_and_a_folder_input(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml, parameters={"stem": "{blob.stem}", "max_trials": 3},
                                                  data_path={"parameter": "input_data",
                                                             "datastore": "workspaceblobstore",
                                                             "relative_path": "{blob.folder}"})])
    container = app_env["WATCH_CONTAINER"]
    etag, _ = upload_with(container, "incoming/day-1.csv", {})

    deliver_blob(container, "incoming/day-1.csv")

    [job] = aml.accepted
    key = blob_version_key(container, "incoming/day-1.csv", etag)
    assert job.body == {"properties": {
        "inputData": {
            "stem": {"jobInputType": "Literal", "value": "day-1"},
            "max_trials": {"jobInputType": "Literal", "value": 3},
            "input_data": {"jobInputType": "UriFolder",
                           "uri": "azureml://datastores/workspaceblobstore/paths/incoming/"},
        },
        "properties": {"experimentName": "batch-retrain", "triggered_by": "aml-pipeline-trigger",
                       "trigger_rule": "v2", "trigger_blob": f"{container}/incoming/day-1.csv",
                       "trigger_etag": etag, "trigger_key": key},
    }}
    assert job.request_id == expected_request_id(key)


def test_a_schedule_renders_its_occurrence_into_a_parameter_and_a_dated_folder(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [], [{
        "name": "nightly", "cron": "0 0 2 * * *", "experiment": "timed",
        "target": {"url": aml.published_pipeline_url()},
        "parameters": {"day": "{trigger.time:%Y-%m-%d}", "at": "{trigger.time}", "by": "{rule}"},
        "data_path": {**DATA_PATH, "relative_path": "daily/{trigger.time:%Y/%m/%d}/"}}])

    fire_schedule("nightly", fired_at=datetime(2026, 11, 3, 2, 0, 0, 300_000, UTC), past_due=False,
                  services=build_services(os.environ))

    [run] = aml.accepted
    assert run.body["ParameterAssignments"] == {"day": "2026-11-03", "at": "2026-11-03T02:00:00Z", "by": "nightly"}
    assert run.body["DataPathAssignments"] == {
        "input_datapath": {"DataStoreName": "workspaceblobstore", "RelativePath": "daily/2026/11/03/"}}


def test_a_metadata_value_the_blob_lacks_rejects_the_run_and_sends_nothing(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_rule(aml, parameters={"owner": "{blob.metadata.owner}"})])
    container = app_env["WATCH_CONTAINER"]
    etag, _ = upload_with(container, "in/a.csv", {"team": "x"})

    deliver_blob(container, "in/a.csv")

    record = ledger_record("scored", container, "in/a.csv", etag)
    assert (record["state"], record["reason"]) == (
        "rejected", "template parameters.owner: {blob.metadata.owner}: the blob has no metadata 'owner'")
    assert aml.received == []


def test_a_rendered_path_outside_the_container_is_rejected_and_masked(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_rule(aml, data_path={**DATA_PATH,
                                                                "relative_path": "../{blob.metadata.where}"})])
    container = app_env["WATCH_CONTAINER"]
    etag, _ = upload_with(container, "in/a.csv", {"where": SAS_SIG})

    deliver_blob(container, "in/a.csv")

    reason = ledger_record("scored", container, "in/a.csv", etag)["reason"]
    assert reason.startswith("template data_path.relative_path: '../{blob.metadata.where}' rendered to '../***', "
                             "which ") and SAS_SIG not in reason
    assert aml.received == []


def test_explain_shows_the_rendered_bodies_of_both_kinds_masks_secrets_and_sends_nothing(app_env, aml, tmp_path,
                                                                                      monkeypatch, capsys):
    rules_file(tmp_path, monkeypatch, [
        v1_rule(aml, prefix="incoming/", parameters={"file": "{blob.name}", "token": "{blob.metadata.t}",
                                                     "where": "{blob.metadata.w}"},
                data_path={**DATA_PATH, "relative_path": "{blob.folder}"}),
        batch_rule(aml, parameters={"stem": "{blob.stem|upper}", "where": "{blob.metadata.w}"}),
    ])
    container = app_env["WATCH_CONTAINER"]
    upload_with(container, "incoming/m.csv", {"t": "plain", "w": SAS_SIG})
    services = build_services(os.environ)

    explained = explain(services, blob="incoming/m.csv")
    assert main(["explain", "--blob", "incoming/m.csv"]) == 0
    by_cli = json.loads(capsys.readouterr().out)
    by_http = call("http_explain", body={"blob": "incoming/m.csv"})

    assert aml.received == []  # explain sent nothing, by any of its three doors
    assert by_cli == explained and by_http == (200, explained)
    shown = {rule["rule"]: rule["request"]["body"] for rule in explained["rules"]}
    assert shown["scored"]["ParameterAssignments"] == {"file": "m.csv", "token": "***", "where": "***"}
    assert shown["scored"]["DataPathAssignments"]["input_datapath"]["RelativePath"] == "incoming/"
    assert shown["v2"]["properties"]["inputData"]["stem"] == {"jobInputType": "Literal", "value": "M"}
    assert shown["v2"]["properties"]["inputData"]["where"] == {"jobInputType": "Literal", "value": "***"}
    deliver_blob(container, "incoming/m.csv")
    sent = {run.kind: run.body for run in aml.accepted}
    v1_sent = next(body for kind, body in sent.items() if "ParameterAssignments" in body)
    assert v1_sent["ParameterAssignments"] == {"file": "m.csv", "token": "plain", "where": SAS_SIG}
    assert {**shown["scored"], "ParameterAssignments": v1_sent["ParameterAssignments"]} == v1_sent
