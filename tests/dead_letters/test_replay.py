"""Dead-letter replay on Azurite and the stand-in: dead-lettered events of both schemas (blob and run events)
replayed once through the live paths, moved aside, a second replay starting nothing; a blob that fails stays, with
its reason; the waiting count on /api/health and the status page."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient

from cli.__main__ import main
from shared.clients.common.clock import SYSTEM_CLOCK
from shared.clients.process.services import build_services
from shared.core.common.json_input import EVENT_FILE
from shared.core.dead_letters.dead_letters import waiting_count
from shared.core.ledger.keys import iso
from shared.flows.dead_letters.replay import replay_dead_letters, waiting_dead_letters
from tests.support.harness import deliver_blob, indexed_function, ledger_record, service_client, upload
from tests.support.http import call, event
from tests.support.samples import SAMPLE_CSV

DEAD_LETTER = {"deadLetterReason": "MaxDeliveryAttemptsExceeded", "deliveryAttempts": 30,
               "lastDeliveryOutcome": "TimedOut", "publishTime": "2026-12-06T02:00:00.1Z",
               "lastDeliveryAttemptTime": "2026-12-07T02:00:00.2Z"}
"""What Event Grid adds to an event it dead-letters (Event Grid schema; CloudEvents: the same names, lower case)."""


@pytest.fixture
def dead_letters(app_env, monkeypatch):
    """This test's own dead-letter container on the watched account."""
    name = f"deadletter-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DEAD_LETTER_CONTAINER", name)
    client = service_client().create_container(name)
    yield client
    client.delete_container()


def services():
    return build_services(os.environ)


def dead_lettered(container, events: list[dict], subscription: str = "AML-TRIGGER-BLOBS",
                  age: timedelta | None = timedelta(hours=1)) -> str:
    """A blob as Event Grid writes one: <SUBSCRIPTION>/<YYYY>/<M>/<D>/<H>/<guid>.json holding a JSON array, its
    events ``age`` old (inside the replay horizon unless told; None: as they are, e.g. a run event's own time)."""
    name = f"{subscription}/2026/12/7/2/{uuid.uuid4()}.json"
    if age is not None:
        when = iso(datetime.now(UTC) - age)
        events = [{**event, ("time" if "specversion" in event else "eventTime"): when} for event in events]
    container.upload_blob(name, json.dumps(events).encode())
    return name


def as_cloud_event(grid_event: dict) -> dict:
    """The same BlobCreated event in the CloudEvents 1.0 schema, dead-lettered (lower-case dead-letter fields)."""
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": grid_event["topic"],
            "subject": grid_event["subject"], "type": grid_event["eventType"], "time": grid_event["eventTime"],
            "data": grid_event["data"], **{name.lower(): value for name, value in DEAD_LETTER.items()}}


def names(container) -> list[str]:
    return sorted(blob.name for blob in container.list_blobs())


@pytest.mark.integration
def test_dead_letters_of_both_schemas_are_replayed_once_and_a_second_replay_starts_nothing(app_env, aml,
                                                                                          dead_letters):
    watched = app_env["WATCH_CONTAINER"]
    etags = {name: upload(watched, name, SAMPLE_CSV) for name in ("a.csv", "b.csv", "ran.csv")}
    deliver_blob(watched, "ran.csv")
    [ran] = aml.accepted
    aml.set_status(ran.run_id, "Completed")
    grid = dead_lettered(dead_letters, [{**event(watched, "a.csv", etags["a.csv"]), **DEAD_LETTER}])
    cloud = dead_lettered(dead_letters, [as_cloud_event(event(watched, "b.csv", etags["b.csv"]))])
    run_event = dead_lettered(dead_letters, [{**aml.run_event(ran.run_id, schema="cloudevents"),
                                              **{name.lower(): value for name, value in DEAD_LETTER.items()}}],
                              subscription="AML-TRIGGER-RUN-EVENTS", age=None)
    assert waiting_dead_letters(services()) == "3"

    dry = replay_dead_letters(services(), dry_run=True)
    assert (len(aml.accepted), names(dead_letters)) == (1, sorted([grid, cloud, run_event]))  # nothing sent, moved
    first = replay_dead_letters(services())
    second = replay_dead_letters(services())

    assert dry.summary() == ("replay-dead-letters (dry run): 3 blobs, 3 events (2 cloudevents, 1 eventgrid); "
                             "0 blobs would stay; nothing handled or moved")
    assert first.summary() == ("replay-dead-letters: 3 blobs, 3 events (2 cloudevents, 1 eventgrid): 1 run_completed, "
                               "2 submitted; 3 blobs moved under replayed/; 0 left waiting")
    assert (second.blobs, second.events, len(aml.accepted)) == (0, 0, 3)
    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "a.csv", "b.csv", "ran.csv"]
    assert names(dead_letters) == sorted(f"replayed/{name}" for name in (grid, cloud, run_event))
    assert ledger_record("default", watched, "ran.csv", etags["ran.csv"])["run"]["status"] == "completed"
    assert waiting_dead_letters(services()) == "0"


