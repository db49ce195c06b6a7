"""Backfill's pure parts: the window's ends, where a record leaves a version, a rerun's request id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.backfill.backfill import Standing, Window, rerun_request_id, standing
from shared.core.common.errors import InvalidInput
from shared.core.ledger.ledger_record import LedgerRecord

pytestmark = pytest.mark.unit
T = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_window_holds_its_since_and_not_its_until():
    window = Window(T, T + timedelta(days=1))
    assert [window.holds(T), window.holds(T + timedelta(days=1) - timedelta(microseconds=1)),
            window.holds(T + timedelta(days=1)), window.holds(T - timedelta(seconds=1))] == [True, True, False, False]


@pytest.mark.parametrize("since, until, message", [
    (T, T, "since (2026-11-01T00:00:00Z) must be before until (2026-11-01T00:00:00Z)"),
    (T.replace(tzinfo=None), T, "since and until must name their time zone"),
])
def test_a_window_must_be_ordered_and_zoned(since, until, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        Window(since, until)


def test_a_windows_errors_name_its_ends_as_the_user_named_them():
    with pytest.raises(InvalidInput) as unordered:
        Window(T, T, since_name="--since", until_name="--until")
    with pytest.raises(InvalidInput) as unzoned:
        Window(T, T.replace(tzinfo=None), since_name="--since", until_name="--until")
    assert str(unordered.value) == "--since (2026-11-01T00:00:00Z) must be before --until (2026-11-01T00:00:00Z)"
    assert str(unzoned.value) == "--since and --until must name their time zone (e.g. 2026-11-22T02:00:00Z)"


@pytest.mark.parametrize("metadata, age, expected", [
    (None, 0, Standing.NEVER_SEEN),
    ({"state": "submitted"}, 0, Standing.ALREADY_RUN),
    ({"state": "rejected"}, 0, Standing.ALREADY_RUN),
    ({"state": "waiting"}, 0, Standing.ALREADY_RUN),
    ({"state": "failed", "retryable": "false"}, 0, Standing.ALREADY_RUN),
    ({"state": "failed", "retryable": "true"}, 0, Standing.LEFT_OPEN),
    ({"state": "claimed"}, 10, Standing.IN_HAND),
    ({"state": "claimed"}, 700, Standing.LEFT_OPEN),
])
def test_where_a_record_leaves_a_version(metadata, age, expected):
    record = None if metadata is None else LedgerRecord.from_metadata(metadata)
    assert standing(record, age, expiry=600, margin=5) is expected
    assert expected.would_run == (expected in (Standing.NEVER_SEEN, Standing.LEFT_OPEN))


def test_a_rerun_request_id_names_its_label_and_the_live_key_and_fits_a_request_id():
    live = "a" * 64
    assert rerun_request_id("fix-1", live) == f"backfill:fix-1:{live}"
    assert len(rerun_request_id("x" * 40, live)) <= 128
    with pytest.raises(InvalidInput, match="must be 1 to 40 letters, digits"):
        rerun_request_id("x" * 41, live)
