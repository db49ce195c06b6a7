"""End to end: a blob in Azurite -> the blob function called as the host calls it -> the stand-in's POST + ledger."""

from __future__ import annotations

import json
import logging
import os

import pytest

from shared.clients.process.services import build_services
from shared.core.blobs.csv_head import HEAD_BYTES
from shared.core.config.problems import ConfigError
from shared.core.runs.payloads import bounded_tags
from shared.flows.blobs.blob_runs import process_blob, read_blob_version
from tests.support.decisions import decision_lines
from tests.support.harness import deliver_blob, host_blob_client, ledger_record, service_client, upload
from tests.support.samples import SAMPLE_CSV


def test_new_csv_starts_one_run_with_the_exact_v1_body_and_records_it(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    assert deliver_blob(container, "machines.csv") is None

    [run] = aml.accepted
    record = ledger_record("default", container, "machines.csv", etag)
    key = record["key"]
    assert run.body == {
        "ExperimentName": "retrain-machines",
        "ParameterAssignments": {"model_name": "automlmodel", "max_trials": "3"},
        "DataPathAssignments": {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                                   "RelativePath": "machines.csv"}},
        "RunSource": "SDK",
        "tags": {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "default",
                 "trigger_blob": f"{container}/machines.csv", "trigger_etag": etag, "trigger_key": key},
    }
    [received] = aml.received
    assert received.audience == "https://management.azure.com"
    assert received.content_type == "application/json"
    assert record["state"] == "submitted"
    assert record["run_id"] == run.run_id
    assert record["run_url"] == (f"https://ml.azure.com/runs/{run.run_id}?wsid=/subscriptions/"
                                 "00000000-0000-0000-0000-000000000001/resourcegroups/ml-rg/workspaces/ml-ws")
    assert record["attempts"] == 1
    assert record["subject"] == {"kind": "blob", "container": container, "blob": "machines.csv", "etag": etag,
                                 "size": len(SAMPLE_CSV), "last_modified": record["subject"]["last_modified"]}
    assert record["subject"]["last_modified"] <= record["first_claimed_at"]  # storage's, to the second
    [line] = decision_lines(caplog)
    assert line == {"outcome": "submitted", "rule": "default", "container": container, "blob": "machines.csv",
                    "etag": etag, "key": key, "run_id": run.run_id, "run_url": record["run_url"], "attempts": 1}


def test_pipeline_endpoint_version_goes_in_path_and_query(app_env, aml, monkeypatch):
    monkeypatch.setenv("AML_PIPELINE_URL", aml.pipeline_endpoint_url("ep-1"))
    monkeypatch.setenv("AML_PIPELINE_VERSION", "3")
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    [received] = aml.received
    assert received.path.endswith("/PipelineRuns/PipelineEndpointSubmit/Id/ep-1/3")
    assert received.query == {"pipelineVersion": "3"}
    assert [(run.pipeline_id, run.pipeline_version) for run in aml.accepted] == [("ep-1", "3")]


@pytest.mark.parametrize(
    ("blob_name", "reason"),
    [
        ("incoming/notes.txt", "does not end with '.csv'"),
        ("incoming/archive/2026/machines.csv", "in a subfolder of 'incoming/'"),
        ("elsewhere/machines.csv", "not under 'incoming/'"),
    ],
)
def test_blobs_outside_the_rules_are_ignored_with_the_reason(app_env, aml, monkeypatch, caplog, blob_name, reason):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    upload(app_env["WATCH_CONTAINER"], blob_name, SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], blob_name)

    assert aml.received == []
    [line] = decision_lines(caplog)
    assert line["outcome"] == "ignored" and reason in line["reason"] and line["blob"] == blob_name


def test_subfolders_are_watched_when_the_rule_says_so(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    monkeypatch.setenv("WATCH_SUBFOLDERS", "true")
    upload(app_env["WATCH_CONTAINER"], "incoming/2026/11/machines.CSV", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "incoming/2026/11/machines.CSV")

    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        "incoming/2026/11/machines.CSV"]


