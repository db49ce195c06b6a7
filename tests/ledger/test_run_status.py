"""The run-status vocabulary and its merge rule, without storage: every Azure ML word maps to one status, and
observations in any order, repeated or not, end in the same outcome."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from shared.core.ledger.run_status import (
    ACTIVE,
    MAX_STATUS_CHARS,
    TERMINAL,
    RunOutcome,
    RunStatus,
    is_azure_status,
    merged,
    moment,
    observed,
    run_status,
)
from tests.support.zones import local_zone  # noqa: F401  (a fixture: pytest finds it by name)


@pytest.mark.parametrize(("azure", "expected"), [
    # v1 run history RunStatus and v2 JobStatus
    ("NotStarted", "queued"), ("Queued", "queued"), ("Preparing", "queued"), ("Provisioning", "queued"),
    ("Starting", "queued"), ("Unapproved", "queued"), ("Running", "running"), ("Finalizing", "finalizing"),
    ("CancelRequested", "canceling"), ("NotResponding", "not_responding"), ("Pausing", "paused"),
    ("Paused", "paused"), ("Unknown", "unknown"), ("Completed", "completed"), ("Failed", "failed"),
    ("Canceled", "canceled"),
    # v1 pipeline StatusCode, names and the digits older answers carry
    ("Finished", "completed"), ("0", "queued"), ("1", "running"), ("2", "failed"), ("3", "completed"),
    ("4", "canceled"),
    # the event's runStatus, in whatever case it comes (the schema doc's sample says "failed")
    ("failed", "failed"), ("COMPLETED", "completed"), (" running ", "running"), ("notstarted", "queued"),
])
def test_every_word_azure_ml_uses_maps_to_one_status_whatever_its_case(azure, expected):
    assert run_status(azure).value == expected


def test_a_word_azure_ml_never_used_is_unknown_and_not_terminal():
    assert run_status("Exploded") is RunStatus.UNKNOWN
    assert not RunStatus.UNKNOWN.terminal


V1_RUN_STATUS = ("Queued", "NotStarted", "Preparing", "Provisioning", "Starting", "Running", "CancelRequested",
                 "Canceled", "Finalizing", "Completed", "Failed", "Unapproved", "NotResponding", "Pausing", "Paused")
"""azureml-core's ``RunStatus`` (``_restclient/constants.py``)."""
V2_JOB_STATUS = ("NotStarted", "Starting", "Provisioning", "Preparing", "Queued", "Running", "Finalizing",
                 "CancelRequested", "Completed", "Failed", "Canceled", "NotResponding", "Paused", "Unknown")
"""azure-ai-ml's ``JobStatus`` (``arm_ml_service/models/_enums.py``)."""


def test_every_documented_status_word_is_azure_mls_and_nothing_else_is():
    assert all(is_azure_status(word) for word in (*V1_RUN_STATUS, *V2_JOB_STATUS, "Finished", "failed", " Running "))
    assert not any(is_azure_status(word) for word in ("Exploded", "", "Completed" + " " * MAX_STATUS_CHARS,
                                                      "C" * 20_480))


def test_only_completed_failed_and_canceled_are_terminal_the_rest_count_as_active():
    assert {status.value for status in TERMINAL} == {"completed", "failed", "canceled"}
    assert {status.value for status in ACTIVE} == {"queued", "running", "finalizing", "canceling", "not_responding",
                                                    "paused", "unknown"}


QUEUED = observed("NotStarted", "2026-11-30T10:00:00Z")
RUNNING = observed("Running", "2026-11-30T10:00:05Z", started_at="2026-11-30T10:00:04Z")
FAILED = observed("Failed", "2026-11-30T10:03:00Z", ended_at="2026-11-30T10:02:59Z",
                  error={"code": "UserError", "message": "train.py exited with code 1"})


