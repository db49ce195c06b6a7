"""The run index (shared.core.run_index, shared.flows.run_index): the first pages of runs and the status page's
counts at a cost that follows what changed since the last look, not the ledger's history; the records stay the
truth, and a lost index is rebuilt from them."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from localdev.host import deliver_event, fire_timer
from localdev.http_counter import counting_requests
from shared.clients.ledger.ledger import MAX_UPDATE_RACES
from shared.clients.process.services import Services, process_services
from shared.core.ledger.keys import UPDATED_TAG, iso_ms, record_name, rule_namespace
from shared.core.ledger.ledger_record import RunState, new_claim
from shared.core.ledger.run_status import observed
from shared.core.ledger.subjects import BlobSubject
from shared.core.run_index import run_index
from shared.core.run_index.run_index import RECENT_ROWS, SUMMARY_NAME
from shared.flows.run_index.run_index import current_index, viewed_index
from shared.operations.http.records import list_runs
from tests.support.harness import deliver_blob, upload
from tests.support.samples import SAMPLE_CSV

YESTERDAY = run_index.day_of(datetime.now(UTC) - timedelta(days=1))
"""A day the index keeps (inside retention) that no delivery of a test recounts."""


def _deliver(app_env, *names: str) -> None:
    for name in names:
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
        deliver_blob(app_env["WATCH_CONTAINER"], name)


def _caught_up_by_every_view(services: Services) -> Services:
    """``services`` with ``RUN_INDEX_MAX_AGE_SECONDS=0``: every view catches the index up itself."""
    return replace(services, config=services.config._replace(run_index_max_age=0))


def _requests(sent) -> dict[str, int]:
    """Storage requests by method, out of a counting_requests tally (Azurite listens on 127.0.0.1)."""
    return {key.split()[0]: count for key, count in sent.items() if " " in key and ":" in key}


def _put(services, index: int, claimed: datetime, written: datetime, *, completed: bool = False) -> str:
    """Record ``index`` as the app writes it: a run first claimed (and submitted) at ``claimed``, its record last
    written at ``written`` (its run seen to end then, with ``completed``); its name."""
    subject = BlobSubject(container="data", blob=f"in/{index:06d}.csv", etag="0x1")
    record = new_claim(rule_namespace("default"), f"{index:064x}", subject, "test", iso_ms(claimed), 60).settled(
        RunState.SUBMITTED, iso_ms(claimed), {"run_id": f"run-{index}"})
    if completed:
        record = record.with_outcome(observed("Completed", iso_ms(written), ended_at=iso_ms(written)))
    name = record_name(rule_namespace("default"), f"{index:064x}")
    services.ledger.container.upload_blob(name, json.dumps(record.to_json()).encode(), overwrite=True,
                                          metadata=record.metadata(), tags=record.tags(iso_ms(written)))
    return name


def _midnight(now: datetime, days_ago: int) -> datetime:
    """The start of the UTC day ``days_ago`` before ``now``'s: records a millisecond apart from it share its day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)


