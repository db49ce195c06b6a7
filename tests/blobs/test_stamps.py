"""Stamps: each handled blob version carries its outcome in index tags, which change neither its ETag nor its
Last-Modified (so nothing sees a new version), beside the user's own tags and within the service's limits; a stamp
that cannot be written is logged and changes nothing about the run."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from azure.storage.blob import AccountSasPermissions, ContainerClient, ResourceTypes, generate_account_sas

from cli.__main__ import main
from localdev.azurite import ACCOUNT, ACCOUNT_KEY
from shared.clients.blobs.stamps import write_stamp
from shared.clients.process.services import build_services
from shared.core.blobs.stamps import Stamp, merged_tags, stamp_of, stamped_query
from shared.core.ledger.decisions import Decision, Outcome
from shared.flows.sweep.sweep import sweep
from tests.support.harness import deliver_blob, ledger_record, service_client, upload
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV
from tests.support.tag_conditions import TagConditions


def _blob(app_env, name: str):
    return service_client().get_blob_client(app_env["WATCH_CONTAINER"], name)


def _stamp_problems(caplog) -> list[str]:
    return [json.loads(record.getMessage().removeprefix("aml_trigger "))["problem"] for record in caplog.records
            if record.getMessage().startswith("aml_trigger ") and "stamp not written" in record.getMessage()]


def test_a_stamped_blob_keeps_its_etag_and_last_modified_and_a_redelivery_and_a_sweep_after_it_start_nothing(
        app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    before = _blob(app_env, "machines.csv").get_blob_properties()

    deliver_blob(container, "machines.csv")
    after = _blob(app_env, "machines.csv").get_blob_properties()
    deliver_blob(container, "machines.csv")
    report = sweep(build_services(os.environ), max_blobs=100)

    [run] = aml.accepted
    assert _blob(app_env, "machines.csv").get_blob_tags() == {"aml_rule_default": f"submitted run:{run.run_id}"}
    assert (after.etag, after.last_modified) == (before.etag, before.last_modified)
    assert (after.tag_count, before.tag_count) == (1, None)
    assert (report.missing, dict(report.outcomes)) == (0, {})
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == run.run_id


def test_the_users_own_tags_are_kept_beside_the_stamp(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)
    _blob(app_env, "machines.csv").set_blob_tags({"owner": "team-a", "project": "line 4"})

    deliver_blob(container, "machines.csv")

    [run] = aml.accepted
    assert _blob(app_env, "machines.csv").get_blob_tags() == {
        "owner": "team-a", "project": "line 4", "aml_rule_default": f"submitted run:{run.run_id}"}


def test_a_blob_with_ten_tags_of_its_own_keeps_them_all_and_goes_without_a_stamp(app_env, aml, caplog):
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)
    own = {f"tag{index}": f"value {index}" for index in range(10)}
    _blob(app_env, "machines.csv").set_blob_tags(own)

    with caplog.at_level(logging.INFO, logger="aml_trigger"):
        deliver_blob(container, "machines.csv")

    assert len(aml.accepted) == 1
    assert _blob(app_env, "machines.csv").get_blob_tags() == own
    assert _stamp_problems(caplog) == [
        "stamp not written: the blob already has 10 tags (the service allows 10); its own tags are kept and the "
        "stamp aml_rule_default is left out"]


def test_a_stamp_refused_with_403_is_logged_and_the_run_is_neither_failed_nor_repeated(
        app_env, aml, azurite, monkeypatch, caplog):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    build_services(os.environ).ledger.remember("state/ready.json", {})  # the ledger's container, made with the key
    no_tags = generate_account_sas(  # everything the app needs but the tags permission ("t")
        ACCOUNT, ACCOUNT_KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, list=True, add=True, create=True),
        datetime.now(UTC) + timedelta(hours=1))
    monkeypatch.setenv("WATCH_STORAGE", f"BlobEndpoint={azurite.endpoints['blob']}/{ACCOUNT};"
                                        f"SharedAccessSignature={no_tags}")

    with caplog.at_level(logging.INFO, logger="aml_trigger"):
        deliver_blob(container, "machines.csv")
        deliver_blob(container, "machines.csv")
    report = sweep(build_services(os.environ), max_blobs=100)

    assert len(aml.accepted) == 1 and (report.missing, dict(report.outcomes)) == (0, {})
    assert ledger_record("default", container, "machines.csv", etag)["state"] == "submitted"
    monkeypatch.setenv("WATCH_STORAGE", azurite.connection_string)  # to look, with the key
    assert _blob(app_env, "machines.csv").get_blob_tags() == {}
    assert _stamp_problems(caplog) == [
        "stamp not written: 403 AuthorizationPermissionMismatch; the run and its record stand (the tags "
        "permission is Storage Blob Data Owner's)"]
    assert "sig=" not in caplog.text


def test_a_stamp_reads_and_writes_the_tags_only_and_its_write_carries_the_ranged_reads_etag_as_its_condition(
        app_env, aml):
    """No read of the version's properties first: the tag write's ``x-ms-blob-if-match`` (Azure evaluates it on
    Set Blob Tags from x-ms-version 2026-02-06) is what keeps an older version's stamp off a newer one."""
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    sent: list[tuple[str, str, dict[str, str]]] = []
    watched = ContainerClient.from_connection_string(
        app_env["WATCH_STORAGE"], container,
        raw_request_hook=lambda request: sent.append((request.http_request.method, request.http_request.url,
                                                      dict(request.http_request.headers))))

    assert write_stamp(watched, "machines.csv", etag, Stamp("rule", "default", "submitted", run_id="r-1"))

    assert [(method, parse_qs(urlsplit(url).query)["comp"]) for method, url, _ in sent] == [
        ("GET", ["tags"]), ("PUT", ["tags"])]
    write = sent[1][2]
    assert write["x-ms-blob-if-match"] == f'"{etag}"' and "If-Match" not in write
    assert write["x-ms-version"] >= "2026-02-06"