def test_a_failed_run_keeps_its_start_end_duration_and_error():
    outcome = merged(merged(QUEUED, RUNNING), FAILED)
    assert outcome.to_json() == {
        "status": "failed", "azure_status": "Failed", "observed_at": "2026-11-30T10:03:00Z",
        "started_at": "2026-11-30T10:00:04Z", "ended_at": "2026-11-30T10:02:59Z", "duration_seconds": 175.0,
        "error": {"code": "UserError", "message": "train.py exited with code 1"}}
    assert RunOutcome(RunStatus.RUNNING, "Running", "2026-11-30T10:03:00Z", error={}).to_json() == {
        "status": "running", "azure_status": "Running", "observed_at": "2026-11-30T10:03:00Z"}  # no empty error


def test_observations_in_every_order_and_repeated_converge_on_the_same_outcome():
    results = set()
    for order in itertools.permutations([QUEUED, RUNNING, FAILED, RUNNING, QUEUED]):
        outcome = None
        for observation in order:
            outcome = merged(outcome, observation)
        results.add(repr(outcome))
    assert len(results) == 1


def test_a_terminal_status_never_moves_back_even_when_a_later_event_says_running():
    late_running = observed("Running", "2026-11-30T11:00:00Z")  # observed after the failure, delivered late
    assert merged(FAILED, late_running).status is RunStatus.FAILED
    assert merged(late_running, FAILED).status is RunStatus.FAILED


def test_a_non_terminal_status_follows_the_later_observation_so_a_paused_run_can_resume():
    paused = observed("Paused", "2026-11-30T10:01:00Z")
    resumed = observed("Running", "2026-11-30T10:02:00Z")
    assert merged(paused, resumed).status is RunStatus.RUNNING
    assert merged(resumed, paused).status is RunStatus.RUNNING


def test_two_observations_of_the_same_moment_take_the_later_stage():
    finalizing = observed("Finalizing", "2026-11-30T10:00:05Z")
    assert merged(RUNNING, finalizing).status is RunStatus.FINALIZING
    assert merged(finalizing, RUNNING).status is RunStatus.FINALIZING


def test_the_earliest_start_is_kept_and_no_duration_is_made_up_without_an_end():
    later_start = observed("Running", "2026-11-30T10:00:09Z", started_at="2026-11-30T10:00:08Z")
    outcome = merged(later_start, RUNNING)
    assert (outcome.started_at, outcome.observed_at, outcome.duration_seconds) == (
        "2026-11-30T10:00:04Z", "2026-11-30T10:00:09Z", None)


def test_a_stored_outcome_round_trips_and_a_malformed_one_is_refused_clearly():
    outcome = merged(RUNNING, FAILED)
    assert RunOutcome.from_json(outcome.to_json()) == outcome
    with pytest.raises(ValueError, match="a record's run is not a run outcome"):
        RunOutcome.from_json({"status": "exploded", "azure_status": "x", "observed_at": "2026-11-30T10:00:00Z"})


def test_a_later_report_of_the_same_end_changes_nothing_so_a_repeat_costs_no_write():
    completed = observed("Completed", "2026-11-30T10:03:00Z", ended_at="2026-11-30T10:03:00Z")
    run_completed_later = observed("Completed", "2026-11-30T10:03:02Z", ended_at="2026-11-30T10:03:02Z")
    assert merged(completed, run_completed_later) == completed


def test_azure_mls_own_end_time_replaces_the_events_later_one():
    from_event = observed("Failed", "2026-11-30T10:03:00Z", ended_at="2026-11-30T10:03:00Z")
    from_service = observed("Failed", "2026-11-30T10:10:00Z", ended_at="2026-11-30T10:02:58.250Z",
                            error={"code": "UserError", "message": "exit 1"})
    outcome = merged(from_event, from_service)
    assert (outcome.observed_at, outcome.ended_at, outcome.error) == (
        "2026-11-30T10:03:00Z", "2026-11-30T10:02:58.250Z", {"code": "UserError", "message": "exit 1"})


PENDING = FAILED._replace(times_unknown="discovery failed for now", times_pending=True)
FINAL = FAILED._replace(times_unknown="a host outside the allowlist")


