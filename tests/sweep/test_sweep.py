"""The catch-up sweep: finds exactly the versions with no settled record, by diffing listings, and is idempotent."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest

from localdev.aml_standin import Respond
from localdev.host import fire_timer
from shared.clients.process.services import build_services
from shared.core.common.errors import InvalidValue
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.sweep.sweep import SweepReport, find_missing, sweep
from tests.support.harness import deliver_blob, ledger_record, service_client, upload
from tests.support.samples import ECHOED_ACCOUNT_KEY, SAMPLE_CSV


def services():
    return build_services(os.environ)


def uploaded(app_env, names: list[str], data: bytes = SAMPLE_CSV) -> dict[str, str]:
    return {name: upload(app_env["WATCH_CONTAINER"], name, data) for name in names}


def test_the_sweep_submits_exactly_the_versions_events_missed_and_a_second_sweep_nothing(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    container = app_env["WATCH_CONTAINER"]
    etags = uploaded(app_env, [f"incoming/day-{day}.csv" for day in range(1, 6)])
    uploaded(app_env, ["incoming/empty.csv"], b"")  # zero bytes: not data
    uploaded(app_env, ["incoming/notes.txt", "incoming/archive/old.csv", "elsewhere/x.csv"])  # not watched
    for name in ("incoming/day-1.csv", "incoming/day-2.csv"):  # these events arrived
        deliver_blob(container, name)

    first = sweep(services(), max_blobs=100)
    second = sweep(services(), max_blobs=100)

    submitted = sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted)
    assert submitted == [f"incoming/day-{day}.csv" for day in range(1, 6)]
    assert (first.missing, first.processed, dict(first.outcomes)) == (3, 3, {"submitted": 3})
    assert (second.missing, second.processed, dict(second.outcomes)) == (0, 0, {})
    assert first.listing_pages == 3  # one page of blobs, one of records, one of manual records: not one per blob
    for name, etag in etags.items():
        assert ledger_record("default", container, name, etag)["state"] == "submitted"


def test_a_capped_sweep_leaves_the_rest_for_the_next_one(app_env, aml):
    uploaded(app_env, [f"day-{day}.csv" for day in range(5)])

    first, second = sweep(services(), max_blobs=2), sweep(services(), max_blobs=2)
    third = sweep(services(), max_blobs=2)

    assert [(r.processed, r.left_for_next_sweep) for r in (first, second, third)] == [(2, 3), (2, 1), (1, 0)]
    assert len(aml.accepted) == 5


def test_a_version_overwritten_since_it_was_listed_is_left_to_its_own_event(app_env, aml, monkeypatch):
    uploaded(app_env, ["a.csv"])
    svc = services()
    listed_before_the_overwrite = find_missing(svc, SweepReport(started_at="now"))
    upload(app_env["WATCH_CONTAINER"], "a.csv", SAMPLE_CSV + b"9,9,9,9,9,9,9\n")
    monkeypatch.setattr("shared.flows.sweep.sweep.find_missing", lambda services, report: listed_before_the_overwrite)

    report = sweep(svc, max_blobs=10)

    assert dict(report.outcomes) == {"ignored": 1} and aml.received == []


def test_records_failed_for_now_are_picked_up_but_permanent_failures_are_not(app_env, aml, monkeypatch):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    container = app_env["WATCH_CONTAINER"]
    uploaded(app_env, ["for-now.csv", "for-good.csv"])
    aml.inject(Respond(503))
    with contextlib.suppress(Exception):
        deliver_blob(container, "for-now.csv")
    aml.inject(Respond(400, code="UserError", message="bad"))
    deliver_blob(container, "for-good.csv")

    report = sweep(services(), max_blobs=100)

    assert (report.missing, dict(report.outcomes)) == (1, {"submitted": 1})
    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        "for-now.csv"]


def test_the_sweep_timer_records_what_it_did(app_env, aml):
    uploaded(app_env, ["a.csv", "b.csv"])

    fire_timer("sweep_for_missed_blobs")

    assert len(aml.accepted) == 2
    ledger = service_client().get_container_client(app_env["LEDGER_CONTAINER"])
    [report] = [blob.name for blob in ledger.list_blobs(name_starts_with="state/sweeps/")]
    assert '"processed": 2' in ledger.download_blob(report).readall().decode()


def test_an_abandoned_claim_is_picked_up_by_its_own_expiry(app_env, aml):
    import time

    from shared.clients.ledger.ledger import Ledger
    from shared.core.ledger.keys import blob_version_key, rule_namespace
    from shared.flows.sweep.sweep import CLOCK_MARGIN

    etag = uploaded(app_env, ["crashed.csv"])["crashed.csv"]
    svc = services()
    crashed = Ledger(svc.ledger._container, claim_expiry=0)  # an owner that died holding an instantly stale claim
    crashed.claim(rule_namespace("default"), blob_version_key(app_env["WATCH_CONTAINER"], "crashed.csv", etag),
                  {"kind": "blob", "container": app_env["WATCH_CONTAINER"], "blob": "crashed.csv", "etag": etag},
                  time.monotonic() + 30)  # a fresh claim: nothing to wait for
    assert sweep(services(), max_blobs=10).missing == 0  # judged live until its expiry and the clock margin pass

    time.sleep(CLOCK_MARGIN + 1.5)
    report = sweep(services(), max_blobs=10)

    assert dict(report.outcomes) == {"submitted": 1} and len(aml.accepted) == 1


def test_a_sweep_starts_nothing_it_could_not_finish_within_its_budget(app_env, aml):
    uploaded(app_env, ["a.csv", "b.csv"])
    report = sweep(services(), max_blobs=10, budget=15)  # SUBMIT_DEADLINE_SECONDS is 20 here
    assert (report.stopped_for_time, report.processed, report.left_for_next_sweep) == (True, 0, 2)
    assert aml.received == []


def test_a_sweep_report_masks_a_secret_azure_ml_echoed_in_an_error_in_its_log_line_and_its_record(
        app_env, aml, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    secret = ECHOED_ACCOUNT_KEY
    uploaded(app_env, ["a.csv"])
    aml.inject(Respond(503, message=f"bad datastore {secret}"))

    with caplog.at_level(logging.DEBUG):
        report = sweep(services(), max_blobs=100)

    ledger = service_client().get_container_client(app_env["LEDGER_CONTAINER"])
    [stored] = [blob.name for blob in ledger.list_blobs(name_starts_with="state/sweeps/")]
    assert dict(report.outcomes) == {"failed": 1} and "AccountKey=***" in report.errors[0]
    assert "c2VjcmV0" not in ledger.download_blob(stored).readall().decode()
    assert "c2VjcmV0" not in caplog.text


@pytest.mark.parametrize("raised, reported", [
    (RecursionError("maximum recursion depth exceeded; sig=SECRETVALUE"),
     "b.csv: unexpected RecursionError: maximum recursion depth exceeded; ***"),
    (InvalidValue("the blob's metadata is no JSON object; sig=SECRETVALUE"),  # the app's own, not retryable
     "b.csv: the blob's metadata is no JSON object; ***"),
])
def test_one_blob_failing_unexpectedly_is_named_and_counted_and_the_sweep_runs_the_others(
        app_env, aml, monkeypatch, caplog, raised, reported):
    uploaded(app_env, ["a.csv", "b.csv", "c.csv"])

    def breaks_on_b(blob, services, **kwargs):
        if blob.blob_name == "b.csv":
            raise raised
        return process_blob(blob, services, **kwargs)

    monkeypatch.setattr("shared.flows.sweep.sweep.process_blob", breaks_on_b)

    report = sweep(services(), max_blobs=100)

    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "a.csv", "c.csv"]
    assert (report.processed, dict(report.outcomes)) == (3, {"submitted": 2, "error": 1})
    assert report.errors == [reported]
    assert "SECRETVALUE" not in caplog.text and report.errors[0] in caplog.text


def test_a_record_whose_stored_state_is_not_the_apps_is_reported_by_name_and_the_other_versions_still_run(
        app_env, aml):
    from shared.core.ledger.keys import blob_version_key, record_name, rule_namespace

    container = app_env["WATCH_CONTAINER"]
    etags = uploaded(app_env, ["odd.csv", "fine.csv"])
    odd = record_name(rule_namespace("default"), blob_version_key(container, "odd.csv", etags["odd.csv"]))
    services().ledger.remember("state/probe.json", {})  # the ledger's container exists
    services().ledger.container.get_blob_client(odd).upload_blob(b'{"state": "exploded"}',
                                                                 metadata={"state": "exploded"})

    report = sweep(services(), max_blobs=10)

    assert report.errors == [f"odd.csv: ledger record {odd}: state 'exploded' is not "
                             "one of claimed, submitted, rejected, skipped, failed, waiting"]
    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        "fine.csv"]


def test_the_sweep_leaves_a_blob_older_than_the_record_retention_less_a_day_whose_record_may_be_deleted(
        app_env, aml, monkeypatch):
    """The lifecycle rule deletes records after RECORD_RETENTION_DAYS: a sweep that ran an older blob without a
    record would run it a second time. Seen from 15 days on (retention 15), the blob is left; 13 days on, it runs."""
    monkeypatch.setenv("RECORD_RETENTION_DAYS", "15")
    uploaded(app_env, ["old.csv"])
    later = services()

    for days, missing in ((14.01, 0), (13.99, 1)):
        moment = datetime.now(UTC) + timedelta(days=days)
        at_moment = later.clock._replace(now=lambda moment=moment: moment)
        report = sweep(dataclasses.replace(later, clock=at_moment), max_blobs=100)
        assert (report.blobs_listed, report.missing) == (1, missing)
    assert len(aml.accepted) == 1
