"""Backfill's pure parts not covered by its words (shared/core/backfill/backfill.py): the records' horizon a window
must start inside, when an in-hand claim counts as abandoned, and what a report says of the versions left in hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.backfill.backfill import BackfillReport, Candidate, Standing, Window, claim_expires
from shared.core.common.errors import InvalidInput
from shared.core.ledger.ledger_record import LedgerRecord

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 1, 12, 0, 0, 500_000, tzinfo=UTC)
HORIZON = datetime(2026, 8, 4, 12, tzinfo=UTC)
"""NOW less 89 days (90 days of retention less the sweep's day), to the second."""


def _window(since: datetime) -> Window:
    return Window(since, NOW, since_name="--since")


def test_a_window_starting_at_the_horizon_to_the_second_is_accepted() -> None:
    _window(HORIZON).check_horizon(NOW, 90)
    _window(HORIZON + timedelta(microseconds=1)).check_horizon(NOW, 90)


def test_a_window_starting_before_the_horizon_is_refused_naming_the_option_and_where_to_start() -> None:
    with pytest.raises(InvalidInput) as raised:
        _window(HORIZON - timedelta(seconds=1)).check_horizon(NOW, 90)
    assert str(raised.value) == (
        "--since 2026-08-04T11:59:59Z is before the backfill horizon 2026-08-04T12:00:00Z: run records are deleted "
        "after RECORD_RETENTION_DAYS (90 days) and the horizon stays one day inside it, so a version older than "
        "that may have run with its record gone and would run a second time; start the window at or after "
        "2026-08-04T12:00:00Z")


def test_the_horizon_follows_the_retention() -> None:
    _window(HORIZON + timedelta(days=80)).check_horizon(NOW, 10)
    with pytest.raises(InvalidInput, match=r"^since 2026-10-23T11:59:59Z is before the backfill horizon "
                                           r"2026-10-23T12:00:00Z: .* \(10 days\)"):
        Window(HORIZON + timedelta(days=80, seconds=-1), NOW).check_horizon(NOW, 10)


def test_a_claim_counts_as_abandoned_after_its_own_expiry_else_the_settings_and_the_margin() -> None:
    written = datetime(2026, 11, 1, 2, tzinfo=UTC)
    default = LedgerRecord.from_metadata({"state": "claimed"})
    own = LedgerRecord.from_metadata({"state": "claimed", "claim_expiry": "30"})
    assert claim_expires(default, written, expiry=600, margin=5) == written + timedelta(seconds=605)
    assert claim_expires(own, written, expiry=600, margin=5) == written + timedelta(seconds=35)


def _held(*moments: datetime | None) -> list[Candidate]:
    return [Candidate(f"in/{index}.csv", "0x1", NOW, Standing.IN_HAND, retry_after=moment)
            for index, moment in enumerate(moments)]


def test_held_versions_count_as_left_until_the_latest_claim_expiry() -> None:
    report = BackfillReport(rule="daily", since="a", until="b", run=True, to_run=3, processed=1)
    report.hold(_held(NOW + timedelta(seconds=30), None, NOW + timedelta(seconds=90), NOW))
    assert (report.in_hand, report.retry_after, report.left) == (4, "2026-11-01T12:01:30Z", 6)


def test_held_versions_without_an_expiry_leave_no_retry_time() -> None:
    report = BackfillReport(rule="daily", since="a", until="b", run=True)
    report.hold(_held(None))
    assert (report.in_hand, report.retry_after) == (1, None)
    report.hold([])
    assert (report.in_hand, report.retry_after) == (0, None)


def test_a_runs_summary_says_how_many_are_in_hand_and_when_to_run_again() -> None:
    report = BackfillReport(rule="daily", since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z", run=True,
                            listing_pages=1, blobs_listed=4, in_window=4, to_run=2, processed=2,
                            standings=Counter({"never seen": 2, "in hand": 2}), outcomes=Counter({"submitted": 2}))
    report.hold(_held(NOW, NOW))
    assert report.summary() == (
        "backfill daily [2026-11-01T00:00:00Z, 2026-11-02T00:00:00Z): listed 4 blobs in 1 listing pages; 4 versions "
        "in the window (2 in hand; 2 never seen); 2 of 2 processed: 2 submitted; 2 left (2 in hand: claimed by "
        "another owner, or by a backfill that was killed; run again after 2026-11-01T12:00:00Z to finish them)")
