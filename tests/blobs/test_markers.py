"""Marker rules end to end: a `_SUCCESS` or manifest blob in Azurite -> one run for its folder at the stand-in."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from shared.clients.process.services import build_services
from shared.core.blobs.batches import manifest_files
from shared.core.config.config_loader import load_config
from shared.core.config.config_model import Marker
from shared.core.config.problems import ConfigError
from shared.core.ledger.keys import blob_version_key
from shared.flows.sweep.sweep import sweep
from tests.support.batch import batch_rule, rules_file
from tests.support.decisions import outcome_lines
from tests.support.harness import deliver_blob, ledger_record, run_together, upload
from tests.support.http import call
from tests.support.markers import FOLDER, short_claims, v1_marker_rule, wait_past_short_claims
from tests.support.samples import SAMPLE_CSV
from tests.support.settings import LOADED_AT, PIPELINE_URL, minimal_env
from tests.support.workers import run_workers

pytestmark = pytest.mark.integration


def manifest(*files: str) -> bytes:
    return json.dumps({"files": list(files)}).encode()


@pytest.fixture
def success_rule(aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_marker_rule(aml, {"file": "_SUCCESS"})])


@pytest.fixture
def manifest_rule(aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_marker_rule(aml, {"file": "manifest.json", "manifest": True},
                                                      required_columns=["MYCT", "PRP"])])


def test_data_files_alone_start_nothing_and_a_zero_byte_success_marker_starts_one_run_on_the_folder(
        app_env, aml, success_rule, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    for part in ("part-1.csv", "part-2.csv"):
        upload(container, FOLDER + part, SAMPLE_CSV)
        deliver_blob(container, FOLDER + part)
    assert aml.accepted == []
    ignored = outcome_lines(caplog)
    assert [(line["outcome"], line["reason"]) for line in ignored] == [
        ("ignored", f"no rule matches: daily: waits for its marker '_SUCCESS' in '{FOLDER}': "
                    "data files alone start nothing")] * 2

    etag = upload(container, FOLDER + "_SUCCESS", b"")
    deliver_blob(container, FOLDER + "_SUCCESS")
    deliver_blob(container, FOLDER + "_SUCCESS")  # a redelivery of the same marker version starts nothing more

    [run] = aml.accepted
    key = blob_version_key(container, FOLDER + "_SUCCESS", etag)
    assert run.body["DataPathAssignments"] == {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                                                  "RelativePath": FOLDER}}
    assert run.body["tags"] == {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "daily",
                                "trigger_blob": f"{container}/{FOLDER}_SUCCESS", "trigger_etag": etag,
                                "trigger_key": key}
    record = ledger_record("daily", container, FOLDER + "_SUCCESS", etag)
    assert (record["state"], record["run_id"], record["batch"]) == ("submitted", run.run_id, {"folder": FOLDER})
    assert [line["outcome"] for line in outcome_lines(caplog)[2:]] == ["submitted", "duplicate"]


def test_a_success_marker_gives_a_v2_job_a_uri_folder_input(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml, marker={"file": "_SUCCESS"}, include_subfolders=True)])
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    upload(container, FOLDER + "_SUCCESS", b"done")

    deliver_blob(container, FOLDER + "_SUCCESS")

    [job] = aml.accepted
    assert job.body["properties"]["inputData"]["input_data"] == {
        "jobInputType": "UriFolder", "uri": f"azureml://datastores/workspaceblobstore/paths/{FOLDER}"}


def test_without_a_datastore_a_v2_job_gets_the_folder_url(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml, marker={"file": "_SUCCESS"}, prefix=FOLDER,
                                                  data_path={"parameter": "input_data"})])
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "_SUCCESS", b"")

    deliver_blob(container, FOLDER + "_SUCCESS")

    [job] = aml.accepted
    uri = job.body["properties"]["inputData"]["input_data"]
    assert uri["jobInputType"] == "UriFolder" and uri["uri"].endswith(f"/{container}/{FOLDER}")


def test_an_overwritten_marker_gives_one_run_per_marker_version(app_env, aml, success_rule):
    container = app_env["WATCH_CONTAINER"]
    etags = []
    for content in (b"", b"again"):
        etags.append(upload(container, FOLDER + "_SUCCESS", content))
        deliver_blob(container, FOLDER + "_SUCCESS")
        deliver_blob(container, FOLDER + "_SUCCESS")

    assert len(aml.accepted) == 2
    assert [run.body["tags"]["trigger_etag"] for run in aml.accepted] == etags
    assert [ledger_record("daily", container, FOLDER + "_SUCCESS", etag)["run_id"] for etag in etags] == [
        run.run_id for run in aml.accepted]


def test_a_manifest_before_all_its_files_is_rejected_naming_what_is_missing_and_its_next_version_runs(
        app_env, aml, manifest_rule, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    early = upload(container, FOLDER + "manifest.json", manifest("part-1.csv", "part-2.csv", "part-3.csv"))

    deliver_blob(container, FOLDER + "manifest.json")

    assert aml.accepted == []
    reason = (f"manifest {FOLDER}manifest.json: 2 of 3 listed files are not usable: "
              f"{FOLDER}part-2.csv: missing; {FOLDER}part-3.csv: missing")
    assert [(line["outcome"], line["reason"]) for line in outcome_lines(caplog)] == [("rejected", reason)]
    assert ledger_record("daily", container, FOLDER + "manifest.json", early)["state"] == "rejected"

    upload(container, FOLDER + "part-2.csv", SAMPLE_CSV)
    upload(container, FOLDER + "part-3.csv", SAMPLE_CSV)
    late = upload(container, FOLDER + "manifest.json", manifest("part-1.csv", "part-2.csv", "part-3.csv"))
    deliver_blob(container, FOLDER + "manifest.json")

    [run] = aml.accepted
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == FOLDER + "manifest.json"
    record = ledger_record("daily", container, FOLDER + "manifest.json", late)
    assert record["state"] == "submitted"
    assert [item["blob"] for item in record["batch"]["files"]] == [
        FOLDER + "part-1.csv", FOLDER + "part-2.csv", FOLDER + "part-3.csv"]
    assert all(item["etag"] for item in record["batch"]["files"])


def test_a_listed_file_without_the_required_columns_rejects_the_batch_naming_it(app_env, aml, manifest_rule,
                                                                                   caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "good.csv", SAMPLE_CSV)
    upload(container, FOLDER + "bad.csv", b"a,b\n1,2\n")
    upload(container, FOLDER + "manifest.json", manifest("good.csv", "bad.csv"))

    deliver_blob(container, FOLDER + "manifest.json")

    assert aml.accepted == []
    [line] = outcome_lines(caplog)
    assert line["outcome"] == "rejected"
    assert line["reason"].startswith(f"manifest {FOLDER}manifest.json: 1 of 2 listed files are not usable: "
                                     f"{FOLDER}bad.csv: ")
    assert "MYCT" in line["reason"] and "good.csv" not in line["reason"]


def test_an_unreadable_manifest_is_rejected_with_the_reason(app_env, aml, manifest_rule, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "manifest.json", b"part-1.csv\npart-2.csv\n")

    deliver_blob(container, FOLDER + "manifest.json")

    assert aml.accepted == []
    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["reason"].split(" (")[0]) == (
        "rejected", f"manifest {FOLDER}manifest.json: the manifest is not valid JSON")


def test_concurrent_deliveries_of_one_marker_version_start_one_run(app_env, aml, success_rule):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, FOLDER + "_SUCCESS", b"")

    results = run_together(*[lambda: deliver_blob(container, FOLDER + "_SUCCESS")] * 6)

    assert [result for result in results if isinstance(result, Exception)] == []
    [run] = aml.accepted
    assert ledger_record("daily", container, FOLDER + "_SUCCESS", etag)["run_id"] == run.run_id


@pytest.mark.unit
@pytest.mark.parametrize(("document", "expected"), [
    (b'{"files": ["a.csv", "sub/b.csv"]}', ("d/a.csv", "d/sub/b.csv")),
    (b'{"files": []}', 'the manifest must be {"files": ["part-1.csv", ...]}: a non-empty list of file names in '
                       'its folder'),
    (b'["a.csv"]', 'the manifest must be {"files": ["part-1.csv", ...]}: a non-empty list of file names in '
                   'its folder'),
    (b'{"files": ["../other/a.csv"]}', None),
    (b'{"files": ["a.csv", "a.csv"]}', "the manifest lists a file twice"),
])
def test_a_manifest_lists_files_in_its_folder_or_says_why_not(document, expected):
    result = manifest_files(document, len(document), "d/")
    if expected is None:
        assert isinstance(result, str) and result.startswith("the manifest lists '../other/a.csv', which ")
    else:
        assert result == expected


@pytest.mark.unit
def test_a_manifest_larger_than_the_head_read_is_refused():
    assert manifest_files(b"{}", 70_000, "d/") == "the manifest is 70,000 bytes; at most 2 are read"


@pytest.mark.unit
@pytest.mark.parametrize(("marker", "expected"), [
    ("_SUCCESS", "rules[0].marker"),
    ({"file": "sub/_SUCCESS"}, "rules[0].marker.file"),
    ({"file": "_SUCCESS", "every": 3}, "rules[0].marker.every"),
    ({"file": "m.json", "manifest": "perhaps"}, "rules[0].marker.manifest"),
])
def test_a_bad_marker_is_a_config_error_at_its_place(tmp_path, marker, expected):
    rules = {"rules": [{"name": "daily", "prefix": "incoming/", "target": {"url": PIPELINE_URL},
                        "experiment": "retrain", "marker": marker}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json"),
                    tmp_path, now=LOADED_AT)
    assert f"rules.json: {expected} = " in str(raised.value)


@pytest.mark.unit
@pytest.mark.parametrize("file", [".", "..", "", "sub/_SUCCESS", "/_SUCCESS"])
def test_a_marker_file_that_names_a_folder_or_nothing_is_refused_naming_the_rule_and_field(tmp_path, file):
    rules = {"rules": [{"name": "daily", "prefix": "incoming/", "target": {"url": PIPELINE_URL},
                        "experiment": "retrain", "marker": {"file": file}}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json"),
                    tmp_path, now=LOADED_AT)
    assert [str(problem) for problem in raised.value.problems] == [
        f"rules.json: rules[0].marker.file = {file!r}: a file name without folders, such as '_SUCCESS' or "
        f"'manifest.json' (not '.' or '..')"]


@pytest.mark.unit
def test_a_marker_rule_loads_with_its_marker(tmp_path):
    rules = {"rules": [{"name": "daily", "prefix": "incoming/", "target": {"url": PIPELINE_URL},
                        "experiment": "retrain", "marker": {"file": "manifest.json", "manifest": "yes"}}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    config = load_config(minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json"),
                         tmp_path, now=LOADED_AT)
    assert config.rules[0].marker == Marker(file="manifest.json", manifest=True)


def test_four_processes_delivering_one_manifest_version_start_one_run(app_env, aml, manifest_rule):
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    etag = upload(container, FOLDER + "manifest.json", manifest("part-1.csv"))

    reports = run_workers(container, FOLDER + "manifest.json", 4)

    assert [report["returncode"] for report in reports] == [0] * 4, [r["stderr"] for r in reports]
    assert sorted(o for report in reports for o in report["outcomes"] if o != "?") == ["duplicate"] * 3 + ["submitted"]
    [run] = aml.accepted
    assert len(aml.received) == 1
    assert ledger_record("daily", container, FOLDER + "manifest.json", etag)["run_id"] == run.run_id


def test_a_process_killed_between_claim_and_post_leaves_a_batch_the_redelivery_runs_once(
        app_env, aml, manifest_rule, monkeypatch):
    short_claims(monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    etag = upload(container, FOLDER + "manifest.json", manifest("part-1.csv"))

    [crashed] = run_workers(container, FOLDER + "manifest.json", 1, "--crash-after-claim")
    crashed_at = time.monotonic()
    assert crashed["returncode"] == 137 and aml.received == []
    assert ledger_record("daily", container, FOLDER + "manifest.json", etag)["state"] == "claimed"

    wait_past_short_claims(crashed_at)
    deliver_blob(container, FOLDER + "manifest.json")
    deliver_blob(container, FOLDER + "manifest.json")

    [run] = aml.accepted
    record = ledger_record("daily", container, FOLDER + "manifest.json", etag)
    assert (record["state"], record["run_id"], record["claims"]) == ("submitted", run.run_id, 2)
    assert [item["blob"] for item in record["batch"]["files"]] == [FOLDER + "part-1.csv"]


def test_a_process_killed_after_the_post_leaves_a_run_the_redelivery_adopts(app_env, aml, success_rule,
                                                                              monkeypatch):
    short_claims(monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, FOLDER + "_SUCCESS", b"")

    [crashed] = run_workers(container, FOLDER + "_SUCCESS", 1, "--crash-after-accept")
    crashed_at = time.monotonic()
    assert crashed["returncode"] == 137 and len(aml.accepted) == 1

    wait_past_short_claims(crashed_at)
    deliver_blob(container, FOLDER + "_SUCCESS")

    [run] = aml.accepted
    assert len(aml.received) == 1 and len(aml.queries) >= 1
    record = ledger_record("daily", container, FOLDER + "_SUCCESS", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def test_explain_shows_a_manifests_missing_files_and_then_the_exact_request_its_run_sends(
        app_env, aml, manifest_rule):
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "manifest.json", manifest("part-1.csv"))

    early = call("http_explain", body={"blob": FOLDER + "manifest.json"})[1]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    ready = call("http_explain", body={"blob": FOLDER + "manifest.json"})[1]
    data_file = call("http_explain", body={"blob": FOLDER + "part-1.csv"})[1]
    assert aml.received == []
    deliver_blob(container, FOLDER + "manifest.json")

    assert [rule["outcome"] for rule in early["rules"]] == [
        f"rejected: manifest {FOLDER}manifest.json: 1 of 1 listed files are not usable: {FOLDER}part-1.csv: missing"]
    [rule] = ready["rules"]
    assert (rule["outcome"], rule["request"]["body"]) == ("would submit", aml.accepted[0].body)
    assert data_file["rules"] == [{"rule": "daily", "matches": False,
                                   "reason": f"waits for its marker 'manifest.json' in '{FOLDER}': "
                                             "data files alone start nothing"}]


def test_the_sweep_runs_a_marker_whose_event_was_missed_once_and_not_its_data_files(app_env, aml, success_rule):
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    etag = upload(container, FOLDER + "_SUCCESS", b"")

    first = sweep(build_services(os.environ), max_blobs=100)
    second = sweep(build_services(os.environ), max_blobs=100)

    [run] = aml.accepted
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == FOLDER
    assert (first.missing, dict(first.outcomes), second.missing) == (1, {"submitted": 1}, 0)
    assert ledger_record("daily", container, FOLDER + "_SUCCESS", etag)["run_id"] == run.run_id


def test_a_manual_run_of_a_zero_byte_marker_is_its_event_run_and_one_with_overrides_is_on_its_folder_too(
        app_env, aml, success_rule):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, FOLDER + "_SUCCESS", b"")

    code, started = call("http_start_run", body={"rule": "daily", "blob": FOLDER + "_SUCCESS"})
    deliver_blob(container, FOLDER + "_SUCCESS")  # the event finds the manual run's record: a duplicate
    extra_code, _ = call("http_start_run", body={"rule": "daily", "blob": FOLDER + "_SUCCESS",
                                                  "experiment": "retrain-again"})

    assert (code, extra_code) == (201, 201), started
    first, extra = aml.accepted
    assert ledger_record("daily", container, FOLDER + "_SUCCESS", etag)["run_id"] == first.run_id
    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        FOLDER, FOLDER]
    assert (first.body["ExperimentName"], extra.body["ExperimentName"]) == ("retrain", "retrain-again")


DEEP_MANIFEST = b"[" * 20_000 + b"]" * 20_000
"""40 KB of nested arrays, under the 64 KiB a manifest may have: json's recursive parser gives up on it."""


