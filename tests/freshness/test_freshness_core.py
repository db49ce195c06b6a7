"""Freshness's pure state: the overdue deadlines a state keeps open, bounded, and resolved oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.config.config_model import Freshness
from shared.core.freshness.freshness import OPEN_KEPT, Expectation, FreshnessState, baseline, decided, resolved
from shared.core.schedules.ncrontab import parse_ncrontab

pytestmark = pytest.mark.unit
DAILY = Expectation("daily", Freshness(deadline=parse_ncrontab("0 0 6 * * *"), min_files=1, folder=""))
START = datetime(2026, 12, 1, 6, tzinfo=UTC)


def overdue_days(days: int) -> FreshnessState:
    state = baseline(START, DAILY, START)
    for day in range(1, days + 1):
        deadline = START + timedelta(days=day)
        state = decided(deadline, deadline - timedelta(days=1), 0, DAILY, deadline, state)
    return state


def test_a_state_keeps_the_last_30_earlier_overdue_deadlines_open_and_reads_back_what_it_wrote():
    state = overdue_days(OPEN_KEPT + 2)
    assert [open_one.deadline for open_one in state.earlier] == [
        f"2026-12-{day:02}T06:00:00Z" for day in range(3, 32)] + ["2027-01-01T06:00:00Z"]
    assert FreshnessState.from_json(state.to_json()) == state


def test_the_oldest_open_deadline_resolves_first_and_the_latest_last():
    state = overdue_days(2)
    at = START + timedelta(days=2, hours=1)
    first = resolved(state, 1, at)
    assert first is not None and first[1].deadline == "2026-12-02T06:00:00Z" and first[1].verdict == "arrived_late"
    second = resolved(first[0], 1, at)
    assert second is not None and second[0] == second[1] and second[1].deadline == "2026-12-03T06:00:00Z"
    assert second[0].oldest_open is None and resolved(state, 0, at) is None
