"""A record's subject and state are read once into typed values: every kind the app writes round-trips to exactly
what was stored, and a stored subject or state the app does not write is refused naming the record and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.core.common.errors import InvalidValue
from shared.core.ledger.ledger_record import LedgerRecord, RunState, new_claim
from shared.core.ledger.subjects import (
    BatchFile,
    BlobSubject,
    ManualSubject,
    QuietBatchSubject,
    ScheduleDataSubject,
    ScheduleSubject,
    UnreadableRecord,
    parse_subject,
    subject_json,
    subject_kind,
)

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "run_requests.json").read_text("utf-8"))
NAME = "rules/daily/k.json"
QUIET = {"kind": "quiet-batch", "rule": "daily", "container": "data", "folder": "in/2026/", "oldest": "quiet/o",
         "fires_at": "2026-12-01T10:01:00Z", "files": [{"blob": "in/2026/a.csv", "etag": "0x1"}]}


STORED_LAST_MODIFIED = "2036-03-01T08:30:14.000Z"
"""What the golden file's ``<last-modified>`` (a storage time, different each run) stands for."""


def _golden_subjects() -> list[dict[str, Any]]:
    return [_with_time(record["subject"]) for flow in GOLDEN["flows"].values()
            for record in flow["records"].values() if "subject" in record]


def _with_time(subject: dict[str, Any]) -> dict[str, Any]:
    return {**subject, "last_modified": STORED_LAST_MODIFIED} if "last_modified" in subject else subject


@pytest.mark.parametrize("stored", [
    *_golden_subjects(),
    {"kind": "blob", "container": "data", "blob": "in/machines.csv", "etag": "0x8DC1"},  # stored before size was
    QUIET,
    {key: value for key, value in QUIET.items() if key != "files"},
    {**QUIET, "files": []},
    {"kind": "schedule", "schedule": "s", "occurrence": "2026-11-02T02:00:00Z", "added_later": {"x": 1}},
])
def test_every_subject_the_app_writes_round_trips_to_exactly_what_was_stored(stored):
    assert subject_json(parse_subject(stored, NAME)) == stored


def test_each_kind_is_its_own_type_with_its_fields():
    assert parse_subject(QUIET, NAME) == QuietBatchSubject(
        rule="daily", container="data", folder="in/2026/", oldest="quiet/o", fires_at="2026-12-01T10:01:00Z",
        files=(BatchFile("in/2026/a.csv", "0x1"),))
    assert parse_subject({"kind": "blob", "container": "c", "blob": "b", "etag": "e", "size": 3}, NAME) == (
        BlobSubject(container="c", blob="b", etag="e", size=3))
    assert isinstance(parse_subject({"kind": "schedule", "schedule": "s", "occurrence": "2026-11-02T02:00:00Z",
                                     "fired_at": "2026-11-02T02:00:01Z", "past_due": False}, NAME), ScheduleSubject)
    assert isinstance(parse_subject({"kind": "schedule-data", "schedule": "s", "blob": "b", "etag": "e",
                                     "occurrence": "2026-11-02T02:00:00Z"}, NAME), ScheduleDataSubject)
    assert parse_subject({"kind": "manual", "rule": "r", "request_id": "q", "blob": None, "experiment": None,
                          "parameters": {"n": 1}}, NAME) == ManualSubject("r", "q", None, None, {"n": 1})


@pytest.mark.parametrize(("subject", "message"), [
    (["blob"], "subject must be a JSON object, not list"),
    ({"blob": "b"}, "subject kind None is not one this app writes (blob, schedule, schedule-data, manual, "
                    "quiet-batch)"),
    ({"kind": "teleport"}, "subject kind 'teleport' is not one this app writes (blob, schedule, schedule-data, "
                           "manual, quiet-batch)"),
    ({"kind": ["blob"]}, "subject kind ['blob'] is not one this app writes (blob, schedule, schedule-data, manual, "
                         "quiet-batch)"),
    ({"kind": "blob", "container": "c", "blob": "b"}, "subject field 'etag' is missing"),
    ({"kind": "blob", "container": "c", "blob": "b", "etag": 7}, "subject field 'etag' must be a string, not int"),
    ({"kind": "blob", "container": "c", "blob": "b", "etag": "e", "size": True},
     "subject field 'size' must be a whole number, not bool"),
    ({"kind": "schedule", "schedule": "s", "occurrence": "yesterday"},
     "subject field 'occurrence' must be an ISO 8601 time, not 'yesterday'"),
    ({"kind": "blob", "container": "c", "blob": "b", "etag": "e", "last_modified": "yesterday"},
     "subject field 'last_modified' must be an ISO 8601 time, not 'yesterday'"),
    ({"kind": "schedule", "schedule": "s", "occurrence": "2026-11-02T02:00:00Z", "past_due": "no"},
     "subject field 'past_due' must be true or false, not str"),
    ({"kind": "manual", "rule": "r", "request_id": "q", "blob": 3, "experiment": None, "parameters": None},
     "subject field 'blob' must be a string or null, not int"),
    ({"kind": "manual", "rule": "r", "request_id": "q", "blob": None, "parameters": None},
     "subject field 'experiment' is missing"),
    ({**QUIET, "files": "in/2026/a.csv"}, "subject field 'files' must be a list, not str"),
    ({**QUIET, "files": ["in/2026/a.csv"]}, "subject field 'files' item 0 must be a JSON object, not str"),
    ({**QUIET, "files": [{"blob": "in/2026/a.csv"}]}, "subject field 'etag' is missing"),
])
def test_a_stored_subject_the_app_does_not_write_is_refused_naming_the_record_and_the_field(subject, message):
    with pytest.raises(UnreadableRecord) as refused:
        LedgerRecord.from_json({"state": "failed", "subject": subject}, NAME)
    assert str(refused.value) == f"ledger record {NAME}: {message}"