@pytest.mark.integration
def test_a_replay_killed_before_its_move_replays_as_duplicates(app_env, aml, dead_letters):
    watched = app_env["WATCH_CONTAINER"]
    etag = upload(watched, "a.csv", SAMPLE_CSV)
    name = dead_lettered(dead_letters, [{**event(watched, "a.csv", etag), **DEAD_LETTER}])
    replay_dead_letters(services())
    content = dead_letters.download_blob(f"replayed/{name}").readall()
    dead_letters.upload_blob(name, content)  # as if the replay had been killed between handling and moving

    again = replay_dead_letters(services())

    assert (dict(again.outcomes), again.replayed, len(aml.accepted)) == ({"duplicate": 1}, 1, 1)


@pytest.mark.integration
def test_a_blob_that_cannot_be_replayed_stays_counted_with_its_reason(app_env, aml, dead_letters, capsys):
    watched = app_env["WATCH_CONTAINER"]
    etag = upload(watched, "a.csv", SAMPLE_CSV)
    good = dead_lettered(dead_letters, [{**event(watched, "a.csv", etag), **DEAD_LETTER}])
    dead_letters.upload_blob("AML-TRIGGER-BLOBS/2026/12/7/2/broken.json", b"[{not json")
    other = dead_lettered(dead_letters, [{**event(watched, "a.csv", etag, "Microsoft.Storage.BlobDeleted"),
                                          **DEAD_LETTER}])

    assert main(["replay-dead-letters"]) == 1
    said = capsys.readouterr()

    assert said.out.strip().endswith("1 submitted; 1 blobs moved under replayed/; 2 left waiting")
    assert (f"  stays: {other}: dead letter {other}[0]: event type 'Microsoft.Storage.BlobDeleted' is not one this "
            "app subscribes to") in said.err
    assert "  stays: AML-TRIGGER-BLOBS/2026/12/7/2/broken.json: dead letter AML-TRIGGER-BLOBS/2026/12/7/2/broken.json" \
           " is not valid JSON" in said.err
    assert names(dead_letters) == sorted(["AML-TRIGGER-BLOBS/2026/12/7/2/broken.json", other, f"replayed/{good}"])
    metadata = dead_letters.get_blob_client(other).get_blob_properties().metadata
    assert metadata["replay_error"].endswith("is not one this app subscribes to")
    code, report = call("http_health", "GET")
    assert (code, report["dead_letters"]["waiting"]) == (200, "2")
    page = indexed_function("http_status_page").get_user_function()(
        func.HttpRequest(method="GET", url="https://app/api/status", headers={}, params={}, body=b"")).get_body()
    assert "<td>dead-lettered events waiting</td><td>2</td>" in page.decode()
    assert len(aml.accepted) == 1


@pytest.mark.integration
def test_an_event_older_than_the_replay_horizon_stays_counted_too_old_with_its_reason(app_env, aml, dead_letters,
                                                                                      monkeypatch):
    monkeypatch.setenv("RECORD_RETENTION_DAYS", "15")  # the horizon: 14 days back
    watched = app_env["WATCH_CONTAINER"]
    etags = {name: upload(watched, name, SAMPLE_CSV) for name in ("old.csv", "recent.csv")}
    old = dead_lettered(dead_letters, [{**event(watched, "old.csv", etags["old.csv"]), **DEAD_LETTER}],
                        age=timedelta(days=14, minutes=1))
    recent = dead_lettered(dead_letters, [as_cloud_event(event(watched, "recent.csv", etags["recent.csv"]))],
                           age=timedelta(days=13, hours=23))

    dry = replay_dead_letters(services(), dry_run=True)
    report = replay_dead_letters(services())

    assert dry.summary().endswith("2 events (1 cloudevents, 1 eventgrid); 1 too old; 1 blobs would stay; nothing "
                                  "handled or moved")
    assert report.summary() == ("replay-dead-letters: 2 blobs, 2 events (1 cloudevents, 1 eventgrid): 1 submitted, "
                                "1 too old; 1 blobs moved under replayed/; 1 left waiting")
    reason = report.failed[old]
    assert reason.startswith("1 event(s) older than the replay horizon 20") and reason.endswith(
        "(RECORD_RETENTION_DAYS less a day): their run records may be deleted, so a replay could run them a second "
        "time; not replayed")
    assert dead_letters.get_blob_client(old).get_blob_properties().metadata["replay_error"] == reason[:250]
    assert names(dead_letters) == sorted([old, f"replayed/{recent}"])
    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        "recent.csv"]


