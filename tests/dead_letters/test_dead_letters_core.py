"""Dead letters' pure parts: an event's time, read for its age, and the error naming it when it is missing; the
one check a dry run and a replay share (which events are handed on, which keep their blob waiting, and why)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.core.common.errors import InvalidInput
from shared.core.dead_letters.dead_letters import (
    Checked,
    Watched,
    check_dead_letters,
    read_dead_letters,
    replay_horizon,
    too_old_reason,
)

pytestmark = pytest.mark.unit
BLOB_EVENT = {"eventType": "Microsoft.Storage.BlobCreated", "subject": "/blobServices/default/containers/c/blobs/a",
              "data": {}, "deadLetterReason": "TimedOut"}


def test_an_events_time_is_read_in_either_schema_to_the_millisecond():
    grid = {**BLOB_EVENT, "eventTime": "2026-12-07T02:00:00.1234567Z"}
    cloud = {"specversion": "1.0", "type": "Microsoft.Storage.BlobCreated", "time": "2026-12-07T03:00:00+01:00"}
    times = [letter.event_time for letter in read_dead_letters(json.dumps([grid, cloud]).encode(), "dead letter x")]
    assert times == [datetime(2026, 12, 7, 2, 0, 0, 123000, tzinfo=UTC), datetime(2026, 12, 7, 2, tzinfo=UTC)]


def test_an_event_without_its_time_is_refused_naming_the_blob_the_event_and_the_field():
    with pytest.raises(InvalidInput) as refused:
        read_dead_letters(json.dumps([BLOB_EVENT]).encode(), "dead letter x")
    assert str(refused.value) == "dead letter x[0].eventTime: a time is an ISO 8601 text, not NoneType"


def test_the_replay_horizon_is_the_records_horizon():
    assert replay_horizon(datetime(2026, 12, 7, tzinfo=UTC), 15) == datetime(2026, 11, 23, tzinfo=UTC)


def test_events_older_than_the_replay_horizon_are_counted_and_left_saying_why():
    assert too_old_reason(2, datetime(2026, 11, 23, tzinfo=UTC)) == (
        "2 event(s) older than the replay horizon 2026-11-23T00:00:00Z (RECORD_RETENTION_DAYS less a day): their run "
        "records may be deleted, so a replay could run them a second time; not replayed")


HORIZON = datetime(2026, 11, 23, tzinfo=UTC)
WATCHED = Watched(account="acct", container="c", horizon=HORIZON)
TOPIC = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/"


def _checked(*events: dict) -> Checked:
    timed = [{"eventTime": "2026-11-23T00:00:00Z", **event} for event in events]
    return check_dead_letters(read_dead_letters(json.dumps(timed).encode(), "dead letter x"), WATCHED, "dead letter x")


def test_events_are_handed_on_unless_too_old_or_refused_as_the_live_path_would_refuse_them():
    run_event = {"eventType": "Microsoft.MachineLearningServices.RunCompleted", "id": "e1", "data": {"runId": "r"}}
    checked = _checked(BLOB_EVENT, {**BLOB_EVENT, "eventTime": "2026-11-22T23:59:59Z"},
                       {**BLOB_EVENT, "subject": "/blobServices/default/containers/d/blobs/a"},
                       {**BLOB_EVENT, "topic": TOPIC + "other"}, run_event, {**run_event, "data": {}})
    assert [letter.event["eventType"] for letter in checked.handed_on] == [
        "Microsoft.Storage.BlobCreated", "Microsoft.MachineLearningServices.RunCompleted"]
    assert (checked.too_old, checked.horizon) == (1, HORIZON)
    assert checked.refused == [
        "dead letter x[2]: container is not 'c'",
        "dead letter x[3]: topic names storage account 'other', not the watched account 'acct': an event of another "
        "account is not replayed or explained against this one",
        "dead letter x[5]: Microsoft.MachineLearningServices.RunCompleted event 'e1' names no runId"]
    assert checked.reasons == [*checked.refused, too_old_reason(1, HORIZON)]


def test_a_blob_whose_events_all_pass_has_no_reason_to_stay():
    checked = _checked(BLOB_EVENT, {**BLOB_EVENT, "topic": TOPIC + "acct"})
    assert (len(checked.handed_on), checked.refused, checked.too_old, checked.reasons) == (2, [], 0, [])