def test_an_unknown_stored_state_is_refused_naming_the_record_whether_read_whole_or_from_a_listing():
    expected = (f"ledger record {NAME}: state 'exploded' is not one of claimed, submitted, rejected, skipped, "
                "failed, waiting")
    with pytest.raises(UnreadableRecord) as read:
        LedgerRecord.from_json({"state": "exploded"}, NAME)
    with pytest.raises(UnreadableRecord) as listed:
        LedgerRecord.from_metadata({"state": "exploded", "retryable": "false"}, NAME)
    assert str(read.value) == str(listed.value) == expected
    with pytest.raises(UnreadableRecord, match=r"^ledger record rules/daily/k.json: state 3 is not one of"):
        LedgerRecord.from_json({"state": 3}, NAME)


def test_a_record_read_without_its_name_is_named_by_its_own_namespace_and_key():
    with pytest.raises(UnreadableRecord, match=r"^ledger record schedules/s/k\.json: state 'x' is not"):
        LedgerRecord.from_json({"namespace": "schedules/s", "key": "k", "state": "x"})
    with pytest.raises(UnreadableRecord, match=r"^ledger record \(unnamed\): state 'x' is not"):
        LedgerRecord.from_json({"state": "x"})


def test_the_state_is_a_run_state_and_is_stored_as_its_word():
    record = LedgerRecord.from_json({"state": "waiting", "retryable": False}, NAME)
    assert record.state is RunState.WAITING and f"{record.state}" == "waiting"
    assert record.to_json()["state"] == "waiting" and record.metadata() == {"state": "waiting",
                                                                           "retryable": "false"}


def test_an_unreadable_record_is_the_apps_own_error_and_still_a_value_error():
    assert issubclass(UnreadableRecord, InvalidValue) and issubclass(UnreadableRecord, ValueError)


def test_a_subject_keeps_only_the_keys_it_does_not_know_as_extra():
    assert parse_subject({"kind": "blob", "container": "c", "blob": "b", "etag": "e", "later": 1}, NAME).extra == {
        "later": 1}


def test_a_batch_files_missing_blob_and_a_long_time_are_refused_naming_the_record():
    with pytest.raises(UnreadableRecord, match=r"^ledger record rules/daily/k\.json: subject field 'blob' is missing$"):
        parse_subject({**QUIET, "files": [{"etag": "0x1"}]}, NAME)
    with pytest.raises(UnreadableRecord) as refused:
        parse_subject({"kind": "schedule", "schedule": "s", "occurrence": "y" * 41}, NAME)
    assert str(refused.value).endswith(f"must be an ISO 8601 time, not {'y' * 40!r}")


BUILT = [  # every kind as the app builds it: nothing stored beside its fields, so its extra is the shared default
    BlobSubject(container="c", blob="b", etag="e"),
    ScheduleSubject(schedule="s", occurrence="2026-11-02T02:00:00Z"),
    ScheduleDataSubject(schedule="s", blob="b", etag="e", occurrence="2026-11-02T02:00:00Z"),
    ManualSubject(rule="r", request_id="q", blob=None, experiment=None, parameters=None),
    QuietBatchSubject(rule="r", container="c", folder="in/", oldest="quiet/o", files=(BatchFile("in/a.csv", "0x1"),)),
]


@pytest.mark.parametrize(("subject", "kind"), list(zip(BUILT, ["blob", "schedule", "schedule-data", "manual",
                                                                 "quiet-batch"], strict=True)))
def test_a_subject_built_in_code_is_written_as_json_in_a_document_of_its_own_and_read_back_equal(subject, kind):
    written = subject_json(subject)
    written["later"] = 1  # a caller adding to its document adds nothing to the subject or any other

    assert json.loads(json.dumps(written)) == written and written["kind"] == kind == subject_kind(subject)
    assert "later" not in subject_json(subject) and all(each.extra == {} for each in BUILT)
    assert parse_subject(subject_json(subject), NAME) == subject


def test_a_claims_record_built_in_code_is_written_as_json_with_its_subject():
    record = new_claim("rules/r", "k", BUILT[0], "owner-1", "2026-11-02T02:00:00.000Z", 60)

    stored = json.loads(json.dumps(record.to_json()))

    assert stored["subject"] == {"kind": "blob", "container": "c", "blob": "b", "etag": "e"}
    assert record.extra == {} and LedgerRecord.from_json(stored, NAME) == record


def test_unknown_stored_keys_take_part_in_equality_and_a_record_read_back_equals_itself():
    """Equality is what the ledger's update compares to skip a write that changes nothing: a record read, written
    and read back keeps its subject's unknown keys, so it is still equal; a change of them is a change."""
    stored = {"state": "submitted", "run_id": "run-1", "later": True,
              "subject": {"kind": "blob", "container": "c", "blob": "b", "etag": "e", "added_later": {"x": 1}}}
    record = LedgerRecord.from_json(stored, NAME)
    assert record.subject is not None

    assert LedgerRecord.from_json(record.to_json(), NAME) == record
    assert record._replace(subject=record.subject._replace(extra={"added_later": {"x": 2}})) != record
    assert record.subject._replace(extra={}) == BlobSubject(container="c", blob="b", etag="e")
