"""Freshness's pure state: the overdue deadlines a state keeps open, bounded, and resolved oldest first, each only
when the files cover every deadline from it through the pending one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.config.config_model import Freshness
from shared.core.freshness.freshness import (
    OPEN_KEPT,
    Expectation,
    FreshnessState,
    Resolution,
    baseline,
    decided,
    resolution,
    resolved,
)
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


def test_an_open_deadline_is_given_up_30_deadlines_later_even_when_the_later_ones_arrived():
    state = overdue_days(1)
    for day in range(2, OPEN_KEPT + 3):
        deadline = START + timedelta(days=day)
        state = decided(deadline, deadline - timedelta(days=1), 1, DAILY, deadline, state)
        assert [open_one.deadline for open_one in state.earlier] == (["2026-12-02T06:00:00Z"] if day <= OPEN_KEPT + 1
                                                                      else [])


def test_the_oldest_open_deadline_needs_files_for_every_deadline_through_the_pending_one():
    state = overdue_days(2)  # 2026-12-02 and 2026-12-03 open, 2026-12-04 pending
    assert resolution(DAILY, state) == Resolution(START, START + timedelta(days=3), 3)
    arrived = decided(START + timedelta(days=3), START + timedelta(days=2), 1, DAILY, START, state)
    assert resolution(DAILY, arrived) == Resolution(START, START + timedelta(days=4), 4)
    assert resolution(DAILY, baseline(START, DAILY, START)) is None


def test_the_oldest_open_deadline_resolves_first_and_the_latest_last():
    state = overdue_days(2)
    at = START + timedelta(days=2, hours=1)
    assert resolved(state, 2, 3, at) is None  # two files for three deadlines: one is still missing
    first = resolved(state, 3, 3, at)
    assert first is not None and first[1].deadline == "2026-12-02T06:00:00Z" and first[1].verdict == "arrived_late"
    assert resolution(DAILY, first[0]) == Resolution(START + timedelta(days=1), START + timedelta(days=3), 2)
    second = resolved(first[0], 2, 2, at)
    assert second is not None and second[0] == second[1] and second[1].deadline == "2026-12-03T06:00:00Z"
    assert second[0].oldest_open is None and resolution(DAILY, second[0]) is None