def test_a_blob_name_too_long_for_a_tag_runs_with_a_cut_tag_and_its_whole_name_in_the_record(app_env, aml,
                                                                                                monkeypatch):
    monkeypatch.setenv("WATCH_SUBFOLDERS", "true")
    container = app_env["WATCH_CONTAINER"]
    name = "/".join(["d" * 99] * 10) + "/m.csv"  # 1,005 characters: a valid blob name, a tag value too long
    etag = upload(container, name, SAMPLE_CSV)

    deliver_blob(container, name)

    [run] = aml.accepted
    record = ledger_record("default", container, name, etag)
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == name == record["subject"]["blob"]
    assert all(len(value) <= 1000 for value in run.body["tags"].values())
    tag = run.body["tags"]["trigger_blob"]
    assert tag.startswith(f"{container}/ddd") and tag.endswith("ddd/m.csv") and "...[sha256:" in tag
    assert run.body["tags"]["trigger_key"] == record["key"] and record["run_id"] == run.run_id


def test_zero_byte_blob_is_ignored_and_its_flushed_version_runs(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    empty_etag = upload(container, "adls.csv", b"")
    deliver_blob(container, "adls.csv")
    assert aml.received == [] and ledger_record("default", container, "adls.csv", empty_etag) is None

    flushed_etag = upload(container, "adls.csv", SAMPLE_CSV)
    deliver_blob(container, "adls.csv")

    assert len(aml.accepted) == 1
    assert ledger_record("default", container, "adls.csv", flushed_etag)["state"] == "submitted"
    assert [line["outcome"] for line in decision_lines(caplog)] == ["ignored", "submitted"]


def test_blob_deleted_before_processing_starts_nothing(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    upload(container, "gone.csv", SAMPLE_CSV)
    service_client().get_blob_client(container, "gone.csv").delete_blob()

    deliver_blob(container, "gone.csv")

    assert aml.received == []
    assert decision_lines(caplog)[0]["reason"] == "blob no longer exists"


def test_overwritten_blob_runs_once_on_its_newest_version(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    first = upload(container, "machines.csv", SAMPLE_CSV)
    second = upload(container, "machines.csv", SAMPLE_CSV + b"31,8000,32000,32,8,32,172\n")

    deliver_blob(container, "machines.csv")  # the first version's event, handled after the overwrite
    deliver_blob(container, "machines.csv")  # the second version's event

    assert len(aml.accepted) == 1
    assert aml.accepted[0].body["tags"]["trigger_etag"] == second
    assert ledger_record("default", container, "machines.csv", first) is None


def test_an_event_naming_an_older_version_starts_nothing(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    stale = upload(container, "machines.csv", SAMPLE_CSV)
    upload(container, "machines.csv", SAMPLE_CSV + b"1,2,3,4,5,6,7\n")

    services = build_services(os.environ)
    [decision] = process_blob(host_blob_client(container, "machines.csv"), services, expected_etag=stale)

    assert aml.received == []
    assert decision.outcome == "ignored" and "overwritten" in decision.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("MYCT,PRP\n125,198\n".encode("utf-16"), "not UTF-8 text"),
        (b"MYCT,MMIN,PRP\n", "no data rows (header only)"),
        (b"MYCT,MMIN\n125,256\n", "missing required columns: PRP"),
    ],
    ids=["utf16", "header-only", "missing-column"],
)
def test_invalid_csv_is_rejected_recorded_and_never_retried(app_env, aml, monkeypatch, caplog, content, reason):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    monkeypatch.setenv("CSV_REQUIRED_COLUMNS", "MYCT, PRP")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "bad.csv", content)

    deliver_blob(container, "bad.csv")  # returns normally: a poison loop would not make the file valid
    deliver_blob(container, "bad.csv")

    assert aml.received == []
    record = ledger_record("default", container, "bad.csv", etag)
    assert record["state"] == "rejected" and reason in record["reason"]
    assert [line["outcome"] for line in decision_lines(caplog)] == ["rejected", "duplicate"]
    assert reason in decision_lines(caplog)[0]["reason"]


def test_only_the_first_64_kib_is_read_to_validate(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    big = b"MYCT,PRP\n" + b"125,198\n" * 200_000  # ~1.6 MB
    etag = upload(container, "big.csv", big)

    version = read_blob_version(host_blob_client(container, "big.csv"))
    deliver_blob(container, "big.csv")

    assert (len(version.head), version.size, version.etag) == (HEAD_BYTES, len(big), etag)
    assert len(aml.accepted) == 1
    assert ledger_record("default", container, "big.csv", etag)["subject"]["size"] == len(big)


def test_a_large_csv_cut_inside_a_multibyte_character_is_accepted(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    rows = "".join(f"données-{index},{index}\n" for index in range(20_000)).encode("utf-8")
    big = b"name,value\n" + rows
    head = big[:HEAD_BYTES]
    while head[-1] != 0xC3:  # shift until the 64 KiB boundary splits the 2-byte 'é' after its lead byte
        big = b" " + big
        head = big[:HEAD_BYTES]
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")
    upload(container, "cut.csv", big)

    deliver_blob(container, "cut.csv")

    assert len(aml.accepted) == 1


@pytest.mark.parametrize(
    "blob_name",
    [
        "incoming/with space 2026.csv",
        "incoming/données-日本語-😀.csv",
        "incoming/hash#tag.csv",
        "incoming/what?.csv",
        "incoming/percent%20and%2F.csv",
        "incoming/v1..2/..report...csv",
        "incoming/" + "n" * (1024 - len("incoming/") - len(".csv")) + ".csv",
    ],
    ids=["space", "unicode", "hash", "question", "percent", "dots", "1024-chars"],
)
def test_awkward_blob_names_pass_through_exactly(app_env, aml, monkeypatch, blob_name):
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    monkeypatch.setenv("WATCH_SUBFOLDERS", "true")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, blob_name, SAMPLE_CSV)

    deliver_blob(container, blob_name)
    deliver_blob(container, blob_name)

    [run] = aml.accepted
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == blob_name
    assert run.body["tags"]["trigger_blob"] == bounded_tags({"trigger_blob": f"{container}/{blob_name}"})[
        "trigger_blob"]  # whole, but for the 1,024-character name: cut to Azure ML's 1,000 (tested on its own)
    assert ledger_record("default", container, blob_name, etag)["subject"]["blob"] == blob_name


def test_rules_file_runs_every_matching_rule_once(app_env, aml, monkeypatch, tmp_path):
    rules = {
        "rules": [
            {"name": "machines", "prefix": "incoming/", "target": {"url": "%AML_PIPELINE_URL%"},
             "experiment": "retrain-machines", "parameters": {"model_name": "m1"},
             "data_path": {"parameter": "input_datapath", "datastore": "${AML_DATASTORE}"},
             "description": "machine data", "continue_on_step_failure": True},
            {"name": "audit", "prefix": "", "include_subfolders": True,
             "target": {"url": "${AUDIT_URL}"}, "experiment": "audit-drops", "run_source": "API"},
        ]
    }
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))
    monkeypatch.setenv("AUDIT_URL", aml.pipeline_endpoint_url("audit-endpoint"))
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/machines.csv", SAMPLE_CSV)

    deliver_blob(container, "incoming/machines.csv")
    deliver_blob(container, "incoming/machines.csv")

    by_pipeline = {run.pipeline_id: run.body for run in aml.accepted}
    assert len(aml.accepted) == 2
    assert by_pipeline["5d9e2f4c-0000-4000-8000-00000000a11a"]["Description"] == "machine data"
    assert by_pipeline["5d9e2f4c-0000-4000-8000-00000000a11a"]["ContinueRunOnStepFailure"] is True
    assert by_pipeline["audit-endpoint"]["RunSource"] == "API"
    assert "DataPathAssignments" not in by_pipeline["audit-endpoint"]
    for rule in ("machines", "audit"):
        assert ledger_record(rule, container, "incoming/machines.csv", etag)["state"] == "submitted"


def test_bad_configuration_fails_loudly_and_loses_nothing(app_env, aml, monkeypatch):
    monkeypatch.setenv("AML_PIPELINE_URL", "http://attacker.example/steal")
    monkeypatch.setenv("AML_EXPERIMENT", "bad name!")
    monkeypatch.setenv("AML_PARAMETERS", "{not json")
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)

    with pytest.raises(ConfigError) as raised:
        deliver_blob(container, "machines.csv")  # raising: the host retries, then keeps the blob as poison

    message = str(raised.value)
    assert "3 problems" in message
    for fragment in ("AML_PIPELINE_URL = 'http://attacker.example/steal'", "must be https",
                     "AML_EXPERIMENT = 'bad name!'", "AML_PARAMETERS = '(not shown: parameter values may be secrets)'"):
        assert fragment in message
    assert aml.received == []
    assert not service_client().get_container_client(app_env["LEDGER_CONTAINER"]).exists()
