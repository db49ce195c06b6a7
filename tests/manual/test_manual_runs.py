"""Manual runs: a submit for a blob version is that version's run (event, sweep and submit agree on one run);
a deliberate re-run says so; an HTTP call answers 202 before Azure's front end gives up, and the sweep finishes."""

from __future__ import annotations

import json
import os
import time

from cli.__main__ import main
from localdev.aml_standin import Respond
from shared.clients.process.services import build_services
from shared.core.ledger.keys import blob_version_key
from shared.core.runs.payloads import blob_tags
from shared.flows.sweep.sweep import sweep
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.http import call
from tests.support.samples import ECHOED_ACCOUNT_KEY, SAMPLE_CSV


def a_sweep():
    return sweep(build_services(os.environ), max_blobs=100)


def test_a_manual_run_for_a_blob_version_is_that_versions_run_so_the_sweep_and_the_event_are_duplicates(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    code, started = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})
    report = a_sweep()
    deliver_blob(container, "machines.csv")

    assert (code, started["outcome"]) == (201, "submitted")
    assert (report.missing, dict(report.outcomes)) == (0, {})
    [run] = aml.accepted
    key = blob_version_key(container, "machines.csv", etag)
    assert run.body["tags"] == blob_tags("default", container=container, blob_name="machines.csv", etag=etag, key=key)
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["subject"]["kind"]) == ("submitted", run.run_id, "blob")


def test_a_manual_run_after_the_events_run_is_a_duplicate_naming_that_run(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)
    deliver_blob(container, "machines.csv")

    code, again = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})

    [run] = aml.accepted
    assert (code, again["outcome"], again["run_id"]) == (200, "duplicate", run.run_id)


def test_a_deliberate_rerun_is_a_second_run_tagged_manual_and_leaves_the_versions_own_run_alone(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    deliver_blob(container, "machines.csv")

    code, rerun = call("http_start_run", body={"rule": "default", "blob": "machines.csv", "rerun": True})

    first, second = aml.accepted
    assert (code, rerun["outcome"], rerun["run_id"]) == (201, "submitted", second.run_id)
    assert "trigger_manual" in second.body["tags"] and "trigger_manual" not in first.body["tags"]
    assert second.body["DataPathAssignments"] == first.body["DataPathAssignments"]
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == first.run_id


def test_a_manual_run_with_overrides_is_not_the_versions_run_so_the_sweep_still_starts_that(app_env, aml):
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    code, started = call("http_start_run", body={"rule": "default", "blob": "machines.csv",
                                                 "parameters": {"max_trials": 9}})
    report = a_sweep()

    manual, own = aml.accepted
    assert (code, started["outcome"], dict(report.outcomes)) == (201, "submitted", {"submitted": 1})
    assert manual.body["ParameterAssignments"]["max_trials"] == "9" and "trigger_manual" in manual.body["tags"]
    assert own.body["ParameterAssignments"]["max_trials"] == "3" and "trigger_manual" not in own.body["tags"]


def test_a_rerun_flag_that_is_not_a_boolean_is_a_clear_400(app_env, aml):
    code, answer = call("http_start_run", body={"rule": "default", "rerun": "yes"})
    assert code == 400 and "rerun must be true or false" in answer["error"] and aml.received == []


def short_http_deadline(monkeypatch, seconds: str) -> None:
    """An HTTP deadline far below SUBMIT_DEADLINE_SECONDS (20 here), with room for many one-second attempts."""
    monkeypatch.setenv("HTTP_DEADLINE_SECONDS", seconds)
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "50")


def every_answer_503_for_a_second(aml) -> None:
    aml.inject(*[Respond(503, headers={"Retry-After": "1"})] * 50)


def drop_remaining_faults(aml) -> None:
    while aml.next_fault() is not None:
        pass


def test_a_manual_run_failing_for_now_answers_202_within_the_http_deadline_and_the_sweep_finishes_it(
        app_env, aml, monkeypatch):
    short_http_deadline(monkeypatch, "4")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    every_answer_503_for_a_second(aml)

    started = time.monotonic()
    code, pending = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})
    took = time.monotonic() - started
    posts = len(aml.received)
    drop_remaining_faults(aml)
    report = a_sweep()

    key = blob_version_key(container, "machines.csv", etag)
    assert code == 202 and took < 6 and 2 <= posts <= 4, (code, took, posts)
    assert pending == {"outcome": "pending", "record": f"rules/default/{key}.json", "state": "failed",
                       "retryable": True, "reason": pending["reason"], "attempts": posts,
                       "location": "/api/runs?rule=default",
                       "finished_by": "the catch-up sweep (SWEEP_SCHEDULE), or POST /api/runs/retry with this record"}
    assert "Azure ML answered 503" in pending["reason"]
    [run] = aml.accepted
    assert dict(report.outcomes) == {"submitted": 1} and len(aml.received) == posts + 1
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == run.run_id