def _put_many(services, indexes: range, claimed: datetime) -> None:
    """Records ``indexes``, each first claimed and written a millisecond after the one before, from ``claimed``."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda index: _put(services, index, claimed + index * timedelta(milliseconds=1),
                                         claimed + index * timedelta(milliseconds=1)), indexes))


def test_unfiltered_runs_come_from_the_index_in_the_listings_order_by_last_write_outcomes_included(app_env, aml):
    _deliver(app_env, "a.csv", "b.csv")
    services = process_services()
    built = list_runs(services).runs  # the first view builds the index
    assert [run["subject"]["blob"] for run in built] == ["b.csv", "a.csv"]
    first, _second = aml.accepted
    aml.set_status(first.run_id, "Completed")
    deliver_event(aml.run_event(first.run_id))  # an outcome's write leaves updated_at as it was: its tag moves
    assert list_runs(services).runs == built  # the index is fresh (RUN_INDEX_MAX_AGE_SECONDS): shown as it is

    fire_timer("catch_up_run_index")  # the timer's catch-up, every minute by default
    indexed = list_runs(services).runs
    listed = list_runs(services, limit=RECENT_ROWS + 1).runs  # past the index: the listing's path, every record read
    # Both order by the last write (the aml_updated tag, to the millisecond), so a.csv's outcome puts it first on
    # either path, whether or not its write fell in the same second as b.csv's (Last-Modified's precision).
    assert [run["subject"]["blob"] for run in indexed] == ["a.csv", "b.csv"]
    assert indexed == listed and indexed[0]["run"]["status"] == "completed" and "run" not in indexed[1]


def test_runs_last_written_in_the_same_millisecond_list_by_record_name_on_either_path(app_env, aml):
    _deliver(app_env, "a.csv", "b.csv", "c.csv")
    services = process_services()
    ledger = services.ledger.container
    for blob in ledger.list_blobs(name_starts_with="rules/", include=["tags"]):
        ledger.get_blob_client(blob.name).set_blob_tags({**(blob.tags or {}), UPDATED_TAG: "2026-12-07T08:00:00.123Z"})

    indexed = list_runs(services).runs  # built from the listing: no index yet
    listed = list_runs(services, limit=RECENT_ROWS + 1).runs
    assert [run["record"] for run in indexed] == [run["record"] for run in listed] == sorted(
        (run["record"] for run in listed), reverse=True)


def test_a_catch_up_costs_three_requests_and_new_records_one_read_each_plus_their_days_count(app_env, aml):
    _deliver(app_env, "a.csv")
    services = process_services()
    current_index(services)
    with counting_requests() as idle:
        current_index(services)
    _deliver(app_env, "b.csv", "c.csv", "d.csv")
    with counting_requests() as busy:
        summary = current_index(services)

    # the index, Find Blobs by Tags for what changed since, and the index written back (its Last-Modified is the
    # time of its last catch-up, which a view judges it by, so every catch-up writes it)
    assert _requests(idle) == {"GET": 2, "PUT": 1}
    # the index, the Find, 3 records, today's recount (one Find), the index written back
    assert _requests(busy) == {"GET": 6, "PUT": 1}
    today = run_index.day_of(datetime.now(UTC))
    assert summary["days"][today] == {"rules/default": {"running": 4}} and run_index.total(summary) == 4


def test_a_view_of_a_fresh_index_costs_one_read_and_says_as_of_its_last_catch_up(app_env, aml):
    _deliver(app_env, "a.csv")
    services = process_services()  # RUN_INDEX_MAX_AGE_SECONDS as declared: 120
    current_index(services)
    caught_up_at = services.ledger.container.get_blob_client(SUMMARY_NAME).get_blob_properties().last_modified
    _deliver(app_env, "b.csv")

    with counting_requests() as sent:
        viewed = viewed_index(services)

    assert _requests(sent) == {"GET": 1}  # the index alone: no Find Blobs by Tags, whatever the ledger holds
    assert viewed.as_of == caught_up_at and [row["subject"]["blob"] for row in viewed.summary["rows"]] == ["a.csv"]
    assert viewed.caught_up is run_index.CaughtUp.TIMER


def test_a_view_of_an_index_older_than_its_max_age_catches_it_up(app_env, aml):
    _deliver(app_env, "a.csv")
    services = replace(process_services(), config=process_services().config._replace(run_index_max_age=1))
    current_index(services)
    _deliver(app_env, "b.csv")
    time.sleep(2)  # the max age passes on storage's clock (whole seconds), which no test controls
    began = datetime.now(UTC)

    with counting_requests() as sent:
        viewed = viewed_index(services)

    assert [row["subject"]["blob"] for row in viewed.summary["rows"]] == ["b.csv", "a.csv"] and viewed.as_of >= began
    assert viewed.caught_up is run_index.CaughtUp.STALE
    assert viewed.note(services.config).endswith("caught up by this view (the timer had not in 1 s)")
    served = viewed_index(replace(services, config=process_services().config))  # fresh for 120 s: as stored
    assert served.caught_up is run_index.CaughtUp.EARLIER_VIEW and served.as_of <= datetime.now(UTC)
    assert served.note(services.config).endswith("caught up by an earlier view")  # not the timer's cadence
    # the index dated (the catch-up swaps what that read found), the Find, b.csv's record, today's recount, the write
    assert _requests(sent) == {"GET": 4, "PUT": 1}


def test_a_lost_index_is_rebuilt_from_the_records_as_it_was(app_env, aml):
    _deliver(app_env, "a.csv", "b.csv")
    services = process_services()
    built = current_index(services)
    services.ledger.container.delete_blob(SUMMARY_NAME)

    rebuilt = current_index(services)
    assert rebuilt["rows"] == built["rows"] and rebuilt["days"] == built["days"] and rebuilt["last"] == built["last"]


@pytest.mark.parametrize("stored", [
    b"{\"schema\": 1, \"rows\": [", b"\xff\xfe not JSON", b"[]", b"{\"schema\": 1, \"watermark\": \"x\"}",
    json.dumps({**run_index.empty("2026-12-07T00:00:00.000Z"), "days": {YESTERDAY: {"rules/r": {"x": "1"}}}}).encode(),
    json.dumps({**run_index.empty("2026-12-07T00:00:00.000Z"), "rows": [{"state": "submitted"}]}).encode(),
    b"[" * 100 + b"]" * 100,
], ids=["cut-short", "not-utf8", "a-list", "keys-missing", "a-count-not-a-number", "a-row-without-record",
        "nested-too-deep"])
def test_an_unreadable_or_misshapen_index_is_rebuilt_from_the_records_and_the_page_served(app_env, aml, stored):
    _deliver(app_env, "a.csv", "b.csv")
    services = process_services()
    services.ledger.container.upload_blob(SUMMARY_NAME, stored, overwrite=True)

    runs = list_runs(services).runs

    assert [run["subject"]["blob"] for run in runs] == ["b.csv", "a.csv"]  # every record there, newest first
    written = json.loads(services.ledger.container.download_blob(SUMMARY_NAME).readall())
    assert run_index.well_formed(written) and [row["record"] for row in written["rows"]] == [
        run["record"] for run in runs] and run_index.total(written) == 2


def test_an_index_that_loses_every_write_race_serves_the_page_from_what_was_read_and_the_next_view_writes_it(
        app_env, aml, monkeypatch, caplog):
    _deliver(app_env, "a.csv")
    services = _caught_up_by_every_view(process_services())
    before = current_index(services)
    _deliver(app_env, "b.csv")
    ledger = services.ledger

    def overtaken(real_read):
        def read_then_overtaken(name, *args, **kwargs):
            found = real_read(name, *args, **kwargs)
            if name == SUMMARY_NAME:  # another reader writes the index between this read and the conditional write
                ledger.container.get_blob_client(SUMMARY_NAME).set_blob_metadata({"overtaken": "yes"})
            return found
        return read_then_overtaken

    monkeypatch.setattr(ledger, "read", overtaken(ledger.read))
    monkeypatch.setattr(ledger, "read_dated", overtaken(ledger.read_dated))  # the view's read, swapped as read
    with counting_requests() as sent:
        raced = list_runs(services).runs

    assert [run["subject"]["blob"] for run in raced] == ["b.csv", "a.csv"]
    assert _requests(sent)["PUT"] == MAX_UPDATE_RACES * 2  # each conditional write refused (412), each touch
    assert f"run index not written back ({SUMMARY_NAME} changed {MAX_UPDATE_RACES} times" in caplog.text
    stored = json.loads(ledger.container.download_blob(SUMMARY_NAME).readall())
    assert stored["rows"] == before["rows"]  # the stored index as it was: a cache, the records untouched
    monkeypatch.undo()
    assert list_runs(services).runs == raced
    assert json.loads(ledger.container.download_blob(SUMMARY_NAME).readall())["rows"] == raced


@pytest.mark.unit
def test_catching_up_replaces_a_records_row_recounts_its_days_and_drops_the_days_retention_deleted():
    old = {"record": "rules/r/" + "a" * 64 + ".json", "state": "claimed", "updated_at": "2026-12-06T23:59:59.000Z"}
    summary = {**run_index.empty("2026-12-06T23:59:59.000Z"), "rows": [old], "seen": {old["record"]: "x"},
               "days": {"2026-09-01": {"rules/r": {"submitted": 7}}, "2026-12-06": {"rules/r": {"claimed": 1}}}}
    new = {**old, "state": "submitted", "updated_at": "2026-12-07T00:00:01.000Z"}

    caught = run_index.caught_up(summary, [new], {old["record"]: "2026-12-07T00:00:02.000Z"},
                                 {"2026-12-06": {}, "2026-12-07": {"rules/r": {"submitted": 1}}},
                                 "2026-12-07T00:00:02.000Z", oldest_day="2026-09-08")

    assert caught["rows"] == [new] and caught["seen"] == {old["record"]: "2026-12-07T00:00:02.000Z"}
    assert caught["days"] == {"2026-12-06": {}, "2026-12-07": {"rules/r": {"submitted": 1}}}
    assert caught["last"] == {"rules/r": "2026-12-07T00:00:01.000Z"} and run_index.total(caught) == 1
    assert run_index.since(caught) == "2026-12-06T23:50:02.000Z"
    assert run_index.states_since(caught, ("rules/r", "manual/r"), "2026-12-07") == {"submitted": 1}
    assert run_index.per_day(caught, run_index.days_back(datetime(2026, 12, 7, 5, tzinfo=UTC), 2)) == [
        ("2026-12-06", {}), ("2026-12-07", {"submitted": 1})]


def test_a_record_written_again_on_a_later_day_stays_counted_once_on_the_day_its_run_was_first_claimed(app_env, aml):
    """Its day is its first claim's (the aml_day tag no write moves), whether or not the index holds its row: here
    200 newer records push it out of the index's rows before its run ends two days later."""
    services, now = process_services(), datetime.now(UTC)
    first = _put(services, 0, _midnight(now, days_ago=3), _midnight(now, days_ago=3))
    _put_many(services, range(1, RECENT_ROWS + 1), _midnight(now, days_ago=2))
    assert run_index.total(current_index(services)) == RECENT_ROWS + 1

    _put(services, 0, _midnight(now, days_ago=3), now, completed=True)  # its run's end, written today
    summary = current_index(services)

    assert run_index.total(summary) == RECENT_ROWS + 1 and run_index.day_of(now) not in summary["days"]
    assert summary["days"][run_index.day_of(now - timedelta(days=3))] == {"rules/default": {"completed": 1}}
    assert summary["days"][run_index.day_of(now - timedelta(days=2))] == {"rules/default": {"running": RECENT_ROWS}}
    assert summary["rows"][0]["record"] == first and summary["rows"][0]["run"]["status"] == "completed"