def test_times_that_may_come_later_are_stored_as_pending_and_read_back():
    document = PENDING.to_json()
    assert (document["times_unknown"], document["times_pending"]) == ("discovery failed for now", True)
    assert RunOutcome.from_json(document) == PENDING
    assert "times_pending" not in FINAL.to_json() and RunOutcome.from_json(FINAL.to_json()) == FINAL
    assert RunOutcome.from_json({**FINAL.to_json(), "times_pending": "yes"}).times_pending is False


@pytest.mark.parametrize(("first", "second", "why", "pending"), [
    (PENDING, FINAL, "a host outside the allowlist", False),  # a final reason beats one that may pass
    (FINAL, PENDING, "a host outside the allowlist", False),
    (PENDING, QUEUED, "discovery failed for now", True),  # a late observation keeps it pending
    (QUEUED, PENDING, "discovery failed for now", True),
    (PENDING, PENDING._replace(times_unknown="the GET failed for now"), "discovery failed for now", True),
    (PENDING, FAILED._replace(started_at="2026-11-30T10:00:04Z"), None, False),  # both times known at last
])
def test_times_stay_pending_until_known_or_a_reason_is_final_in_any_order(first, second, why, pending):
    outcome = merged(first, second)
    assert (outcome.times_unknown, outcome.times_pending) == (why, pending)


@pytest.mark.parametrize(("value", "written"), [
    ("2026-11-30T10:00:04.1234567Z", "2026-11-30T10:00:04.123Z"),
    (" 2026-11-30T11:00:04+01:00 ", "2026-11-30T10:00:04.000Z"),
    ("2026-11-30T10:00:04.12", "2026-11-30T10:00:04.120Z"),
    (datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "2026-01-01T00:00:00.000Z"),
    (datetime(2026, 1, 1), "2026-01-01T00:00:00.000Z"),
])
@pytest.mark.usefixtures("local_zone")  # a time without a zone is UTC, whatever the machine's zone
def test_a_time_as_azure_ml_writes_it_is_recorded_in_utc_to_the_millisecond(value, written):
    assert moment(value) == written


@pytest.mark.parametrize(("value", "message"), [
    ("yesterday", "'yesterday' is not an ISO 8601 time"),
    ("x" * 100, f"{'x' * 40!r} is not an ISO 8601 time"),
    (5, "a time is an ISO 8601 text, not int"),
])
def test_what_is_not_a_time_is_refused_showing_at_most_forty_characters(value, message):
    with pytest.raises(ValueError) as caught:
        moment(value)
    assert str(caught.value) == message


def test_azure_mls_words_are_read_with_spaces_and_underscores_as_they_come():
    assert [run_status(word) for word in ("Not Responding", "NOT_RESPONDING", " Cancel Requested ")] == [
        RunStatus.NOT_RESPONDING, RunStatus.NOT_RESPONDING, RunStatus.CANCELING]
    assert is_azure_status(" " * 23 + "Completed") and not is_azure_status(" " * 24 + "Completed")


def test_an_observation_keeps_azure_mls_own_word_its_times_and_no_empty_error():
    assert observed("Finished", "2026-11-30T10:03:00Z", started_at="2026-11-30T10:00:00Z",
                    ended_at="2026-11-30T10:02:00Z", error={}) == RunOutcome(
        RunStatus.COMPLETED, "Finished", "2026-11-30T10:03:00Z", "2026-11-30T10:00:00Z", "2026-11-30T10:02:00Z", None)


def test_the_earliest_start_is_the_earliest_moment_not_the_first_text():
    east = observed("Running", "2026-11-30T10:05:00Z", started_at="2026-11-30T10:00:00+01:00")
    utc = observed("Running", "2026-11-30T10:04:00Z", started_at="2026-11-30T09:30:00Z")
    assert merged(east, utc).started_at == "2026-11-30T10:00:00+01:00"
