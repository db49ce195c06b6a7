"""Record retention: the shortest one exactly-once allows (the dead-letter replay window and the sweep's day), the
reason a shorter one is refused with, and the sweep's horizon a day inside it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.ledger.retention import MIN_RETENTION_DAYS, retention_problem, sweep_horizon

pytestmark = pytest.mark.unit


def test_the_shortest_retention_is_the_replay_window_and_the_sweeps_day() -> None:
    assert MIN_RETENTION_DAYS == 15


def test_fifteen_days_or_more_is_enough_and_fourteen_is_refused_saying_why() -> None:
    assert retention_problem(15) is None
    assert retention_problem(400) is None
    assert retention_problem(14) == (
        "at least 15 days: records must outlive Event Grid's 24 h of retries and the 14 days a dead-lettered event "
        "may be replayed, plus the day the sweep's horizon keeps inside the retention; a shorter one lets a late "
        "delivery or a sweep run a deleted record's blob again")


def test_the_sweep_looks_back_one_day_less_than_records_are_kept() -> None:
    assert sweep_horizon(15) == timedelta(days=14)
    assert sweep_horizon(30) == timedelta(days=29)