def test_a_version_overwritten_before_its_stamp_is_not_stamped_with_the_old_ones_outcome(app_env, aml, caplog):
    """Against storage that evaluates the condition as Azure does (a relay before Azurite, which does not)."""
    container = app_env["WATCH_CONTAINER"]
    old = upload(container, "machines.csv", SAMPLE_CSV)
    upload(container, "machines.csv", SAMPLE_CSV + b"9,9,9,9,9,9,9\n")

    with TagConditions(app_env["WATCH_STORAGE"]) as azure_like, caplog.at_level(logging.INFO, logger="aml_trigger"):
        watched = ContainerClient.from_connection_string(azure_like.connection_string, container)
        written = write_stamp(watched, "machines.csv", old, Stamp("rule", "default", "submitted", run_id="r-1"))

    assert (written, azure_like.refused) == (False, 1)
    assert _blob(app_env, "machines.csv").get_blob_tags() == {}
    assert _stamp_problems(caplog) == [
        "stamp not written: the blob was overwritten since; the newer version gets its own"]


def test_azurite_ignores_the_version_condition_on_set_blob_tags_so_there_an_older_versions_stamp_lands(
        app_env, aml):
    """Azurite's difference from Azure (docs/operating.md, "From a file to its run"). When this fails, Azurite
    evaluates ``x-ms-blob-if-match`` on Set Blob Tags: the relay in the test above and that note can go."""
    container = app_env["WATCH_CONTAINER"]
    old = upload(container, "machines.csv", SAMPLE_CSV)
    upload(container, "machines.csv", SAMPLE_CSV + b"9,9,9,9,9,9,9\n")
    watched = build_services(os.environ).watched

    assert write_stamp(watched, "machines.csv", old, Stamp("rule", "default", "submitted", run_id="r-1"))

    assert _blob(app_env, "machines.csv").get_blob_tags() == {"aml_rule_default": "submitted run:r-1"}


