"""Exactly one run per blob version: repeated, concurrent (threads and processes) and crashed deliveries."""

from __future__ import annotations

import logging
import time

import pytest

from localdev.aml_standin import Respond
from localdev.http_counter import counting_requests
from shared.clients.aml.aml_client import TransientSubmitError
from shared.clients.ledger.ledger_claims import ClaimBusyError
from shared.core.ledger.keys import blob_version_key
from tests.support.batch import expected_job_name, pipeline_job_rule, rules_file
from tests.support.decisions import outcomes
from tests.support.harness import deliver_blob, ledger_record, run_together, upload
from tests.support.markers import short_claims, wait_past_short_claims
from tests.support.samples import SAMPLE_CSV
from tests.support.workers import run_workers

WORKERS = 4


def test_repeated_delivery_costs_no_second_post(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    for _ in range(3):
        deliver_blob(container, "machines.csv")

    assert len(aml.received) == 1
    assert outcomes(caplog) == ["submitted", "duplicate", "duplicate"]
    record = ledger_record("default", container, "machines.csv", etag)
    assert record["claims"] == 1 and record["run_id"] == aml.accepted[0].run_id


def test_a_duplicate_on_the_same_instance_costs_one_storage_request_and_no_post(app_env, aml, azurite):
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)
    deliver_blob(container, "machines.csv")
    storage = azurite.endpoints["blob"].removeprefix("http://")

    with counting_requests() as requests_sent:
        deliver_blob(container, "machines.csv")

    hosts = {key for key in requests_sent if " " not in key}
    assert hosts == {storage} and len(aml.received) == 1  # no POST, no token fetch
    assert requests_sent[storage] == 1  # the ranged read that tells the version; the ledger is not asked again


def test_concurrent_deliveries_from_threads_post_once(app_env, aml, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)

    results = run_together(*[lambda: deliver_blob(container, "machines.csv")] * 8)

    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    assert len(aml.received) == 1
    assert sorted(outcomes(caplog)) == ["duplicate"] * 7 + ["submitted"]


def test_concurrent_deliveries_from_processes_post_once(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    reports = run_workers(container, "machines.csv", WORKERS)

    assert [report["returncode"] for report in reports] == [0] * WORKERS, [r["stderr"] for r in reports]
    assert [report["error"] for report in reports] == [None] * WORKERS
    assert sorted(o for report in reports for o in report["outcomes"]) == ["duplicate"] * (WORKERS - 1) + ["submitted"]
    assert len({report["pid"] for report in reports}) == WORKERS
    assert len(aml.received) == 1
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == aml.accepted[0].run_id


def test_claim_of_a_crashed_process_is_taken_over_after_expiry(app_env, aml, monkeypatch):
    short_claims(monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    [crashed] = run_workers(container, "machines.csv", 1, "--crash-after-claim")
    crashed_at = time.monotonic()
    assert crashed["returncode"] == 137 and aml.received == []
    assert ledger_record("default", container, "machines.csv", etag)["state"] == "claimed"

    # Before expiry the claim is honoured: a redelivery waits out its deadline, then asks the host to retry later.
    with pytest.raises(ClaimBusyError):
        deliver_blob(container, "machines.csv")
    assert aml.received == []

    # After expiry, judged on the storage server's clock (whole seconds), the next delivery takes over, once.
    wait_past_short_claims(crashed_at)
    deliver_blob(container, "machines.csv")

    assert len(aml.accepted) == 1
    record = ledger_record("default", container, "machines.csv", etag)
    assert record["state"] == "submitted" and record["claims"] == 2
    assert [entry["state"] for entry in record["history"]] == [
        "claimed", "taken over from claimed", "claimed", "submitted"]


@pytest.mark.parametrize("listing_delay", [0.0, 1.5], ids=["listed-at-once", "listed-late"])
def test_a_process_killed_after_acceptance_leaves_a_run_the_redelivery_finds_and_adopts(
        app_env, aml, monkeypatch, listing_delay):
    """Once the one window nothing could close: the claim expires, the taker looks the key up first, no POST."""
    monkeypatch.setenv("SUBMIT_DEADLINE_SECONDS", "5")
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("CLAIM_EXPIRY_SECONDS", "10")
    monkeypatch.setenv("RUN_LISTING_DELAY_SECONDS", "2")
    aml.listing_delay = listing_delay
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    [crashed] = run_workers(container, "machines.csv", 1, "--crash-after-accept")
    crashed_at = time.monotonic()
    assert crashed["returncode"] == 137 and len(aml.accepted) == 1
    assert ledger_record("default", container, "machines.csv", etag)["state"] == "claimed"

    time.sleep(max(0.0, crashed_at + 11.2 - time.monotonic()))  # past the claim's expiry, on the server's clock
    deliver_blob(container, "machines.csv")

    [run] = aml.accepted
    assert len(aml.received) == 1 and len(aml.queries) >= 1
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"], record["claims"]) == (
        "submitted", run.run_id, True, 2)


def test_exhausted_transient_failure_is_recorded_raised_and_retried_by_the_host(app_env, aml, monkeypatch):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "3")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(503), Respond(503), Respond(503))

    with pytest.raises(TransientSubmitError, match="gave up after 3 attempts"):
        deliver_blob(container, "machines.csv")
    failed = ledger_record("default", container, "machines.csv", etag)
    assert (failed["state"], failed["retryable"], failed["attempts"]) == ("failed", True, 3)
    assert failed["error"]["status"] == 503

    deliver_blob(container, "machines.csv")  # the host's retry of the same event

    assert len(aml.accepted) == 1 and len(aml.received) == 4
    record = ledger_record("default", container, "machines.csv", etag)
    assert record["state"] == "submitted" and record["claims"] == 2