def test_a_manual_run_whose_only_attempt_lost_its_answer_is_recorded_unknown_and_the_sweep_adopts_its_run(
        app_env, aml, monkeypatch):
    """The HTTP deadline leaves room for one attempt: it times out after Azure ML created the run."""
    from localdev.aml_standin import AcceptThenDelay

    monkeypatch.setenv("HTTP_DEADLINE_SECONDS", "3")
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "2")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(AcceptThenDelay(3))

    code, pending = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})
    record = ledger_record("default", container, "machines.csv", etag)
    report = a_sweep()

    [run] = aml.accepted
    assert (code, pending["state"], record["outcome_unknown"]) == (202, "failed", True)
    assert dict(report.outcomes) == {"submitted": 1} and aml.queries  # looked up, not posted again
    settled = ledger_record("default", container, "machines.csv", etag)
    assert (settled["run_id"], settled["reconciled"]) == (run.run_id, True)


def test_a_202_answer_masks_a_secret_azure_ml_echoed_in_its_error_as_every_decision_does(app_env, aml, monkeypatch):
    short_http_deadline(monkeypatch, "2")
    secret = ECHOED_ACCOUNT_KEY
    aml.inject(*[Respond(503, headers={"Retry-After": "1"}, message=f"bad datastore {secret}")] * 50)

    code, pending = call("http_start_run", body={"rule": "default", "request_id": "ticket-8"})

    assert (code, pending["state"]) == (202, "failed")
    assert "c2VjcmV0" not in json.dumps(pending) and "bad datastore AccountKey=***" in pending["reason"]


def test_a_deliberate_manual_run_failing_for_now_is_finished_by_the_sweep_once(app_env, aml, monkeypatch):
    short_http_deadline(monkeypatch, "3")
    every_answer_503_for_a_second(aml)

    code, pending = call("http_start_run", body={"rule": "default", "request_id": "ticket-7"})
    drop_remaining_faults(aml)
    first, second = a_sweep(), a_sweep()

    assert (code, pending["record"].split("/")[:2], pending["state"]) == (202, ["manual", "default"], "failed")
    [run] = aml.accepted
    assert run.body["tags"]["trigger_manual"] == "ticket-7"
    assert (dict(first.outcomes), dict(second.outcomes)) == ({"submitted": 1}, {})
    listed = call("http_list_runs", "GET", params={"rule": "default"})[1]["runs"]
    assert [(r["record"], r["state"], r["run_id"]) for r in listed] == [(pending["record"], "submitted", run.run_id)]


def test_a_manual_run_while_the_events_claim_is_live_answers_202_claimed_and_posts_nothing(app_env, aml,
                                                                                          monkeypatch):
    short_http_deadline(monkeypatch, "2")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    services = build_services(os.environ)
    key = blob_version_key(container, "machines.csv", etag)
    services.ledger.claim("rules/default", key, {"kind": "blob", "container": container, "blob": "machines.csv",
                                                 "etag": etag, "size": len(SAMPLE_CSV)}, services.clock.monotonic())

    started = time.monotonic()
    code, pending = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})

    assert (code, pending["record"], pending["state"]) == (202, f"rules/default/{key}.json", "claimed")
    assert pending["finished_by"].startswith("its current owner, else the catch-up sweep")
    # The live owner is waited for until the 2 s HTTP deadline (the ledger's claim polls it), and no longer: not
    # until the claim's 60 s expiry. The upper bound leaves room for a loaded machine's Azurite reads.
    assert 2 <= time.monotonic() - started < 10 and aml.received == []


def test_an_operators_retry_over_http_is_bounded_too_and_answers_202_naming_its_record(app_env, aml, monkeypatch):
    short_http_deadline(monkeypatch, "3")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(404, code="PipelineNotFound", message="not published yet"))
    deliver_blob(container, "machines.csv")
    [failed] = call("http_list_runs", "GET", params={"state": "failed"})[1]["runs"]
    every_answer_503_for_a_second(aml)

    started = time.monotonic()
    code, pending = call("http_retry_run", body={"record": failed["record"]})
    took = time.monotonic() - started
    drop_remaining_faults(aml)
    report = a_sweep()

    assert (code, pending["record"], pending["state"]) == (202, failed["record"], "failed") and took < 5, took
    [run] = aml.accepted
    assert dict(report.outcomes) == {"submitted": 1}
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == run.run_id


def test_cli_submit_failing_for_now_exits_3_with_the_record_and_the_sweep_finishes_it(app_env, aml, monkeypatch,
                                                                                     capsys):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "2")
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(503), Respond(503))

    code = main(["submit", "default", "--blob", "machines.csv"])
    pending = json.loads(capsys.readouterr().out)
    assert main(["sweep"]) == 0

    assert code == 3  # documented: failing for now, the record stays open, the sweep finishes it
    assert (pending["outcome"], pending["state"], pending["attempts"]) == ("pending", "failed", 2)
    assert pending["record"].startswith("rules/default/") and len(aml.accepted) == 1


def test_cli_submit_rerun_starts_a_second_run_for_a_version_that_had_its_run(app_env, aml, capsys):
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    outcomes = []
    for extra in ([], [], ["--rerun"]):
        assert main(["submit", "default", "--blob", "machines.csv", *extra]) == 0
        outcomes.append(json.loads(capsys.readouterr().out)["outcome"])

    assert outcomes == ["submitted", "duplicate", "submitted"] and len(aml.accepted) == 2
