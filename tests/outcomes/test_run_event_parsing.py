"""A run event read in process (shared/core/outcomes/run_events.py): both schemas to one value, each refusal's exact
words, the labels that lead to a record, and what a log may quote of outside text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.core.ledger.run_status import RunOutcome, RunStatus
from shared.core.outcomes.run_events import (
    RUN_COMPLETED,
    RUN_STATUS_CHANGED,
    MalformedEventError,
    RecordRef,
    RunEvent,
    event_id,
    event_moment,
    implausible_time,
    parse_run_event,
    record_for,
    shown,
)

pytestmark = pytest.mark.unit

WORKSPACE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"
KEY = "a" * 64
SECRET = "sig=c2VjcmV0c2VjcmV0c2VjcmV0"


def _grid(data: Any, event_type: str = RUN_STATUS_CHANGED, **envelope: Any) -> dict[str, Any]:
    return {"id": "e1", "eventType": event_type, "topic": WORKSPACE, "eventTime": "2026-12-01T10:00:00Z",
            "data": data, **envelope}


def _cloud(data: Any, event_type: str = RUN_STATUS_CHANGED, **envelope: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "e1", "type": event_type, "source": WORKSPACE,
            "time": "2026-12-01T10:00:00Z", "data": data, **envelope}


def _event(status: str) -> RunEvent:
    return RunEvent("e1", RUN_STATUS_CHANGED, WORKSPACE, "2026-12-01T10:00:00.000Z", "r1", status, {})


def test_both_schemas_read_to_the_same_event():
    data = {"runId": "r1", "runStatus": "Running", "runTags": {"trigger_rule": "nightly"}}
    expected = RunEvent("e1", RUN_STATUS_CHANGED, WORKSPACE, "2026-12-01T10:00:00.000Z", "r1", "Running",
                        {"trigger_rule": "nightly"})
    assert parse_run_event(_grid(data)) == parse_run_event(_cloud(data)) == expected


def test_a_cloud_event_is_read_by_its_own_envelope_names_not_event_grids():
    cloud = _cloud({"runId": "r1", "runStatus": "Running"}, eventType="other", topic="elsewhere",
                   eventTime="not a time")
    event = parse_run_event(cloud)
    assert not isinstance(event, str) and (event.workspace, event.time) == (WORKSPACE, "2026-12-01T10:00:00.000Z")
    grid = _grid({"runId": "r1", "runStatus": "Running"}, type="other", source="elsewhere", time="not a time")
    event = parse_run_event(grid)
    assert not isinstance(event, str) and (event.workspace, event.time) == (WORKSPACE, "2026-12-01T10:00:00.000Z")


def test_an_event_without_its_workspace_names_none():
    event = parse_run_event(_grid({"runId": "r1", "runStatus": "Running"}, topic=None))
    assert not isinstance(event, str) and event.workspace == ""


def test_run_completed_carries_no_status_and_means_completed():
    event = parse_run_event(_grid({"runId": "r1", "runStatus": "Failed"}, RUN_COMPLETED))
    assert not isinstance(event, str) and (event.type, event.azure_status) == (RUN_COMPLETED, "Completed")


@pytest.mark.parametrize("event_type", ["Microsoft.Storage.BlobCreated", None])
def test_another_event_type_is_no_run_event_and_says_which(event_type):
    assert parse_run_event(_grid({}, event_type)) == f"event type {str(event_type)!r} is not a run event"


def test_another_event_types_name_is_cut_to_a_hundred_characters():
    assert parse_run_event(_grid({}, "T" * 150)) == f"event type {'T' * 100!r} is not a run event"


@pytest.mark.parametrize(("envelope", "message"), [
    (_grid(["r1"]), f"{RUN_STATUS_CHANGED} event 'e1' has no data object"),
    (_grid({"runStatus": "Running"}), f"{RUN_STATUS_CHANGED} event 'e1' names no runId"),
    (_grid({"runId": "", "runStatus": "Running"}), f"{RUN_STATUS_CHANGED} event 'e1' names no runId"),
    (_grid({"runId": 7, "runStatus": "Running"}), f"{RUN_STATUS_CHANGED} event 'e1' names no runId"),
    (_grid({"runId": "r1"}), "RunStatusChanged event 'e1' for run r1 has no runStatus"),
    (_grid({"runId": "r1", "runStatus": "  "}), "RunStatusChanged event 'e1' for run r1 has no runStatus"),
    (_grid({"runId": "r1", "runStatus": 3}), "RunStatusChanged event 'e1' for run r1 has no runStatus"),
    (_grid({"runId": "r1", "runStatus": "Running"}, eventTime=None),
     "the event's time: a time is an ISO 8601 text, not NoneType"),
    (_grid({"runId": "r1", "runStatus": "Running"}, eventTime="yesterday"),
     "the event's time: 'yesterday' is not an ISO 8601 time"),
])
def test_an_event_that_cannot_be_read_is_refused_saying_what_is_wrong(envelope, message):
    with pytest.raises(MalformedEventError) as refused:
        parse_run_event(envelope)
    assert str(refused.value) == message


@pytest.mark.parametrize("envelope", [["e1"], "e1"])
def test_an_event_that_is_no_json_object_is_refused_naming_its_type(envelope):
    with pytest.raises(MalformedEventError) as refused:
        parse_run_event(envelope)
    assert str(refused.value) == f"an event is a JSON object, not {type(envelope).__name__}"


def test_a_refusal_masks_a_secret_the_event_quotes():
    with pytest.raises(MalformedEventError) as refused:
        parse_run_event(_grid({"runId": f"r1?{SECRET}"}))
    assert SECRET not in str(refused.value) and str(refused.value).startswith("RunStatusChanged event 'e1' for run")


def test_a_status_azure_ml_never_uses_is_not_taken_and_is_quoted_cut():
    assert parse_run_event(_grid({"runId": "r1", "runStatus": "Exploded"})) == (
        "runStatus 'Exploded' is not a status Azure ML uses: the event is not taken (the fallback asks Azure ML)")


def test_labels_are_tags_and_properties_in_any_case_tags_winning_and_only_strings():
    data = {"runId": "r1", "runStatus": "Running", "RunProperties": {"a": "property", "b": "property", "n": 1},
            "RUNTAGS": {"b": "tag", "c": {"nested": "x"}}}
    event = parse_run_event(_grid(data))
    assert not isinstance(event, str) and event.labels == {"a": "property", "b": "tag"}


def test_labels_of_another_shape_are_none():
    event = parse_run_event(_grid({"runId": "r1", "runStatus": "Running", "runTags": ["trigger_rule"]}))
    assert not isinstance(event, str) and event.labels == {}


@pytest.mark.parametrize(("status", "started_at", "ended_at"), [
    ("Running", "2026-12-01T10:00:00.000Z", None),
    ("Failed", None, "2026-12-01T10:00:00.000Z"),
    ("Queued", None, None),
])
def test_an_events_time_stands_for_a_running_runs_start_and_an_ended_runs_end(status, started_at, ended_at):
    assert _event(status).observation() == RunOutcome(RunStatus(status.lower()), status, "2026-12-01T10:00:00.000Z",
                                                      started_at, ended_at)


@pytest.mark.parametrize(("text", "quoted"), [
    ("x" * 40, repr("x" * 40)),
    ("x" * 1041, f"{'x' * 40!r}... (1,041 characters)"),
])
def test_outside_text_is_quoted_whole_up_to_forty_characters_and_cut_past_them(text, quoted):
    assert shown(text) == quoted


def test_quoted_outside_text_is_masked():
    assert SECRET not in shown(SECRET)


def test_an_implausible_time_says_which_bound_it_passed():
    now = datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert implausible_time("2026-12-01T11:06:00Z", None, now) == (
        "the event's time 2026-12-01T11:06:00Z is later than now (2026-12-01T11:00:00.000Z) by more than 5 minutes")
    assert implausible_time("2026-12-01T09:00:00Z", "2026-12-01T10:00:00.000Z", now) == (
        "the event's time 2026-12-01T09:00:00Z is earlier than its run's submission (2026-12-01T10:00:00.000Z) by "
        "more than 5 minutes")
    assert implausible_time("2020-01-01T00:00:00Z", None, now) is None


def test_an_events_time_is_written_as_records_write_it():
    assert event_moment("2026-12-01T10:00:04.1234567Z") == "2026-12-01T10:00:04.123Z"


@pytest.mark.parametrize(("value", "named"), [
    ("e" * 129, "e" * 128), (None, "<NoneType>"), ({"id": 1}, "<dict>"),
])
def test_an_events_id_is_cut_or_named_by_its_type(value, named):
    assert event_id({"id": value}) == named


def test_an_events_id_is_masked():
    assert SECRET not in event_id({"id": f"e1?{SECRET}"})


def _labels(**labels: str) -> dict[str, str]:
    return {"triggered_by": "aml-pipeline-trigger", "trigger_key": KEY, **labels}


@pytest.mark.parametrize(("labels", "ref"), [
    (_labels(trigger_rule="nightly"), RecordRef("rules/nightly", KEY, rule="nightly")),
    (_labels(trigger_rule="nightly", trigger_manual="1"), RecordRef("manual/nightly", KEY, rule="nightly")),
    (_labels(trigger_schedule="daily", trigger_rule="nightly"), RecordRef("schedules/daily", KEY, schedule="daily")),
    (_labels(trigger_rule="n" * 63), RecordRef(f"rules/{'n' * 63}", KEY, rule="n" * 63)),
    ({**_labels(trigger_rule="q"), "trigger_key": f"quiet-{KEY}"}, RecordRef("rules/q", f"quiet-{KEY}", rule="q")),
])
def test_a_runs_labels_lead_to_its_record(labels, ref):
    assert record_for(labels) == ref


@pytest.mark.parametrize(("labels", "reason"), [
    ({"trigger_key": KEY, "trigger_rule": "nightly"},
     "the run carries no triggered_by tag of this app: not started by it"),
    (_labels(trigger_rule="nightly", triggered_by="someone-else"),
     "the run carries no triggered_by tag of this app: not started by it"),
    ({"triggered_by": "aml-pipeline-trigger", "trigger_rule": "nightly"},
     "the run's trigger_key tag is not a key this app writes"),
    (_labels(trigger_rule="nightly", trigger_key=KEY[:-1]), "the run's trigger_key tag is not a key this app writes"),
    (_labels(), "the run names no rule or schedule this app could have"),
    (_labels(trigger_rule="n" * 64), "the run names no rule or schedule this app could have"),
    (_labels(trigger_rule="-nightly"), "the run names no rule or schedule this app could have"),
    (_labels(trigger_rule="night/ly"), "the run names no rule or schedule this app could have"),
])
def test_a_run_the_app_did_not_start_says_why(labels, reason):
    assert record_for(labels) == reason


@pytest.mark.parametrize(("event_time", "plausible"), [
    ("2026-12-01T09:55:00Z", True), ("2026-12-01T09:54:59.999Z", False),  # the run was submitted at 10:00
    ("2026-12-01T11:05:00Z", True), ("2026-12-01T11:05:00.001Z", False),  # and it is 11:00 now
    ("2026-12-01T10:30:00Z", True),
])
def test_an_event_time_may_fall_outside_its_runs_life_by_the_clock_skew_and_no_more(event_time, plausible):
    now = datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert (implausible_time(event_time, "2026-12-01T10:00:00.000Z", now) is None) is plausible