# --- v2 pipeline jobs: the job's name is the trigger's, so Azure ML itself refuses a second job -------------------

PIPELINE_JOB_BLOB = "incoming/machines.csv"


@pytest.fixture
def pipeline_job_blob(app_env, aml, tmp_path, monkeypatch) -> tuple[str, str]:
    """A pipeline_job rule named ``default`` and one blob under it: the blob's ETag and the job's expected name."""
    for setting in ("AML_PIPELINE_URL", "AML_EXPERIMENT", "AML_PARAMETERS", "AML_DATA_PATH_PARAMETER", "AML_DATASTORE"):
        monkeypatch.delenv(setting)  # the rules file replaces the one-rule settings (else a warning is logged)
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, name="default")])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, PIPELINE_JOB_BLOB, SAMPLE_CSV)
    return etag, expected_job_name("rules/default", blob_version_key(container, PIPELINE_JOB_BLOB, etag))


def test_a_pipeline_job_blob_delivered_three_times_creates_one_job(app_env, aml, caplog, pipeline_job_blob):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    etag, name = pipeline_job_blob

    for _ in range(3):
        deliver_blob(app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB)

    assert [job.run_id for job in aml.accepted] == [name] and len(aml.received) == 1
    assert outcomes(caplog) == ["submitted", "duplicate", "duplicate"]
    assert ledger_record("default", app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB, etag)["run_id"] == name


def test_a_pipeline_job_blob_delivered_from_four_processes_creates_one_job(app_env, aml, pipeline_job_blob):
    etag, name = pipeline_job_blob

    reports = run_workers(app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB, WORKERS)

    assert [report["returncode"] for report in reports] == [0] * WORKERS, [r["stderr"] for r in reports]
    assert sorted(o for report in reports for o in report["outcomes"]) == ["duplicate"] * (WORKERS - 1) + ["submitted"]
    assert [job.run_id for job in aml.accepted] == [name] and len(aml.received) == 1
    assert ledger_record("default", app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB, etag)["run_id"] == name


def test_a_pipeline_job_whose_process_died_after_creating_it_is_adopted_by_the_redelivery_without_a_listing(
        app_env, aml, monkeypatch, pipeline_job_blob):
    """The window the ledger cannot close: the PUT is sent again, Azure ML refuses the name, one GET adopts."""
    monkeypatch.setenv("SUBMIT_DEADLINE_SECONDS", "5")
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("CLAIM_EXPIRY_SECONDS", "10")
    etag, name = pipeline_job_blob

    [crashed] = run_workers(app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB, 1, "--crash-after-accept")
    crashed_at = time.monotonic()
    assert crashed["returncode"] == 137 and [job.run_id for job in aml.accepted] == [name]

    time.sleep(max(0.0, crashed_at + 11.2 - time.monotonic()))  # past the claim's expiry, on the server's clock
    deliver_blob(app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB)

    assert [job.run_id for job in aml.accepted] == [name] and aml.queries == []
    assert [(request.path.rsplit("/", 1)[-1], request.status) for request in aml.received] == [
        (name, 201), (name, 400), (name, 200)]  # the crashed PUT, the refused PUT, the GET that adopts
    record = ledger_record("default", app_env["WATCH_CONTAINER"], PIPELINE_JOB_BLOB, etag)
    assert (record["state"], record["run_id"], record["reconciled"], record["claims"]) == (
        "submitted", name, True, 2)
