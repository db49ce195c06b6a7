"""The ledger's guarantees against Azurite: one winner per takeover, no stale owner overwriting a new one."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from shared.clients.common.clock import Clock
from shared.clients.ledger.ledger import Ledger
from shared.clients.ledger.ledger_claims import Claim, ClaimBusyError, ClaimLostError, Duplicate
from shared.core.ledger.keys import arrival_tags, rule_namespace
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_status import observed
from tests.support.harness import run_together

SUBJECT = {"kind": "blob", "container": "c", "blob": "b.csv", "etag": "0x1"}


def claim(ledger: Ledger, deadline_seconds: float = 0.5) -> Claim | Duplicate:
    return ledger.claim(rule_namespace("r"), "key-1", SUBJECT, time.monotonic() + deadline_seconds)


def test_an_abandoned_claim_is_taken_over_by_exactly_one_of_many(container):
    abandoned = claim(Ledger(container, claim_expiry=0))  # a crashed owner whose claim is expired at once
    assert isinstance(abandoned, Claim)
    contenders = 6

    results = run_together(*[lambda: claim(Ledger(container, claim_expiry=60))] * contenders)

    winners = [result for result in results if isinstance(result, Claim)]
    assert len(winners) == 1 and winners[0].took_over
    assert sum(isinstance(result, ClaimBusyError) for result in results) == contenders - 1


def test_a_stale_owner_cannot_overwrite_the_record_of_the_owner_that_took_over(container):
    stale = claim(Ledger(container, claim_expiry=0))
    ledger = Ledger(container, claim_expiry=60)
    current = claim(ledger)
    assert isinstance(stale, Claim) and isinstance(current, Claim)

    with pytest.raises(ClaimLostError):
        Ledger(container, claim_expiry=0).settle(stale, RunState.SUBMITTED, run_id="stale-run")

    record, _ = ledger.read(current.record_name)
    assert (record["state"], record["owner"]) == ("claimed", current.record["owner"])
    ledger.settle(current, RunState.SUBMITTED, run_id="run-2")
    assert isinstance(claim(ledger), Duplicate)


def test_a_claim_is_honoured_until_it_expires_by_the_servers_clock(container):
    owner = Ledger(container, claim_expiry=2)
    assert isinstance(claim(owner), Claim)

    with pytest.raises(ClaimBusyError, match="not settled before the deadline"):
        claim(Ledger(container, claim_expiry=60), deadline_seconds=0.3)
    time.sleep(3.2)  # Last-Modified and Date have whole seconds: 3.2 s is at least 2 s on the server's clock
    assert isinstance(claim(Ledger(container, claim_expiry=60)), Claim)


def test_a_live_claim_is_judged_by_the_servers_clock_not_a_taker_whose_clock_runs_an_hour_ahead(container):
    assert isinstance(claim(Ledger(container, claim_expiry=60)), Claim)
    an_hour_ahead = datetime.now(UTC) + timedelta(hours=1)

    taker = Ledger(container, claim_expiry=60, clock=Clock(now=lambda: an_hour_ahead))

    with pytest.raises(ClaimBusyError, match="not settled before the deadline"):
        claim(taker, deadline_seconds=0.3)


@pytest.mark.parametrize("within", [0.0, 3.0, 10.0, 25.0, 60.0, 300.0])
def test_a_bounded_storage_request_with_its_retries_and_backoff_fits_the_time_left(within):
    from shared.clients.storage.storage import CLIENT_OPTIONS, bounded

    options = bounded(within)
    tries = options["retry_total"] + 1
    backoff = sum(CLIENT_OPTIONS["initial_backoff"] + CLIENT_OPTIONS["increment_base"] ** count
                  + CLIENT_OPTIONS["random_jitter_range"] for count in range(1, tries))
    worst = tries * (options["connection_timeout"] + options["read_timeout"]) + backoff
    assert worst <= max(within, 1.0)  # one short try is made even with no time left
    assert options["retry_total"] <= CLIENT_OPTIONS["retry_total"]
    if within >= 300:  # plenty of time: the client's own settings, whole
        assert options == {"connection_timeout": 5, "read_timeout": 20, "retry_total": 3}


def test_azurite_drops_a_blobs_index_tags_on_a_put_blob_without_them_and_keeps_them_when_if_match_refuses(
        container):
    """The emulator facts the open tags rely on (Azure's documents do not say what a tagless overwrite keeps, so
    every record write sends its whole tag set): tags ride on a conditional Put Blob, a stale If-Match changes
    nothing, and Find Blobs by Tags in one container answers with the tags its expression names."""
    container.create_container()
    blob = container.get_blob_client("rules/r/k.json")
    first = blob.upload_blob(b"{}", tags={"aml_open": "1", "aml_owner": "rules/r"})
    second = blob.upload_blob(b"{}", overwrite=True, etag=first["etag"], match_condition=MatchConditions.IfNotModified,
                              tags={"aml_open": "1", "aml_owner": "rules/r", "aml_run": "run-1"})
    with pytest.raises(ResourceModifiedError):
        blob.upload_blob(b"{}", overwrite=True, etag=first["etag"], match_condition=MatchConditions.IfNotModified,
                         tags={"aml_owner": "rules/r"})
    assert blob.get_blob_tags() == {"aml_open": "1", "aml_owner": "rules/r", "aml_run": "run-1"}
    [found] = container.find_blobs_by_tags("\"aml_open\"='1' AND \"aml_run\">='0'")
    assert (found.name, found.tags) == ("rules/r/k.json", {"aml_open": "1", "aml_run": "run-1"})

    blob.upload_blob(b"{}", overwrite=True, etag=second["etag"], match_condition=MatchConditions.IfNotModified)

    assert blob.get_blob_tags() == {}


def test_open_runs_are_the_records_tagged_open_per_owner_oldest_first_and_a_run_that_ended_is_not_one(container):
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    for minute, owner, key, run_id in ((2, "r", "key-1", "run-1"), (0, "other", "key-2", "run-2"),
                                       (1, "r", "key-3", "run-3")):
        at = start + timedelta(minutes=minute)
        submitter = Ledger(container, claim_expiry=60, clock=Clock(now=lambda at=at: at))
        claimed = submitter.claim(rule_namespace(owner), key, SUBJECT, time.monotonic() + 5)
        assert isinstance(claimed, Claim)
        submitter.settle(claimed, RunState.SUBMITTED, run_id=run_id)
    ledger = Ledger(container, claim_expiry=60)

    assert [(run.record, run.run_id) for run in ledger.active_runs()] == [
        ("rules/other/key-2.json", "run-2"), ("rules/r/key-3.json", "run-3"), ("rules/r/key-1.json", "run-1")]
    assert [run.run_id for run in ledger.active_runs(rule_namespace("r"))] == ["run-3", "run-1"]
    ledger.update("rules/r/key-1.json", lambda record: record.with_outcome(
        observed("Completed", "2026-12-01T10:00:00Z", ended_at="2026-12-01T10:00:00Z")))

    assert [run.run_id for run in ledger.active_runs(rule_namespace("r"))] == ["run-3"]
    assert ledger.active_runs(rule_namespace("nobody")) == []
    ended = container.get_blob_client("rules/r/key-1.json").get_blob_tags()
    # the open tags dropped; the owner and the file's arrival (what a freshness check counts) kept, beside the index's
    arrived = arrival_tags("rules/r", SUBJECT["blob"], "2026-12-01T10:02:00.000Z")
    assert {name: ended.pop(name) for name in arrived} == arrived
    assert ended.pop("aml_state") == "completed" and set(ended) == {"aml_day", "aml_updated"}


def test_every_write_of_a_runs_record_tags_its_outcome_its_first_claims_day_and_the_writes_time_a_data_claim_none(
        container):
    """The run index follows these tags (shared.flows.run_index): a claim's create carries them, and so does an
    outcome's write, which leaves updated_at as it was. The day is the first claim's: a write on a later day leaves
    the record on its day, so no two days count it."""
    moment = [datetime(2026, 12, 1, 10, 1, 5, 250000, tzinfo=UTC)]
    ledger = Ledger(container, claim_expiry=60, clock=Clock(now=lambda: moment[0]))
    claimed = ledger.claim(rule_namespace("r"), "key-1", SUBJECT, time.monotonic() + 5)
    assert isinstance(claimed, Claim)
    blob = container.get_blob_client("rules/r/key-1.json")
    arrived = arrival_tags("rules/r", SUBJECT["blob"], "2026-12-01T10:01:05.250Z")  # the first claim's time, kept
    assert blob.get_blob_tags() == {**arrived, "aml_state": "starting", "aml_day": "2026-12-01",
                                    "aml_updated": "2026-12-01T10:01:05.250Z"}
    moment[0] = datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)
    ledger.settle(claimed, RunState.FAILED, reason="no", retryable=True)
    assert blob.get_blob_tags() == {**arrived, "aml_state": "failed for now", "aml_day": "2026-12-01",
                                    "aml_updated": "2026-12-02T00:00:01.000Z"}
    moment[0] = datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)
    again = ledger.claim(rule_namespace("r"), "key-1", SUBJECT, time.monotonic() + 5)  # taken over
    assert isinstance(again, Claim)
    ledger.settle(again, RunState.REJECTED, reason="no")
    assert blob.get_blob_tags() == {**arrived, "aml_state": "rejected", "aml_day": "2026-12-01",
                                    "aml_updated": "2026-12-03T00:00:01.000Z"}
    data = ledger.claim("schedule-data/s", "key-2", SUBJECT, time.monotonic() + 5)
    assert isinstance(data, Claim)
    assert container.get_blob_client("schedule-data/s/key-2.json").get_blob_tags() == {"aml_owner": "schedule-data/s"}


def test_an_update_that_changes_nothing_writes_nothing_and_a_subjects_unknown_keys_are_kept_as_read(container):
    """The update compares the record before and after its change; a subject's keys this code does not know take
    part (a record is a tuple), and a change that keeps them as read is still no change: no write."""
    ledger = Ledger(container, claim_expiry=60)
    claimed = ledger.claim(rule_namespace("r"), "key-1", {**SUBJECT, "added_later": {"x": 1}}, time.monotonic() + 5)
    assert isinstance(claimed, Claim)
    ledger.settle(claimed, RunState.SUBMITTED, run_id="run-1")
    blob = container.get_blob_client(claimed.record_name)
    etag = blob.get_blob_properties().etag

    before, after = ledger.update(claimed.record_name, lambda record: LedgerRecord.from_json(record.to_json()))

    assert after is before and blob.get_blob_properties().etag == etag
    assert before.subject is not None and before.subject.extra == {"added_later": {"x": 1}}
    assert json.loads(blob.download_blob().readall())["subject"]["added_later"] == {"x": 1}
