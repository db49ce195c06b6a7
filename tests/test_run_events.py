"""Azure ML's run events onto the records, delivered as the host hands them to the worker: in order, repeated, out
of order, concurrent, for runs the app did not start, malformed, in both schemas; and what they cost in storage."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest

from localdev.host import deliver_event
from localdev.http_counter import counting_requests
from shared.clients.services import process_services
from shared.flows.run_outcomes import RecordNotSettledError
from shared.rules.keys import rule_namespace
from shared.rules.run_events import MalformedEventError
from tests.support.decisions import outcome_lines
from tests.support.harness import deliver_blob, ledger_record, run_together, service_client, upload
from tests.support.samples import SAMPLE_CSV

SCHEMAS = ("eventgrid", "cloudevents")


def _submitted(app_env, aml) -> tuple[str, str]:
    """One CSV's run, started the way the host starts it: its run id and the blob's ETag."""
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    [run] = aml.accepted
    return run.run_id, etag


def _record(app_env, etag: str) -> dict:
    return ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)


def _tags(app_env, record: dict) -> dict[str, str]:
    """The record blob's index tags, as storage holds them."""
    container = service_client().get_container_client(app_env["LEDGER_CONTAINER"])
    return container.get_blob_client(f"rules/default/{record['key']}.json").get_blob_tags()


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
def test_events_in_order_bring_the_record_to_completed_with_one_decision_line(app_env, aml, caplog, schema):
    run_id, etag = _submitted(app_env, aml)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    assert _open(app_env, _record(app_env, etag))

    for status, at in (("NotStarted", "2026-11-30T10:00:00.1234567Z"), ("Running", "2026-11-30T10:00:04Z"),
                       ("Finalizing", "2026-11-30T10:02:58Z")):
        deliver_event(_event(aml, run_id, status, at, schema))
        assert _open(app_env, _record(app_env, etag)), f"still open after {status}"
    deliver_event(_event(aml, run_id, "Completed", "2026-11-30T10:03:00Z", schema, event_type="RunCompleted"))

    record = _record(app_env, etag)
    assert (record["state"], record["run_id"]) == ("submitted", run_id)
    assert record["run"] == {"status": "completed", "azure_status": "Completed",
                             "observed_at": "2026-11-30T10:03:00.000Z", "started_at": "2026-11-30T10:00:04.000Z",
                             "ended_at": "2026-11-30T10:03:00.000Z", "duration_seconds": 176.0}
    [line] = outcome_lines(caplog)
    assert line == {"outcome": "run_completed", "rule": "default", "key": record["key"], "run_id": run_id,
                    "run_url": record["run_url"], "run_status": "completed", "duration_seconds": 176.0,
                    "event_id": line["event_id"]}
    assert _tags(app_env, record) == {"aml_owner": "rules/default"}


def test_a_failed_run_records_azure_mls_error_masked_and_logs_run_failed(app_env, aml, caplog):
    run_id, etag = _submitted(app_env, aml)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    aml.set_status(run_id, "Failed", {"code": "UserError", "message": "cannot read https://acct.blob.core.windows."
                                      "net/data/x.csv?sv=2024&sig=s3cr3tSIGNATURE: 403"})

    deliver_event(_event(aml, run_id, None, "2026-11-30T10:03:00Z"))

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


def test_a_repeated_terminal_event_changes_nothing_and_costs_one_storage_read(app_env, aml, caplog, azurite):
    run_id, etag = _submitted(app_env, aml)
    event = _event(aml, run_id, "Completed", "2026-11-30T10:03:00Z")
    deliver_event(event)
    before = _record(app_env, etag)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    with counting_requests() as requests:
        deliver_event(event)

    assert _record(app_env, etag) == before
    assert outcome_lines(caplog) == []
    assert requests[_storage(azurite)] == 1


def test_a_status_change_and_the_event_that_ends_the_run_each_cost_two_storage_requests(app_env, aml, azurite):
    run_id, _ = _submitted(app_env, aml)
    with counting_requests() as running:
        deliver_event(_event(aml, run_id, "Running", "2026-11-30T10:00:04Z"))
    with counting_requests() as ended:
        deliver_event(_event(aml, run_id, "Completed", "2026-11-30T10:03:00Z"))
    assert (running[_storage(azurite)], ended[_storage(azurite)]) == (2, 2)
    assert (running[f"GET {_storage(azurite)}"], ended[f"PUT {_storage(azurite)}"]) == (1, 1)


