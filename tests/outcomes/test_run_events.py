"""Azure ML's run events onto the records, delivered as the host hands them to the worker: in order, repeated, out
of order, concurrent, for runs the app did not start, malformed, in both schemas; and what they cost in storage."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from localdev.host import deliver_event
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.core.ledger.keys import DAY_TAG, STATE_TAG, UPDATED_TAG, arrival_tags, rule_namespace
from shared.core.outcomes.run_events import MalformedEventError, implausible_time, parse_run_event
from shared.flows.outcomes.run_outcomes import RecordNotSettledError
from tests.support.decisions import outcome_lines
from tests.support.harness import deliver_blob, ledger_record, run_together, service_client, upload
from tests.support.samples import SAMPLE_CSV
from tests.support.storage import storage_netloc

SCHEMAS = ("eventgrid", "cloudevents")


@pytest.fixture
def at():
    """Event times in the run's own minutes: ``at(s)`` is ``s`` seconds after a minute before the test began (an
    event's time may precede the run's submission by the clocks' skew), as Event Grid writes it; ``stored=True``, as
    the record stores it."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    def moment(seconds: float, *, stored: bool = False) -> str:
        return (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds" if stored else "seconds") \
            .replace("+00:00", "Z")
    return moment


def _submitted(app_env, aml) -> tuple[str, str]:
    """One CSV's run, started the way the host starts it: its run id and the blob's ETag."""
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    [run] = aml.accepted
    return run.run_id, etag


def _record(app_env, etag: str) -> dict:
    return ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)


def _arrival(record: dict) -> dict[str, str]:
    """The tags a freshness check counts the record's file by (its owner among them): it arrived by its Last-Modified
    (one-second precision in storage, so before its first claim)."""
    assert record["subject"]["last_modified"] <= record["first_claimed_at"]
    return arrival_tags("rules/default", record["subject"]["blob"], record["subject"]["last_modified"])


def _tags(app_env, record: dict) -> dict[str, str]:
    """The record blob's index tags, as storage holds them."""
    container = service_client().get_container_client(app_env["LEDGER_CONTAINER"])
    return container.get_blob_client(f"rules/default/{record['key']}.json").get_blob_tags()


def _own_tags(app_env, record: dict, outcome: str) -> dict[str, str]:
    """The record's tags less the run index's (its run's outcome, its first claim's day, its last write's time),
    checked apart."""
    tags = _tags(app_env, record)
    index = {name: tags.pop(name) for name in (STATE_TAG, DAY_TAG, UPDATED_TAG)}
    assert (index[STATE_TAG], index[DAY_TAG]) == (outcome, record["first_claimed_at"][:10])
    return tags


def _open(app_env, record: dict) -> bool:
    return _tags(app_env, record).get("aml_open") == "1"


def _event(aml, run_id: str, status: str | None, at: str, schema: str = "eventgrid", **kwargs) -> dict:
    """The event the workspace's system topic sends when the run is in ``status``, stamped ``at``."""
    if status is not None:
        aml.set_status(run_id, status)
    event = aml.run_event(run_id, schema=schema, **kwargs)
    event["time" if schema == "cloudevents" else "eventTime"] = at
    return event


@pytest.mark.parametrize("schema", SCHEMAS)
def test_events_in_order_bring_the_record_to_completed_with_one_decision_line(at, app_env, aml, caplog, schema):
    run_id, etag = _submitted(app_env, aml)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    assert _open(app_env, _record(app_env, etag))

    for status, when in (("NotStarted", at(0)[:-1] + ".1234567Z"), ("Running", at(4)), ("Finalizing", at(178))):
        deliver_event(_event(aml, run_id, status, when, schema))
        assert _open(app_env, _record(app_env, etag)), f"still open after {status}"
    deliver_event(_event(aml, run_id, "Completed", at(180), schema, event_type="RunCompleted"))

    record = _record(app_env, etag)
    assert (record["state"], record["run_id"]) == ("submitted", run_id)
    assert record["run"] == {"status": "completed", "azure_status": "Completed",
                             "observed_at": at(180, stored=True), "started_at": at(4, stored=True),
                             "ended_at": at(180, stored=True), "duration_seconds": 176.0}
    [line] = outcome_lines(caplog)
    assert line == {"outcome": "run_completed", "rule": "default", "key": record["key"], "run_id": run_id,
                    "run_url": record["run_url"], "run_status": "completed", "duration_seconds": 176.0,
                    "event_id": line["event_id"]}
    assert _own_tags(app_env, record, "completed") == _arrival(record)  # the open tags dropped, the file's arrival kept


