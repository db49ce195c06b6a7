"""Reading a dead-letter blob (shared/core/dead_letters/dead_letters.py): each event as it was sent, the live path
it takes, why Event Grid gave up on it, in either schema; a malformed blob refused naming the blob and the event;
the waiting count. Replaying them against storage is in tests/dead_letters/test_replay.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.core.common.errors import InvalidInput
from shared.core.dead_letters.dead_letters import DeadLetter, Path, read_dead_letters, replayed_name, waiting_count
from shared.core.outcomes.run_events import RUN_COMPLETED, RUN_STATUS_CHANGED

pytestmark = pytest.mark.unit

SOURCE = "deadletters/SUB/2026/11/2/12/a.json"
BLOB_EVENT = {"id": "1", "eventType": "Microsoft.Storage.BlobCreated", "subject": "/blobServices/x",
              "eventTime": "2026-11-02T12:00:00Z", "data": {"url": "u"}}
SENT = datetime(2026, 11, 2, 12, tzinfo=UTC)
CLOUD_EVENT = {"specversion": "1.0", "id": "2", "type": "Microsoft.Storage.BlobCreated", "source": "s",
               "time": "2026-11-02T12:00:00Z"}


def _read(*events: Any) -> list[DeadLetter]:
    return read_dead_letters(json.dumps(list(events)).encode(), SOURCE)


def _refusal(content: bytes) -> str:
    with pytest.raises(InvalidInput) as raised:
        read_dead_letters(content, SOURCE)
    return str(raised.value)


def test_an_event_grid_dead_letter_is_handed_on_as_sent_with_its_reason_and_attempts() -> None:
    added = {"deadLetterReason": "MaxDeliveryAttemptsExceeded", "deliveryAttempts": 30,
             "lastDeliveryOutcome": "Probation", "publishTime": "t", "lastDeliveryAttemptTime": "t"}
    [letter] = _read({**BLOB_EVENT, **added})
    assert letter == DeadLetter(BLOB_EVENT, Path.BLOB, "MaxDeliveryAttemptsExceeded", 30, SENT)
    assert letter.schema == "eventgrid"


def test_a_cloudevents_dead_letter_is_read_by_its_lower_case_fields() -> None:
    added = {"deadletterreason": "TimeToLiveExceeded", "deliveryattempts": 3, "lastdeliveryoutcome": "x",
             "publishtime": "t", "lastdeliveryattempttime": "t"}
    [letter] = _read({**CLOUD_EVENT, **added})
    assert letter == DeadLetter(CLOUD_EVENT, Path.BLOB, "TimeToLiveExceeded", 3, SENT)
    assert letter.schema == "cloudevents"


def test_run_events_take_the_run_event_path_and_a_missing_reason_reads_unknown() -> None:
    letters = _read({"eventType": RUN_STATUS_CHANGED, "eventTime": "2026-11-02T12:00:00Z"},
                    {"specversion": "1.0", "type": RUN_COMPLETED, "time": "2026-11-02T12:00:00Z"})
    assert [(letter.path, letter.reason, letter.attempts) for letter in letters] == [
        (Path.RUN_EVENT, "unknown", None), (Path.RUN_EVENT, "unknown", None)]


def test_the_schema_decides_which_field_names_the_type() -> None:
    with pytest.raises(InvalidInput, match=r"\[0\]: event type 'None' is not one"):
        _read({"specversion": "1.0", "eventType": "Microsoft.Storage.BlobCreated"})
    with pytest.raises(InvalidInput, match=r"\[0\]: event type 'None' is not one"):
        _read({"type": "Microsoft.Storage.BlobCreated"})


def test_a_blob_up_to_event_grids_one_megabyte_is_read() -> None:
    big = {**BLOB_EVENT, "data": {"url": "u", "pad": "x" * 200_000}}
    assert [letter.event for letter in _read(big)] == [big]


@pytest.mark.parametrize(("content", "message"), [
    (b"{", f"{SOURCE} is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    (b"{}", f"{SOURCE}: expected a JSON array of one or more events"),
    (b"[]", f"{SOURCE}: expected a JSON array of one or more events"),
    (json.dumps([BLOB_EVENT, "x"]).encode(), f"{SOURCE}[1]: an event is a JSON object"),
    (json.dumps([BLOB_EVENT, {"eventType": "Microsoft.Storage.BlobDeleted",
                                  "eventTime": "2026-11-02T12:00:00Z"}]).encode(),
     f"{SOURCE}[1]: event type 'Microsoft.Storage.BlobDeleted' is not one this app subscribes to"),
    (json.dumps([{"eventType": "E" * 150}]).encode(),
     f"{SOURCE}[0]: event type {'E' * 100!r} is not one this app subscribes to"),
])
def test_a_malformed_blob_is_refused_naming_it_and_the_event(content: bytes, message: str) -> None:
    assert _refusal(content) == message


def test_the_waiting_count_leaves_out_replayed_blobs_and_caps_at_one_thousand() -> None:
    assert waiting_count([]) == "0"
    assert waiting_count(["SUB/a.json", replayed_name("SUB/b.json")]) == "1"
    assert replayed_name("SUB/b.json") == "replayed/SUB/b.json"
    assert waiting_count([f"SUB/{n}.json" for n in range(999)]) == "999"
    assert waiting_count([f"SUB/{n}.json" for n in range(1000)]) == "1000+"
