"""The outcomes' steps as pure record changes (shared/core/outcomes/): observe, turn, gate; no storage, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.run_status import RunOutcome, RunStatus
from shared.core.outcomes.record_changes import (
    RecordNotSettledError,
    can_run_again,
    holder_needs_work,
    just_ended,
    observed,
    slot_is_free,
    turn_taken,
)
from shared.core.outcomes.run_events import RecordRef
from shared.core.outcomes.run_records import record_ref

pytestmark = pytest.mark.unit

NAME = "rules/nightly/k1.json"
CLAIMED_AT = "2026-12-01T10:00:00.000Z"
NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
RUNNING = RunOutcome(RunStatus.RUNNING, "Running", "2026-12-01T10:05:00.000Z", started_at="2026-12-01T10:04:00.000Z")
COMPLETED = RunOutcome(RunStatus.COMPLETED, "Completed", "2026-12-01T10:20:00.000Z",
                       ended_at="2026-12-01T10:19:00.000Z")


def record(state: str, **fields: object) -> LedgerRecord:
    return LedgerRecord.from_json({"state": state, "run_id": "run-1", "first_claimed_at": CLAIMED_AT,
                                   "claimed_at": CLAIMED_AT, **fields})


def test_observing_merges_what_is_observed_of_the_records_own_run():
    after = observed(record("submitted"), NAME, "run-1", RUNNING, NOW, event_time="2026-12-01T10:05:00Z")

    assert isinstance(after, LedgerRecord) and after.outcome == RUNNING


def test_observing_refuses_a_claimed_record_for_a_retry_and_leaves_another_runs_or_an_implausible_event_as_it_is():
    with pytest.raises(RecordNotSettledError) as refused:
        observed(record("claimed"), NAME, "run-1", RUNNING, NOW, event_time=None)
    assert str(refused.value) == "rules/nightly/k1.json is still claimed: its run run-1 is not recorded yet"
    assert observed(record("submitted", run_id="run-0"), NAME, "run-1", RUNNING, NOW, None) == (
        "the record is submitted with run run-0, not run run-1")
    assert observed(record("submitted"), NAME, "run-1", RUNNING, NOW, "2026-12-01T10:36:00Z") == (
        "the event's time 2026-12-01T10:36:00Z is later than now (2026-12-01T10:30:00.000Z) by more than 5 minutes: "
        "the event is not taken (the fallback asks Azure ML)")


def test_a_run_ends_once_a_second_report_of_its_end_is_no_new_end():
    running = record("submitted", run=RUNNING.to_json())
    ended = record("submitted", run=COMPLETED.to_json())

    assert just_ended(running, ended) == COMPLETED
    assert just_ended(ended, ended) is None
    assert just_ended(record("submitted"), running) is None


def test_a_turn_reopens_only_a_waiting_record_as_failed_for_now():
    turned = turn_taken(record("waiting"), "2026-12-01T10:30:00.000Z", "a slot is free (max_active_runs 1)")

    assert turned is not None
    assert (turned.state, turned.retryable, turned.reason) == ("failed", True,
                                                               "its turn: a slot is free (max_active_runs 1)")
    assert can_run_again(turned)
    assert turn_taken(record("submitted"), "2026-12-01T10:30:00.000Z", "a slot is free") is None


@pytest.mark.parametrize(("state", "retryable", "runs_again"), [
    ("claimed", None, True), ("failed", True, True), ("failed", False, False), ("skipped", None, False)])
def test_after_its_turn_a_record_runs_again_when_claimed_or_failed_for_now(state, retryable, runs_again):
    assert can_run_again(record(state, retryable=retryable)) is runs_again
    assert can_run_again(None) is False


def test_a_gate_frees_the_slot_of_an_ended_run_and_reruns_a_holder_claimed_past_its_expiry_and_the_margin():
    assert slot_is_free(record("submitted", run=COMPLETED.to_json()))
    assert not slot_is_free(record("submitted", run=RUNNING.to_json()))
    claimed_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    assert not holder_needs_work(record("claimed"), claimed_at + timedelta(seconds=64.9), 60, margin=5)
    assert holder_needs_work(record("claimed"), claimed_at + timedelta(seconds=65), 60, margin=5)


@pytest.mark.parametrize(("name", "ref"), [
    ("rules/nightly/k1.json", RecordRef("rules/nightly", "k1", rule="nightly")),
    ("manual/nightly/k1.json", RecordRef("manual/nightly", "k1", rule="nightly")),
    ("schedules/daily/k1.json", RecordRef("schedules/daily", "k1", schedule="daily")),
    ("schedule-data/daily/k1.json", None),
    ("not a record", None),
])
def test_a_record_name_leads_to_its_rule_or_schedule(name, ref):
    assert record_ref(name) == ref
