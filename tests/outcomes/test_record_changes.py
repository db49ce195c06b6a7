"""The outcomes' steps as pure record changes (shared/core/outcomes/): observe, turn, gate; no storage, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.config.config_loader import load_config
from shared.core.ledger.decisions import Decision, Outcome
from shared.core.ledger.keys import blob_version_key
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_status import RunOutcome, RunStatus, merged
from shared.core.outcomes.record_changes import (
    RecordNotSettledError,
    can_run_again,
    data_record,
    ended_decision,
    holder_needs_work,
    ignored,
    just_ended,
    observed,
    released,
    slot_is_free,
    times_final,
    times_given_up,
    times_settled,
    turn_taken,
)
from shared.core.outcomes.run_events import RecordRef
from shared.core.outcomes.run_records import record_ref
from tests.support.settings import LOADED_AT, NO_APP_ROOT, minimal_env

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


def test_observing_judges_an_events_time_by_the_first_claim_else_the_claim_and_merges_what_was_known():
    known = record("submitted", run=RUNNING.to_json())
    after = observed(known, NAME, "run-1", COMPLETED, NOW, event_time="2026-12-01T09:56:00Z")
    assert not isinstance(after, str) and after.outcome == merged(RUNNING, COMPLETED)
    retaken = record("submitted", first_claimed_at="2026-12-01T09:00:00.000Z")
    assert not isinstance(observed(retaken, NAME, "run-1", RUNNING, NOW, event_time="2026-12-01T09:00:00Z"), str)
    only_claimed = LedgerRecord.from_json({"state": "submitted", "run_id": "run-1", "claimed_at": CLAIMED_AT})
    assert observed(only_claimed, NAME, "run-1", RUNNING, NOW, event_time="2026-12-01T09:00:00Z") == (
        "the event's time 2026-12-01T09:00:00Z is earlier than its run's submission (2026-12-01T10:00:00.000Z) by "
        "more than 5 minutes: the event is not taken (the fallback asks Azure ML)")
    assert not isinstance(observed(only_claimed, NAME, "run-1", RUNNING, NOW, event_time=None), str)


def test_a_run_ends_with_one_decision_naming_its_status_error_duration_and_link():
    failed = RunOutcome(RunStatus.FAILED, "Failed", "2026-12-01T10:20:00.000Z", started_at="2026-12-01T10:00:00.000Z",
                        ended_at="2026-12-01T10:10:00.000Z", error={"code": "UserError", "message": "no data"})
    decision = ended_decision(failed, record("submitted", run_url="https://ml.azure.com/runs/run-1"), {"rule": "r"})
    assert decision == Decision(Outcome.RUN_FAILED, run_status="failed", reason="no data", duration_seconds=600.0,
                                error_code="UserError", run_url="https://ml.azure.com/runs/run-1", rule="r")
    assert ended_decision(COMPLETED, record("submitted"), {}) == Decision(Outcome.RUN_COMPLETED,
                                                                          run_status="completed")


def test_an_ignored_event_is_logged_with_its_reason_and_only_what_it_was_about():
    assert ignored("not ours", rule="r", run_id=None) == Decision(Outcome.IGNORED, reason="not ours", rule="r")


@pytest.mark.parametrize(("data", "named"), [
    ({"blob": "in/a.csv", "etag": "0x1"}, True),
    ({"blob": "in/a.csv"}, False), ({"etag": "0x1"}, False), ("in/a.csv", False), (None, False),
])
def test_a_schedules_run_names_the_data_record_it_used(data, named):
    config = load_config(minimal_env(), NO_APP_ROOT, now=LOADED_AT)
    expected = f"schedule-data/daily/{blob_version_key('training-data', 'in/a.csv', '0x1')}.json" if named else None
    assert data_record(config, "daily", record("submitted", data=data)) == expected


def test_only_a_data_record_still_naming_the_run_is_released_as_failed_for_now():
    released_claim = released(record("submitted"), "run-1", "2026-12-01T10:40:00.000Z", "run-1 failed")
    assert released_claim is not None and (released_claim.state, released_claim.retryable, released_claim.reason,
                                           released_claim.updated_at) == (
        RunState.FAILED, True, "run-1 failed", "2026-12-01T10:40:00.000Z")
    assert released(record("submitted"), "run-2", "2026-12-01T10:40:00.000Z", "x") is None
    assert released(record("failed"), "run-1", "2026-12-01T10:40:00.000Z", "x") is None


def test_a_turn_is_taken_at_its_time():
    after = turn_taken(record("waiting"), "2026-12-01T10:40:00.000Z", "a run ended")
    assert after is not None and after.updated_at == "2026-12-01T10:40:00.000Z"


def test_a_holder_that_names_no_claim_time_is_judged_as_just_written():
    holder = LedgerRecord.from_json({"state": "claimed"})
    assert not holder_needs_work(holder, NOW, claim_expiry=0.5, margin=0)


def test_an_update_that_leaves_no_outcome_is_a_bug_named_as_such():
    with pytest.raises(AssertionError, match=r"^a submitted record's update always leaves an outcome$"):
        just_ended(record("submitted"), record("submitted"))


PENDING = COMPLETED._replace(times_unknown="discovery failed for now", times_pending=True)


def test_pending_times_take_run_historys_answer_or_a_final_reason_and_nothing_else_changes():
    pending = record("submitted", run=PENDING.to_json())
    answered = times_settled(pending, "run-1", lambda current: current._replace(started_at="2026-12-01T10:04:00.000Z"))
    final = times_settled(pending, "run-1", lambda current: times_final(current, "a 404"))

    assert answered is not None and answered.outcome == COMPLETED._replace(started_at="2026-12-01T10:04:00.000Z")
    assert final is not None and final.outcome == COMPLETED._replace(times_unknown="a 404")
    assert times_given_up(PENDING, "2026-12-01T11:20:00.000Z") == COMPLETED._replace(
        times_unknown="discovery failed for now; run history was asked again until "
        "2026-12-01T11:20:00.000Z, in vain")


@pytest.mark.parametrize("settled", [
    record("submitted", run=COMPLETED.to_json()),  # its times came meanwhile (an event's GET)
    record("submitted", run=PENDING._replace(times_pending=False).to_json()),  # given up meanwhile
    record("submitted", run_id="run-2", run=PENDING.to_json()),  # another run's record now
    record("failed", retryable=True, run=PENDING.to_json()),  # reopened
    record("submitted"),
])
def test_a_record_no_longer_waiting_for_its_times_is_left_as_it_is(settled):
    assert times_settled(settled, "run-1", lambda current: times_final(current, "a 404")) is None