def test_a_deep_manifest_is_rejected_with_its_reason_and_the_sweep_still_runs_every_other_missed_blob(
        app_env, aml, tmp_path, monkeypatch):
    plain = {"name": "plain", "prefix": "other/", "target": {"url": aml.published_pipeline_url()},
             "experiment": "retrain", "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}
    rules_file(tmp_path, monkeypatch, [v1_marker_rule(aml, {"file": "manifest.json", "manifest": True}), plain])
    container = app_env["WATCH_CONTAINER"]
    deep = upload(container, "incoming/a/manifest.json", DEEP_MANIFEST)  # sorted first: the sweep meets it first
    upload(container, "incoming/b/part-1.csv", SAMPLE_CSV)
    upload(container, "incoming/b/manifest.json", manifest("part-1.csv"))
    upload(container, "other/plain.csv", SAMPLE_CSV)

    first = sweep(build_services(os.environ), max_blobs=100)
    second = sweep(build_services(os.environ), max_blobs=100)

    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "incoming/b/manifest.json", "other/plain.csv"]
    assert (first.missing, dict(first.outcomes), first.errors) == (3, {"rejected": 1, "submitted": 2}, [])
    assert (second.missing, second.processed, len(aml.accepted)) == (0, 0, 2)
    record = ledger_record("daily", container, "incoming/a/manifest.json", deep)
    assert (record["state"], record["reason"]) == (
        "rejected", "manifest incoming/a/manifest.json: the manifest: " + "[0]" * 32
        + " is nested more than 32 levels deep")