OTHER_ACCOUNT = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/elsewhere"
"""The resource id of a storage account the app does not watch."""


@pytest.mark.integration
def test_a_dry_run_keeps_waiting_exactly_the_blobs_a_replay_keeps_with_the_same_reasons(app_env, aml, dead_letters,
                                                                                       monkeypatch):
    monkeypatch.setenv("RECORD_RETENTION_DAYS", "15")  # the horizon: 14 days back
    watched = app_env["WATCH_CONTAINER"]
    etags = {name: upload(watched, name, SAMPLE_CSV) for name in ("a.csv", "b.csv")}
    created = {**event(watched, "a.csv", etags["a.csv"]), **DEAD_LETTER}
    good = dead_lettered(dead_letters, [created])
    bad_subject = dead_lettered(dead_letters, [{**created, "subject": "/containers/x/a.csv"}])
    other_container = dead_lettered(dead_letters, [{**event("elsewhere", "a.csv", etags["a.csv"]), **DEAD_LETTER}])
    other_account = dead_lettered(dead_letters, [{**created, "topic": OTHER_ACCOUNT}])
    other_source = dead_lettered(dead_letters, [as_cloud_event({**created, "topic": OTHER_ACCOUNT})])
    too_old = dead_lettered(dead_letters, [created], age=timedelta(days=14, minutes=1))
    no_run_id = dead_lettered(dead_letters, [{**created, "eventType": "Microsoft.MachineLearningServices.RunCompleted",
                                              "id": "e1", "data": {}}])
    mixed = dead_lettered(dead_letters, [{**event(watched, "b.csv", etags["b.csv"]), **DEAD_LETTER},
                                         {**created, "data": {"url": "https://elsewhere.blob.core.windows.net/"
                                                                     f"{watched}/a.csv"}}])
    not_watched = "not the watched account 'devstoreaccount1': an event of another account is not replayed or " \
                  "explained against this one"
    at = datetime.now(UTC)  # one time for both: the too-old reason names the horizon to the second
    fixed = SYSTEM_CLOCK._replace(now=lambda: at)

    dry = replay_dead_letters(build_services(os.environ, clock=fixed), dry_run=True)
    report = replay_dead_letters(build_services(os.environ, clock=fixed))

    assert dry.failed == report.failed == {
        bad_subject: f"dead letter {bad_subject}[0]: subject must be /blobServices/default/containers/<container>/"
                     "blobs/<path>",
        other_container: f"dead letter {other_container}[0]: container is not {watched!r}",
        other_account: f"dead letter {other_account}[0]: topic names storage account 'elsewhere', {not_watched}",
        other_source: f"dead letter {other_source}[0]: source names storage account 'elsewhere', {not_watched}",
        too_old: report.failed[too_old],
        no_run_id: f"dead letter {no_run_id}[0]: Microsoft.MachineLearningServices.RunCompleted event 'e1' names no "
                   "runId",
        mixed: f"dead letter {mixed}[1]: data.url names storage account 'elsewhere', {not_watched}"}
    assert report.failed[too_old].startswith("1 event(s) older than the replay horizon")
    assert dry.summary().endswith("; 1 too old; 7 blobs would stay; nothing handled or moved")
    assert report.summary().endswith(": 2 submitted, 1 too old; 1 blobs moved under replayed/; 7 left waiting")
    assert names(dead_letters) == sorted([bad_subject, other_container, other_account, other_source, too_old,
                                          no_run_id, mixed, f"replayed/{good}"])
    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "a.csv", "b.csv"]  # the other account's a.csv not run against the watched one's