def test_catching_up_500_changed_records_reads_only_the_200_newest_and_recounts_each_changed_day_once(app_env, aml):
    services, now = process_services(), datetime.now(UTC)
    _put(services, 0, _midnight(now, days_ago=1), _midnight(now, days_ago=1))
    current_index(services)
    _put_many(services, range(1, 501), _midnight(now, days_ago=0))  # a quiet week's worth, all today

    with counting_requests() as sent:
        summary = current_index(services)

    # the index, the Find, the 200 newest records, today's recount (one Find), the index written back
    assert _requests(sent) == {"GET": 1 + 1 + RECENT_ROWS + 1, "PUT": 1}
    assert [row["record"] for row in summary["rows"]] == [
        record_name(rule_namespace("default"), f"{index:064x}") for index in range(500, 500 - RECENT_ROWS, -1)]
    assert summary["days"][run_index.day_of(now)] == {"rules/default": {"running": 500}}
    assert run_index.total(summary) == 501


def test_a_record_written_before_the_index_tags_is_counted_by_the_outcome_its_metadata_gives(app_env, aml):
    """No tags (a record older than the index): its day is its Last-Modified's, its outcome its listed metadata's."""
    services, now = process_services(), iso_ms(datetime.now(UTC))
    subject = BlobSubject(container="data", blob="in/old.csv", etag="0x1")
    claimed = new_claim(rule_namespace("default"), "e" * 64, subject, "test", now, 60)
    ended = claimed.settled(RunState.SUBMITTED, now, {"run_id": "run-1"}).with_outcome(
        observed("Completed", now, ended_at=now))
    retrying = new_claim(rule_namespace("default"), "f" * 64, subject, "test", now, 60).settled(
        RunState.FAILED, now, {"reason": "503", "retryable": True})
    for record in (ended, retrying):
        services.ledger.container.upload_blob(record_name(rule_namespace("default"), str(record.key)),
                                              json.dumps(record.to_json()).encode(), metadata=record.metadata())
    days = {run_index.day_of(blob.last_modified) for blob in services.ledger.container.list_blobs("rules/")}

    summary = current_index(services)

    assert set(summary["days"]) == days  # one day, unless the two writes straddled midnight (UTC)
    assert run_index.states_since(summary, ("rules/default",), "") == {"completed": 1, "failed for now": 1}