def test_a_failed_run_records_azure_mls_error_masked_and_logs_run_failed(at, app_env, aml, caplog):
    run_id, etag = _submitted(app_env, aml)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    aml.set_status(run_id, "Failed", {"code": "UserError", "message": "cannot read https://acct.blob.core.windows."
                                      "net/data/x.csv?sv=2024&sig=s3cr3tSIGNATURE: 403"})

    deliver_event(_event(aml, run_id, None, at(180)))

    record = _record(app_env, etag)
    assert record["run"]["status"] == "failed"
    assert record["run"]["error"]["code"] == "UserError"
    assert "s3cr3tSIGNATURE" not in str(record) and "s3cr3tSIGNATURE" not in caplog.text
    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["run_status"], line["error_code"]) == ("run_failed", "failed", "UserError")
    assert line["reason"].startswith("cannot read https://acct.blob.core.windows.net/data/x.csv")
    [asked] = [request for request in aml.received if request.path.endswith(f"/runs/{run_id}")]
    assert asked.path.startswith("/history/v1.0/subscriptions/00000000-0000-0000-0000-000000000001/")
    assert asked.audience == "https://management.azure.com"


def test_a_repeated_terminal_event_changes_nothing_and_costs_one_storage_read(at, app_env, aml, caplog, azurite):
    run_id, etag = _submitted(app_env, aml)
    event = _event(aml, run_id, "Completed", at(180))
    deliver_event(event)
    before = _record(app_env, etag)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    with counting_requests() as requests:
        deliver_event(event)

    assert _record(app_env, etag) == before
    assert outcome_lines(caplog) == []
    assert requests[storage_netloc(azurite)] == 1


def test_a_status_change_and_the_event_that_ends_the_run_each_cost_two_storage_requests(at, app_env, aml, azurite):
    run_id, _ = _submitted(app_env, aml)
    with counting_requests() as running:
        deliver_event(_event(aml, run_id, "Running", at(4)))
    with counting_requests() as ended:
        deliver_event(_event(aml, run_id, "Completed", at(180)))
    assert (running[storage_netloc(azurite)], ended[storage_netloc(azurite)]) == (2, 2)
    assert (running[f"GET {storage_netloc(azurite)}"], ended[f"PUT {storage_netloc(azurite)}"]) == (1, 1)


