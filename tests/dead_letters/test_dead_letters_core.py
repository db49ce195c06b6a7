"""Dead letters' pure parts: an event's time, read for its age, and the error naming it when it is missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.core.common.errors import InvalidInput
from shared.core.dead_letters.dead_letters import read_dead_letters, replay_horizon, too_old_reason

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
