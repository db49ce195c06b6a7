"""How the run index reads what it stored and what a listing gives it (shared/core/run_index/run_index.py): a stored
index of another shape is rebuilt rather than trusted, and a record's last write comes from its tag when it has one.
In-process; the storage side is in tests/run_index/test_run_index.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.core.run_index import run_index
from shared.core.run_index.run_index import Change
from tests.support.zones import local_zone  # noqa: F401  (a fixture: pytest finds it by name)

pytestmark = pytest.mark.unit

A = "rules/r/" + "a" * 64 + ".json"
B = "rules/r/" + "b" * 64 + ".json"
M = "manual/r/" + "c" * 64 + ".json"


def _summary(**changes: Any) -> dict[str, Any]:
    return {**run_index.empty("2026-12-07T10:00:00.000Z"), "rows": [{"record": A, "state": "submitted"}],
            "seen": {A: "2026-12-07T09:00:00.000Z"}, "days": {"2026-12-07": {"rules/r": {"submitted": 1}}},
            "last": {"rules/r": "2026-12-07T09:00:00.000Z"}, **changes}


def test_a_stored_index_of_this_schema_is_read_as_stored() -> None:
    stored = _summary(caught_up_at="2026-12-07T10:00:01.000Z")
    assert run_index.summary_from(json.dumps(stored).encode()) == stored
    assert run_index.well_formed(stored)


@pytest.mark.parametrize("data", [b"not json", b"[1]", json.dumps(_summary(schema=1)).encode()])
def test_an_index_that_is_not_json_or_not_this_schema_reads_as_none_to_rebuild(data: bytes) -> None:
    assert run_index.summary_from(data) == {}


def test_an_index_up_to_eight_mib_is_read_and_a_larger_one_rebuilt() -> None:
    limit = 8 * 1024 * 1024
    assert run_index.SUMMARY_LIMITS.max_bytes == limit and run_index.SUMMARY_LIMITS.max_depth == 64
    stored = json.dumps(_summary()).encode()
    padded = stored[:-1] + b", \"pad\": \"" + b"x" * (limit - len(stored) - 11) + b"\"}"
    assert len(padded) == limit and run_index.summary_from(padded) != {}
    assert run_index.summary_from(padded[:-2] + b"x\"}") == {}


def test_an_index_nested_sixty_four_deep_is_read_and_a_deeper_one_rebuilt() -> None:
    deep = _summary(rows=[{"record": A, "subject": json.loads("[" * 61 + "]" * 61)}])  # the index, rows, a row: 64
    assert run_index.summary_from(json.dumps(deep).encode()) == deep
    deeper = _summary(rows=[{"record": A, "subject": json.loads("[" * 62 + "]" * 62)}])
    assert run_index.summary_from(json.dumps(deeper).encode()) == {}


@pytest.mark.parametrize("changes", [
    {"watermark": None}, {"rows": {}}, {"rows": ["row"]}, {"rows": [{"state": "submitted"}]},
    {"rows": [{"record": 1}]}, {"seen": []}, {"seen": {A: 1}}, {"last": None}, {"last": {"rules/r": None}},
    {"days": []}, {"days": {"2026-12-07": []}}, {"days": {"2026-12-07": {"rules/r": []}}},
    {"days": {"2026-12-07": {"rules/r": {"submitted": "1"}}}}, {"days": {"2026-12-07": {"rules/r": {"failed": True}}}},
    {"days": {"2026-12-07": {"rules/r": {"failed": 1.0}}}},
])
def test_an_index_missing_a_key_or_holding_one_of_another_type_is_not_well_formed(changes: dict[str, Any]) -> None:
    assert not run_index.well_formed(_summary(**changes))


@pytest.mark.parametrize("key", ["schema", "watermark", "rows", "seen", "days", "last"])
def test_an_index_without_one_of_its_keys_is_not_well_formed(key: str) -> None:
    summary = _summary()
    del summary[key]
    assert not run_index.well_formed(summary)


def test_empty_parts_of_an_index_are_well_formed() -> None:
    assert run_index.well_formed(run_index.empty("2026-12-07T10:00:00.000Z"))
    assert run_index.well_formed(_summary(days={"2026-12-07": {}}, rows=[], seen={}, last={}))


def test_a_records_last_write_is_its_tag_else_its_last_modified_to_the_millisecond() -> None:
    modified = datetime(2026, 12, 7, 10, 31, 2, tzinfo=UTC)
    tagged = "2026-12-07T10:31:02.345Z"
    assert run_index.written_at({"aml_updated": tagged, "aml_day": "2026-12-07"}, modified) == tagged
    assert run_index.written_at({"aml_day": "2026-12-07"}, modified) == "2026-12-07T10:31:02.000Z"
    assert run_index.written_at({"aml_updated": ""}, modified) == "2026-12-07T10:31:02.000Z"
    assert run_index.written_at(None, modified) == "2026-12-07T10:31:02.000Z"
    assert run_index.newest_first(tagged, A) == (tagged, A)


def test_changes_written_in_the_same_millisecond_rank_by_record_name_whatever_order_they_were_found_in() -> None:
    at = "2026-12-07T10:00:00.000Z"
    assert run_index.newest([Change(A, at, "d"), Change(B, at, "d")]) == [Change(B, at, "d"), Change(A, at, "d")]


def test_rows_rank_by_when_they_were_seen_written_before_their_updated_at_and_a_row_with_neither_comes_last() -> None:
    rows = [{"record": A, "updated_at": "2026-12-07T09:00:00.000Z"},
            {"record": B, "updated_at": "2026-12-07T09:30:00.000Z"}, {"record": M}]
    seen = {A: "2026-12-07T10:00:00.000Z"}  # an outcome's write moved A's last write; updated_at stayed
    caught = run_index.caught_up(run_index.empty("w"), rows, seen, {}, "w", oldest_day="")
    assert [row["record"] for row in caught["rows"]] == [A, B, M]


@pytest.mark.usefixtures("local_zone")
def test_a_views_note_says_the_time_in_utc_whatever_the_machines_zone_and_shows_the_index_unless_listed() -> None:
    as_of = datetime(2026, 12, 7, 10, 31, 2, tzinfo=UTC)
    assert run_index.as_of_note(as_of, "0 * * * * *", max_age=120) == "runs as of 10:31:02 UTC, caught up every minute"