def test_events_out_of_order_never_move_a_terminal_status_back(at, app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    late_running = _event(aml, run_id, "Running", at(4))
    late_queued = _event(aml, run_id, "NotStarted", at(0))
    deliver_event(_event(aml, run_id, "Canceled", at(60)))

    deliver_event(late_running)
    deliver_event(late_queued)

    run = _record(app_env, etag)["run"]
    assert (run["status"], run["started_at"], run["ended_at"]) == (
        "canceled", at(4, stored=True), at(60, stored=True))


def test_eight_concurrent_events_for_one_run_lose_no_update(at, app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    events = [_event(aml, run_id, "Running", at(second)) for second in range(1, 8)]
    events.append(_event(aml, run_id, "Completed", at(300)))

    results = run_together(*[lambda event=event: deliver_event(event) for event in events])

    assert results == [None] * 8
    run = _record(app_env, etag)["run"]
    lost = [event for event in events if event["eventTime"] < run["started_at"].replace(".000Z", "Z")]
    assert (run["status"], run["started_at"], run["ended_at"], lost) == (
        "completed", at(1, stored=True), at(300, stored=True), [])


@pytest.mark.parametrize("schema", SCHEMAS)
def test_an_event_for_a_run_the_app_did_not_start_is_ignored_with_its_reason_and_reads_nothing(
        at, app_env, aml, caplog, azurite, schema):
    run_id, etag = _submitted(app_env, aml)
    event = _event(aml, run_id, "Completed", at(180), schema)
    event["data"]["runTags"] = {"azureml.pipelineid": "p-1"}  # a run someone started by hand
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    with counting_requests() as requests:
        deliver_event(event)

    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["reason"]) == (
        "ignored", "the run carries no triggered_by tag of this app: not started by it")
    assert requests[storage_netloc(azurite)] == 0 and "run" not in _record(app_env, etag)


def test_an_event_from_another_workspace_is_ignored_even_with_the_apps_tags(at, app_env, aml, caplog):
    run_id, etag = _submitted(app_env, aml)
    other = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/" \
            "Microsoft.MachineLearningServices/workspaces/someone-elses"
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    deliver_event(_event(aml, run_id, "Completed", at(180), workspace=other))

    [line] = outcome_lines(caplog)
    assert line["reason"] == f"the event comes from {other}, not the workspace default runs in"
    assert "run" not in _record(app_env, etag)


@pytest.mark.parametrize(("schema", "spoil", "refusal", "message"), [
    ("eventgrid", lambda event: event["data"].pop("runId"), MalformedEventError, "names no runId"),
    ("cloudevents", lambda event: event["data"].pop("runStatus"), MalformedEventError, "has no runStatus"),
    ("eventgrid", lambda event: event.update(data="not an object"), MalformedEventError, "has no data object"),
    ("eventgrid", lambda event: event.pop("eventTime"), MalformedEventError, "the event's time: a time is"),
    # the worker's own decoding refuses a time it cannot read, before the function is called
    ("cloudevents", lambda event: event.update(time="yesterday"), ValueError, "time data 'yesterday'"),
])
def test_a_malformed_event_is_refused_clearly_and_the_record_is_untouched(at, app_env, aml, schema, spoil, refusal,
                                                                          message):
    run_id, etag = _submitted(app_env, aml)
    before = _record(app_env, etag)
    event = _event(aml, run_id, "Completed", at(180), schema)
    spoil(event)

    with pytest.raises(refusal, match=re.escape(message)):
        deliver_event(event)

    assert _record(app_env, etag) == before


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_20_kb_status_word_is_not_taken_and_the_log_quotes_it_cut_never_the_record(at, app_env, aml, caplog,
                                                                                      schema):
    run_id, etag = _submitted(app_env, aml)
    deliver_event(_event(aml, run_id, "Running", at(4), schema))
    before = _record(app_env, etag)
    event = _event(aml, run_id, None, at(60), schema)
    event["data"]["runStatus"] = "Completed" + "x" * 20_471
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    deliver_event(event)

    assert _record(app_env, etag) == before and before["run"]["status"] == "running"
    [line] = outcome_lines(caplog)
    assert line == {"outcome": "ignored", "event_id": event["id"], "reason": (
        "runStatus 'Completedxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (20,480 characters) is not a status Azure ML uses: "
        "the event is not taken (the fallback asks Azure ML)")}


@pytest.mark.parametrize("schema", SCHEMAS)
def test_an_event_dated_before_its_runs_submission_or_in_the_future_is_not_taken_and_a_valid_one_ends_the_run(
        at, app_env, aml, caplog, schema):
    run_id, etag = _submitted(app_env, aml)
    submitted = _record(app_env, etag)["first_claimed_at"]
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    deliver_event(_event(aml, run_id, "Running", "1970-01-01T00:00:00Z", schema))
    deliver_event(_event(aml, run_id, "Completed", "2999-01-01T00:00:00Z", schema))

    assert "run" not in _record(app_env, etag)
    early, late = [line["reason"] for line in outcome_lines(caplog)]
    assert early == (f"the event's time 1970-01-01T00:00:00.000Z is earlier than its run's submission ({submitted}) "
                     f"by more than 5 minutes: the event is not taken (the fallback asks Azure ML)")
    assert re.fullmatch(r"the event's time 2999-01-01T00:00:00\.000Z is later than now \(\S+Z\) by more than "
                        r"5 minutes: the event is not taken \(the fallback asks Azure ML\)", late)
    deliver_event(_event(aml, run_id, "Completed", at(180), schema))
    assert _record(app_env, etag)["run"] == {"status": "completed", "azure_status": "Completed",
                                             "observed_at": at(180, stored=True), "ended_at": at(180, stored=True)}


@pytest.mark.parametrize(("event_time", "plausible"), [
    ("2026-12-01T09:55:00Z", True), ("2026-12-01T09:54:59.999Z", False),  # the run was submitted at 10:00
    ("2026-12-01T11:05:00Z", True), ("2026-12-01T11:05:00.001Z", False),  # and it is 11:00 now
])
def test_an_event_time_may_fall_outside_its_runs_life_by_the_clock_skew_and_no_more(event_time, plausible):
    now = datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert (implausible_time(event_time, "2026-12-01T10:00:00.000Z", now) is None) is plausible


def test_an_event_that_arrives_before_the_record_is_settled_is_refused_for_a_later_retry(app_env, aml):
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    events = []
    aml.on_accept = lambda: events.append(aml.run_event(aml.accepted[-1].run_id))  # the event races the settle
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    aml.set_status(aml.accepted[0].run_id, "Running")
    record_while_claimed = {**_record(app_env, etag)}

    [early] = events
    deliver_event(early)  # settled by now: the retry Event Grid makes lands

    assert record_while_claimed["state"] == "submitted"
    assert _record(app_env, etag)["run"]["status"] == "queued"


def test_an_event_for_a_record_still_claimed_raises_so_event_grid_retries_it(app_env, aml, monkeypatch):
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    events: list[dict] = []

    def deliver_while_claimed() -> None:
        with pytest.raises(RecordNotSettledError, match="is still claimed"):
            deliver_event(aml.run_event(aml.accepted[-1].run_id))
        events.append({})

    aml.on_accept = deliver_while_claimed
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    assert events == [{}] and _record(app_env, etag)["state"] == "submitted"


def test_whether_a_rule_has_a_run_in_flight_is_one_storage_request_whatever_its_records(at, app_env, aml, azurite):
    run_id, _ = _submitted(app_env, aml)
    ledger = process_services().ledger
    upload(app_env["WATCH_CONTAINER"], "other.csv", SAMPLE_CSV)  # a second record, and a second run in flight
    deliver_blob(app_env["WATCH_CONTAINER"], "other.csv")

    with counting_requests() as requests:
        in_flight = ledger.active_runs(rule_namespace("default"))
    deliver_event(_event(aml, run_id, "Completed", at(180)))
    deliver_event(_event(aml, aml.accepted[1].run_id, "Failed", at(180)))

    assert (len(in_flight), requests[storage_netloc(azurite)]) == (2, 1)
    assert ledger.active_runs(rule_namespace("default")) == []
    assert ledger.active_runs() == []


def test_a_submitted_runs_record_is_tagged_open_with_its_owner_run_and_since_and_no_marker_blob(app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    record = _record(app_env, etag)
    container = service_client().get_container_client(app_env["LEDGER_CONTAINER"])

    tags = _own_tags(app_env, record, "running")

    assert tags == {"aml_open": "1", "aml_owner": "rules/default", "aml_run": run_id,
                    "aml_since": record["claimed_at"], **_arrival(record)}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tags["aml_since"])
    assert [blob.name for blob in container.list_blobs()] == [f"rules/default/{record['key']}.json"]
    [found] = container.find_blobs_by_tags("\"aml_open\"='1'")
    assert found.name == f"rules/default/{record['key']}.json"


def test_a_tag_value_nested_too_deep_to_print_is_no_label_and_never_crashes_the_event():
    deep: object = "x"
    for _ in range(20_000):  # str() of this raises RecursionError: the event must still be read
        deep = [deep]
    envelope = {"id": "e1", "eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
                "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
                "eventTime": "2026-12-07T00:00:00Z",
                "data": {"runId": "r1", "runStatus": "Running", "runTags": {"aml_trigger_rule": "default", "x": deep}}}

    event = parse_run_event(envelope)

    assert not isinstance(event, str) and event.labels == {"aml_trigger_rule": "default"}


@pytest.mark.parametrize("event_id", [[[["deep"]]], "e" * 20_000])
def test_an_events_id_of_another_shape_or_length_is_named_cut_in_the_refusal(event_id):
    envelope = {"id": event_id, "eventType": "Microsoft.MachineLearningServices.RunStatusChanged", "data": {}}

    with pytest.raises(MalformedEventError) as refused:
        parse_run_event(envelope)

    assert str(refused.value) in (
        "Microsoft.MachineLearningServices.RunStatusChanged event '<list>' names no runId",
        f"Microsoft.MachineLearningServices.RunStatusChanged event {'e' * 128!r} names no runId")