@pytest.mark.integration
def test_a_failed_move_aside_keeps_that_blob_waiting_the_others_go_on_and_nothing_runs_twice(app_env, aml,
                                                                                            dead_letters, monkeypatch):
    watched = app_env["WATCH_CONTAINER"]
    etags = {name: upload(watched, name, SAMPLE_CSV) for name in ("a.csv", "b.csv", "c.csv")}
    changed, gone, moved = (dead_lettered(dead_letters, [{**event(watched, name, etag), **DEAD_LETTER}])
                            for name, etag in etags.items())
    shared = services()
    copy = shared.dead_letters.upload_blob

    def changed_or_gone_before_its_delete(name: str, data: bytes, **options):
        """Between the read and the conditional delete: one blob rewritten, one deleted."""
        if name == f"replayed/{changed}":
            dead_letters.upload_blob(changed, data, overwrite=True)
        if name == f"replayed/{gone}":
            dead_letters.delete_blob(gone)
        return copy(name, data, **options)

    monkeypatch.setattr(shared.dead_letters, "upload_blob", changed_or_gone_before_its_delete)
    report = replay_dead_letters(shared)
    kept_reason = dead_letters.get_blob_client(changed).get_blob_properties().metadata["replay_error"]
    again = replay_dead_letters(services())

    after = "(changed or moved since it was read); a later replay finds its events duplicates"
    assert report.failed == {changed: f"handled, but not moved under replayed/: 412 ResourceModifiedError {after}",
                             gone: f"handled, but not moved under replayed/: 412 ResourceModifiedError {after}"}
    # (a blob gone fails the delete's If-Match too: Azurite answers 412; a 404 is caught by the same clause)
    assert report.summary().endswith(": 3 submitted; 1 blobs moved under replayed/; 2 left waiting")
    assert kept_reason == report.failed[changed]
    assert (dict(again.outcomes), again.replayed, again.failed) == ({"duplicate": 1}, 1, {})
    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "a.csv", "b.csv", "c.csv"]  # each once
    assert names(dead_letters) == sorted(f"replayed/{name}" for name in (changed, gone, moved))


@pytest.mark.integration
def test_a_dead_letter_is_refused_by_its_listed_size_before_a_byte_is_read_and_read_no_further(app_env, aml,
                                                                                               dead_letters):
    watched = app_env["WATCH_CONTAINER"]
    etag = upload(watched, "a.csv", SAMPLE_CSV)
    good = dead_lettered(dead_letters, [{**event(watched, "a.csv", etag), **DEAD_LETTER}])
    big = "AML-TRIGGER-BLOBS/2026/12/7/2/big.json"
    dead_letters.upload_blob(big, b" " * (EVENT_FILE.max_bytes + 1))
    empty = "AML-TRIGGER-BLOBS/2026/12/7/2/empty.json"
    dead_letters.upload_blob(empty, b"")
    sent: list[tuple[str, str, str | None]] = []
    counted = BlobServiceClient.from_connection_string(os.environ["WATCH_STORAGE"], raw_request_hook=lambda request: (
        sent.append((request.http_request.method, request.http_request.url,
                     request.http_request.headers.get("x-ms-range")))))
    shared = dataclasses.replace(services(), dead_letters=counted.get_container_client(dead_letters.container_name))

    report = replay_dead_letters(shared)

    assert report.failed == {big: f"dead letter {big} is 1,048,577 bytes; at most 1,048,576 are read",
                             empty: f"dead letter {empty} is empty: expected a JSON array of one or more events"}
    reads = [(method, url.split("?")[0].rsplit("/", 1)[-1], ranged) for method, url, ranged in sent
             if method == "GET" and "comp=list" not in url]
    size = dead_letters.get_blob_client(f"replayed/{good}").get_blob_properties().size
    assert reads == [("GET", good.rsplit("/", 1)[-1], f"bytes=0-{size - 1}")]  # the big and empty ones never read
    assert report.replayed == 1 and len(aml.accepted) == 1


def test_the_waiting_count_reads_one_page_and_says_1000_plus_beyond():
    assert waiting_count([f"SUB/{n}.json" for n in range(7)] + ["replayed/SUB/1.json"]) == "7"
    assert waiting_count([f"SUB/{n}.json" for n in range(1000)]) == "1000+"
    assert waiting_count([]) == "0"