def test_events_out_of_order_never_move_a_terminal_status_back(app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    late_running = _event(aml, run_id, "Running", "2026-11-30T10:00:04Z")
    late_queued = _event(aml, run_id, "NotStarted", "2026-11-30T10:00:00Z")
    deliver_event(_event(aml, run_id, "Canceled", "2026-11-30T10:01:00Z"))

    deliver_event(late_running)
    deliver_event(late_queued)

    run = _record(app_env, etag)["run"]
    assert (run["status"], run["started_at"], run["ended_at"]) == (
        "canceled", "2026-11-30T10:00:04.000Z", "2026-11-30T10:01:00.000Z")


def test_eight_concurrent_events_for_one_run_lose_no_update(app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    events = [_event(aml, run_id, "Running", f"2026-11-30T10:00:0{second}Z") for second in range(1, 8)]
    events.append(_event(aml, run_id, "Completed", "2026-11-30T10:05:00Z"))

    results = run_together(*[lambda event=event: deliver_event(event) for event in events])

    assert results == [None] * 8
    run = _record(app_env, etag)["run"]
    lost = [event for event in events if event["eventTime"] < run["started_at"].replace(".000Z", "Z")]
    assert (run["status"], run["started_at"], run["ended_at"], lost) == (
        "completed", "2026-11-30T10:00:01.000Z", "2026-11-30T10:05:00.000Z", [])


@pytest.mark.parametrize("schema", SCHEMAS)
def test_an_event_for_a_run_the_app_did_not_start_is_ignored_with_its_reason_and_reads_nothing(
        app_env, aml, caplog, azurite, schema):
    run_id, etag = _submitted(app_env, aml)
    event = _event(aml, run_id, "Completed", "2026-11-30T10:03:00Z", schema)
    event["data"]["runTags"] = {"azureml.pipelineid": "p-1"}  # a run someone started by hand
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    with counting_requests() as requests:
        deliver_event(event)

    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["reason"]) == (
        "ignored", "the run carries no triggered_by tag of this app: not started by it")
    assert requests[_storage(azurite)] == 0 and "run" not in _record(app_env, etag)


def test_an_event_from_another_workspace_is_ignored_even_with_the_apps_tags(app_env, aml, caplog):
    run_id, etag = _submitted(app_env, aml)
    other = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/" \
            "Microsoft.MachineLearningServices/workspaces/someone-elses"
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()

    deliver_event(_event(aml, run_id, "Completed", "2026-11-30T10:03:00Z", workspace=other))

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
def test_a_malformed_event_is_refused_clearly_and_the_record_is_untouched(app_env, aml, schema, spoil, refusal,
                                                                          message):
    run_id, etag = _submitted(app_env, aml)
    before = _record(app_env, etag)
    event = _event(aml, run_id, "Completed", "2026-11-30T10:03:00Z", schema)
    spoil(event)

    with pytest.raises(refusal, match=re.escape(message)):
        deliver_event(event)

    assert _record(app_env, etag) == before


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


def _storage(azurite) -> str:
    endpoint = re.search(r"BlobEndpoint=([^;]+)", azurite.connection_string)[1]
    return urlsplit(endpoint).netloc


def test_whether_a_rule_has_a_run_in_flight_is_one_storage_request_whatever_its_records(app_env, aml, azurite):
    run_id, _ = _submitted(app_env, aml)
    ledger = process_services().ledger
    upload(app_env["WATCH_CONTAINER"], "other.csv", SAMPLE_CSV)  # a second record, and a second run in flight
    deliver_blob(app_env["WATCH_CONTAINER"], "other.csv")

    with counting_requests() as requests:
        in_flight = ledger.active_runs(rule_namespace("default"))
    deliver_event(_event(aml, run_id, "Completed", "2026-11-30T10:03:00Z"))
    deliver_event(_event(aml, aml.accepted[1].run_id, "Failed", "2026-11-30T10:03:00Z"))

    assert (len(in_flight), requests[_storage(azurite)]) == (2, 1)
    assert ledger.active_runs(rule_namespace("default")) == []
    assert ledger.active_runs() == []


def test_a_submitted_runs_record_is_tagged_open_with_its_owner_run_and_since_and_no_marker_blob(app_env, aml):
    run_id, etag = _submitted(app_env, aml)
    record = _record(app_env, etag)
    container = service_client().get_container_client(app_env["LEDGER_CONTAINER"])

    tags = _tags(app_env, record)

    assert tags == {"aml_open": "1", "aml_owner": "rules/default", "aml_run": run_id,
                    "aml_since": record["claimed_at"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tags["aml_since"])
    assert [blob.name for blob in container.list_blobs()] == [f"rules/default/{record['key']}.json"]
    [found] = container.find_blobs_by_tags("\"aml_open\"='1'")
    assert found.name == f"rules/default/{record['key']}.json"
