"""The run index's pure part (shared/core/run_index/run_index.py) case by case: a record's row, the tag queries,
the catch-up's watermark and merge, and the counts the status page and ``runs`` read. The storage side is in
tests/run_index/test_run_index.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.core.run_index import run_index
from shared.core.run_index.run_index import RECENT_ROWS, Change

pytestmark = pytest.mark.unit

A = "rules/r/" + "a" * 64 + ".json"
B = "rules/r/" + "b" * 64 + ".json"
M = "manual/r/" + "c" * 64 + ".json"


def _row(name: str, updated_at: str | None, state: str = "submitted") -> dict[str, object]:
    return {"record": name, "state": state, **({"updated_at": updated_at} if updated_at else {})}


def test_a_records_row_keeps_the_shown_fields_masks_secrets_and_keeps_the_run_link_whole() -> None:
    record = {"state": "failed", "reason": None, "run_id": "r1", "attempts": 2, "retryable": False,
              "run_url": "https://ml.azure.com/runs/r1?wsid=/subscriptions/s?sig=abc",
              "error": "POST failed: https://acct.blob.core.windows.net/c/b?sv=2024&sig=SECRETSIG",
              "subject": {"kind": "manual", "parameters": {"password": "hunter2"}}, "owner": "o", "claims": 1}
    row = run_index.record_summary(A, record)
    assert row == {"record": A, "state": "failed", "run_id": "r1", "attempts": 2, "retryable": False,
                   "run_url": record["run_url"], "error": row["error"],
                   "subject": {"kind": "manual", "parameters": {"password": "***"}}}
    assert "SECRETSIG" not in row["error"] and row["error"].startswith("POST failed: https://acct.blob")


def test_the_tag_queries_find_changes_since_a_moment_and_one_days_records() -> None:
    # Find Blobs by Tags answers each blob with the tags its expression names: the day is named to be answered
    assert run_index.changed_query("2026-12-07T00:00:00.000Z") == (
        "\"aml_updated\">'2026-12-07T00:00:00.000Z' AND \"aml_day\">='0'")
    assert run_index.day_query("2026-12-07") == "\"aml_day\"='2026-12-07' AND \"aml_state\">='0'"


def test_a_catch_up_looks_ten_minutes_before_the_watermark_in_utc_milliseconds() -> None:
    assert run_index.since(run_index.empty("2026-12-07T00:05:00Z")) == "2026-12-06T23:55:00.000Z"


def test_stale_records_are_those_not_seen_as_last_written() -> None:
    summary = {**run_index.empty("w"), "seen": {A: "t1", B: "t2"}}
    found = [Change(A, "t1", "d1"), Change(B, "t3", "d1"), Change(M, "t1", "d2")]
    assert run_index.stale(summary, found) == found[1:]


def test_only_the_newest_changes_can_be_rows_by_last_write_then_name() -> None:
    changes = [Change(f"rules/r/{n:064d}.json", f"2026-12-07T00:00:{n % 60:02d}.{n:03d}Z", "2026-12-07")
               for n in range(RECENT_ROWS + 50)] + [Change(B, "2026-12-07T00:00:59.999Z", "2026-12-06"),
                                                    Change(A, "2026-12-07T00:00:59.999Z", "2026-12-06")]
    newest = run_index.newest(changes)
    assert len(newest) == RECENT_ROWS and newest[:2] == [changes[-2], changes[-1]]  # ties: the later name first
    assert newest == sorted(changes, key=lambda change: (change.written, change.record), reverse=True)[:RECENT_ROWS]


def test_a_days_records_are_counted_by_owner_and_state_in_order() -> None:
    counts = run_index.day_counts([(B, "submitted"), (M, "failed"), (A, "submitted"), (A, "claimed")])
    assert counts == {"manual/r": {"failed": 1}, "rules/r": {"claimed": 1, "submitted": 2}}
    assert list(counts) == ["manual/r", "rules/r"] and list(counts["rules/r"]) == ["claimed", "submitted"]


def test_catching_up_keeps_the_newest_rows_first_ties_by_name_and_the_newest_watermark() -> None:
    summary = {**run_index.empty("2026-12-07T10:00:00.000Z"), "rows": [_row(A, "2026-12-07T09:00:00.000Z")],
               "seen": {A: "s1"}, "last": {"rules/r": "2026-12-07T09:00:00.000Z"}}
    caught = run_index.caught_up(summary, [_row(B, "2026-12-07T09:00:00.000Z"), _row(M, None)], {B: "s2"}, {},
                                 "2026-12-07T08:00:00.000Z", oldest_day="2026-01-01")
    assert [row["record"] for row in caught["rows"]] == [B, A, M]
    assert caught["seen"] == {B: "s2", A: "s1"}
    assert caught["watermark"] == "2026-12-07T10:00:00.000Z" and caught["schema"] == 2
    assert caught["last"] == {"manual/r": "", "rules/r": "2026-12-07T09:00:00.000Z"}
    later = run_index.caught_up(caught, [], {}, {}, "2026-12-07T11:00:00.000Z", oldest_day="2026-01-01")
    assert later["watermark"] == "2026-12-07T11:00:00.000Z"


def test_rows_are_ordered_by_their_last_change_before_their_name() -> None:
    rows = [_row(A, "2026-12-07T09:00:00.000Z"), _row(B, "2026-12-07T08:00:00.000Z"), _row(M, "2026-12-07T10:00Z")]
    caught = run_index.caught_up(run_index.empty("w"), rows, {}, {}, "w", oldest_day="")
    assert [row["record"] for row in caught["rows"]] == [M, A, B]
    assert run_index.empty("w") == {"schema": 2, "watermark": "w", "rows": [], "seen": {}, "days": {}, "last": {}}


def test_an_owners_last_change_only_moves_forward() -> None:
    summary = {**run_index.empty("w"), "last": {"rules/r": "2026-12-07T09:00:00.000Z"}}
    caught = run_index.caught_up(summary, [_row(A, "2026-12-07T08:00:00.000Z")], {}, {}, "w", oldest_day="")
    assert caught["last"] == {"rules/r": "2026-12-07T09:00:00.000Z"}


def test_the_index_keeps_only_the_most_recent_rows_and_their_seen_times() -> None:
    rows = [_row(f"rules/r/{n:064d}.json", f"2026-12-07T00:00:{n % 60:02d}.{n:03d}Z") for n in range(RECENT_ROWS + 1)]
    caught = run_index.caught_up(run_index.empty("w"), rows, {row["record"]: "s" for row in rows}, {}, "w", "")
    assert len(caught["rows"]) == RECENT_ROWS == 200 and len(caught["seen"]) == RECENT_ROWS
    assert rows[0] not in caught["rows"]


def test_days_are_kept_from_the_oldest_day_on_in_order() -> None:
    summary = {**run_index.empty("w"), "days": {"2026-12-05": {"rules/r": {"submitted": 1}}}}
    caught = run_index.caught_up(summary, [], {}, {"2026-12-07": {}, "2026-12-06": {}}, "w", oldest_day="2026-12-06")
    assert list(caught["days"]) == ["2026-12-06", "2026-12-07"]


def test_totals_and_states_count_the_owners_asked_for() -> None:
    summary = {**run_index.empty("w"), "days": {
        "2026-12-06": {"rules/r": {"submitted": 2, "failed": 1}, "manual/r": {"submitted": 4}},
        "2026-12-07": {"rules/r": {"submitted": 1}, "schedules/s": {"skipped": 9}}}}
    assert run_index.total(summary) == 17
    assert run_index.total(summary, ("rules/r", "manual/r")) == 8
    assert run_index.states_since(summary, ("rules/r", "manual/r"), "2026-12-06") == {"submitted": 7, "failed": 1}
    assert run_index.states_since(summary, ("rules/r",), "2026-12-07") == {"submitted": 1}
    assert run_index.per_day(summary, ["2026-12-05", "2026-12-07"]) == [
        ("2026-12-05", {}), ("2026-12-07", {"submitted": 1, "skipped": 9})]


def test_days_back_are_the_utc_days_up_to_today_oldest_first() -> None:
    assert run_index.days_back(datetime(2026, 12, 7, 23, 59, tzinfo=UTC), 3) == [
        "2026-12-05", "2026-12-06", "2026-12-07"]
    assert run_index.days_back(datetime(2026, 12, 7, tzinfo=UTC), 0) == []


@pytest.mark.parametrize("schedule, listed, said", [
    ("0 * * * * *", False, "runs as of 10:31:02 UTC, caught up every minute"),
    ("30 * * * * *", True, "runs read from the records now; counts as of 10:31:02 UTC, caught up every minute"),
    ("0 */5 * * * *", False, "runs as of 10:31:02 UTC, caught up on the schedule 0 */5 * * * *"),
    ("*/30 * * * * *", False, "runs as of 10:31:02 UTC, caught up on the schedule */30 * * * * *"),
    ("0 * * * *", False, "runs as of 10:31:02 UTC, caught up on the schedule 0 * * * *"),
])
def test_a_view_says_as_of_when_in_utc_and_how_often_the_index_is_caught_up(schedule, listed, said):
    as_of = datetime(2026, 12, 7, 11, 31, 2, 900_000, tzinfo=timezone(timedelta(hours=1)))
    assert run_index.as_of_note(as_of, schedule, listed=listed, max_age=120) == said


@pytest.mark.parametrize("caught_up, max_age, listed, said", [
    (run_index.CaughtUp.STALE, 120, False, "runs as of 10:31:02 UTC, caught up by this view (the timer had not in "
                                           "120 s)"),
    (run_index.CaughtUp.STALE, 90.5, True, "runs read from the records now; counts as of 10:31:02 UTC, caught up by "
                                           "this view (the timer had not in 90.5 s)"),
    (run_index.CaughtUp.STALE, 0, False, "runs as of 10:31:02 UTC, caught up by this view (as every view is: "
                                         "RUN_INDEX_MAX_AGE_SECONDS is 0)"),
    (run_index.CaughtUp.RETRY, 120, False, "runs as of 10:31:02 UTC, caught up by this view (to show the retry)"),
    (run_index.CaughtUp.EARLIER_VIEW, 120, False, "runs as of 10:31:02 UTC, caught up by an earlier view"),
])
def test_a_view_that_caught_the_index_up_itself_says_so_not_the_timers_cadence(caught_up, max_age, listed, said):
    as_of = datetime(2026, 12, 7, 10, 31, 2, tzinfo=UTC)
    assert run_index.as_of_note(as_of, "0 * * * * *", listed=listed, caught_up=caught_up, max_age=max_age) == said