def test_a_stamp_written_again_with_the_runs_final_status_replaces_its_own_tag_only(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    _blob(app_env, "machines.csv").set_blob_tags({"owner": "team-a"})
    watched = build_services(os.environ).watched
    submitted = Stamp("rule", "default", "submitted", run_id="3f1c-run")

    assert write_stamp(watched, "machines.csv", etag, submitted)
    assert write_stamp(watched, "machines.csv", etag, Stamp("rule", "default", "submitted", run_id="3f1c-run",
                                                            status="Completed"))

    assert _blob(app_env, "machines.csv").get_blob_tags() == {
        "owner": "team-a", "aml_rule_default": "submitted run:3f1c-run status:Completed"}


def test_a_stamp_keeps_to_the_services_characters_and_lengths():
    stamp = Stamp("schedule", "nightly", "submitted", run_id="run#1 (v1)?" + "x" * 300)

    assert stamp.key == "aml_schedule_nightly"
    assert stamp.value.startswith("submitted run:run_1 _v1__x") and len(stamp.value) == 256


def test_at_the_tag_limit_a_stamp_replaces_its_own_earlier_tag_but_never_a_users():
    own = {f"tag{index}": "v" for index in range(9)}
    stamp = Stamp("rule", "default", "rejected")

    assert merged_tags({**own, "aml_rule_default": "submitted run:r"}, stamp) == {
        **own, "aml_rule_default": "rejected"}
    assert merged_tags({**own, "tag9": "v"}, stamp) == (
        "the blob already has 10 tags (the service allows 10); its own tags are kept and the stamp aml_rule_default "
        "is left out")
    assert merged_tags(own, stamp) == {**own, "aml_rule_default": "rejected"}  # the tenth tag is the stamp


def test_a_stamps_key_keeps_to_letters_digits_and_underscores_and_its_value_says_state_run_and_status():
    assert Stamp("rule", "sales-eu.v2", "submitted").key == "aml_rule_sales_eu_v2"
    assert Stamp("rule", "r" * 200, "submitted").key == ("aml_rule_" + "r" * 200)[:128]
    assert Stamp("rule", "r", "submitted", run_id="run-1", status="completed").value == (
        "submitted run:run-1 status:completed")
    assert Stamp("rule", "r", "rejected", status="failed").value == "rejected status:failed"


def test_the_find_expression_for_stamps_under_a_key_matches_every_value_or_those_in_one_state():
    assert stamped_query("aml_rule_r", None) == "\"aml_rule_r\" >= ''"
    assert stamped_query("aml_rule_r", "failed") == "\"aml_rule_r\" >= 'failed' AND \"aml_rule_r\" < 'failedz'"


def test_only_settled_outcomes_about_a_blob_version_are_stamped():
    about = {"rule": "default", "blob": "a.csv", "etag": "0x1"}

    assert stamp_of(Decision(Outcome.SUBMITTED, run_id="r", **about)) == Stamp("rule", "default", "submitted", "r")
    assert stamp_of(Decision(Outcome.FAILED, retryable=False, **about)) == Stamp("rule", "default", "failed")
    assert stamp_of(Decision(Outcome.FAILED, retryable=True, **about)) is None
    assert stamp_of(Decision(Outcome.DUPLICATE, **about)) is None
    assert stamp_of(Decision(Outcome.IGNORED, **about)) is None
    assert stamp_of(Decision(Outcome.SUBMITTED, run_id="r", rule="default")) is None  # no blob: nothing to stamp
    assert stamp_of(Decision(Outcome.SUBMITTED, run_id="r", rule="default", blob="a.csv")) is None  # no version
    assert stamp_of(Decision(Outcome.SUBMITTED, run_id="r", blob="a.csv", etag="0x1")) is None  # no owner
    assert stamp_of(Decision(Outcome.SKIPPED, schedule="nightly", blob="a.csv", etag="0x1")) == Stamp(
        "schedule", "nightly", "skipped")


def test_runs_blob_goes_from_a_file_to_its_records_for_the_current_version_or_the_one_an_etag_names(
        app_env, aml, monkeypatch, tmp_path, capsys):
    rules = {"rules": [
        {"name": "machines", "prefix": "", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "machines"},
        {"name": "audit", "prefix": "", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "audit"},
        {"name": "other", "prefix": "elsewhere/", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "other"}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))
    container = app_env["WATCH_CONTAINER"]
    first = upload(container, "a.csv", SAMPLE_CSV)
    deliver_blob(container, "a.csv")
    upload(container, "a.csv", SAMPLE_CSV + b"9,9,9,9,9,9,9\n")
    deliver_blob(container, "a.csv")
    by_experiment = {run.experiment: [] for run in aml.accepted}
    for run in aml.accepted:
        by_experiment[run.experiment].append(run.run_id)

    status, current = call("http_list_runs", "GET", params={"blob": "a.csv"})
    _, earlier = call("http_list_runs", "GET", params={"blob": "a.csv", "etag": first, "rule": "audit"})
    assert main(["runs", "--blob", "a.csv", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    _, missing = call("http_list_runs", "GET", params={"blob": "gone.csv"})
    _, mixed = call("http_list_runs", "GET", params={"blob": "a.csv", "since": "2026-01-01T00:00:00Z"})

    assert status == 200
    assert [(run["record"].split("/")[1], run["run_id"]) for run in current["runs"]] == [
        ("machines", by_experiment["machines"][1]), ("audit", by_experiment["audit"][1])]
    assert [(run["record"].split("/")[1], run["run_id"]) for run in earlier["runs"]] == [
        ("audit", by_experiment["audit"][0])]
    assert printed == current["runs"]
    assert _blob(app_env, "a.csv").get_blob_tags() == {
        "aml_rule_machines": f"submitted run:{by_experiment['machines'][1]}",
        "aml_rule_audit": f"submitted run:{by_experiment['audit'][1]}"}
    assert missing == {"error": "no blob gone.csv: give etag to find the records of a version deleted or "
                                "overwritten since"}
    assert mixed["error"].startswith("blob finds one version's records")


def test_blobs_finds_the_files_a_rule_stamped_by_their_tags_in_a_state(app_env, aml, monkeypatch, capsys):
    monkeypatch.setenv("CSV_REQUIRED_COLUMNS", "MYCT,PRP")
    container = app_env["WATCH_CONTAINER"]
    for name, data in (("good-1.csv", SAMPLE_CSV), ("good-2.csv", SAMPLE_CSV), ("bad.csv", b"a,b\n1,2\n")):
        upload(container, name, data)
        deliver_blob(container, name)
    upload(container, "tagged-by-hand.csv", SAMPLE_CSV)
    _blob(app_env, "tagged-by-hand.csv").set_blob_tags({"aml_rule_other": "submitted run:x"})
    runs = {run.run_id for run in aml.accepted}

    assert main(["blobs", "--rule", "default", "--state", "submitted"]) == 0
    submitted = capsys.readouterr().out.splitlines()
    assert main(["blobs", "--rule", "default"]) == 0
    every = capsys.readouterr().out.splitlines()
    assert main(["blobs", "--rule", "nope"]) == 1

    assert sorted(line.split()[-1] for line in submitted) == ["good-1.csv", "good-2.csv"]
    assert {line.split()[1].removeprefix("run:") for line in submitted} == runs
    assert sorted(line.split()[-1] for line in every) == ["bad.csv", "good-1.csv", "good-2.csv"]
    assert "rejected" in next(line for line in every if line.endswith("bad.csv"))
