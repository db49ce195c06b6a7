"""Freshness verdicts (shared/core/freshness/freshness.py): the count a deadline needs, the lines each verdict logs,
which deadlines a state keeps open, and a stored state read back, each exactly as written."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.config.config_model import Freshness
from shared.core.freshness.freshness import (
    Expectation,
    FreshnessState,
    Verdict,
    baseline,
    decided,
    resolved,
    state_document,
)
from shared.core.ledger.decisions import Decision, Outcome
from shared.core.ledger.subjects import UnreadableRecord
from shared.core.schedules.ncrontab import parse_ncrontab

pytestmark = pytest.mark.unit
SIX = parse_ncrontab("0 0 6 * * *")
IN_FOLDER = Expectation("daily", Freshness(SIX, min_files=2, folder="in/"))
WHOLE_RULE = Expectation("daily", Freshness(SIX, min_files=2))
SINCE = datetime(2026, 12, 1, 6, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 2, 6, tzinfo=UTC)
AT = datetime(2026, 12, 2, 6, 0, 3, tzinfo=UTC)
STARTED = baseline(SINCE, IN_FOLDER, SINCE)


def _decided(files: int, previous: FreshnessState = STARTED) -> FreshnessState:
    return decided(DEADLINE, SINCE, files, IN_FOLDER, AT, previous)


def test_a_deadline_arrived_with_at_least_its_files_and_is_overdue_with_fewer() -> None:
    assert [_decided(files).verdict for files in (1, 2, 3)] == ["overdue", "arrived", "arrived"]
    assert _decided(2) == FreshnessState("2026-12-02T06:00:00Z", "arrived", "2026-12-01T06:00:00Z", 2, 2,
                                         "2026-12-02T06:00:03Z")


def test_an_arrived_deadline_logs_its_count_the_expected_and_the_folder() -> None:
    assert _decided(3).decision(IN_FOLDER) == Decision(
        Outcome.ARRIVED, reason="3 new file(s) under 'in/' since 2026-12-01T06:00:00Z, 2 expected by "
                                "2026-12-02T06:00:00Z",
        rule="daily", folder="in/", deadline="2026-12-02T06:00:00Z", since="2026-12-01T06:00:00Z", files=3,
        expected=2)


def test_an_overdue_deadline_of_the_whole_rule_logs_no_folder() -> None:
    overdue = decided(DEADLINE, SINCE, 1, WHOLE_RULE, AT, baseline(SINCE, WHOLE_RULE, SINCE))
    assert overdue.decision(WHOLE_RULE) == Decision(
        Outcome.OVERDUE, reason="only 1 new file(s) for the rule since 2026-12-01T06:00:00Z, 2 expected by "
                                "2026-12-02T06:00:00Z",
        rule="daily", folder=None, deadline="2026-12-02T06:00:00Z", since="2026-12-01T06:00:00Z", files=1,
        expected=2)


def test_a_late_arrival_logs_when_it_was_counted_and_the_deadline_it_missed() -> None:
    resolution = resolved(_decided(1), 4, 4, AT + timedelta(hours=2))
    assert resolution is not None
    state, late = resolution
    assert state == late == FreshnessState("2026-12-02T06:00:00Z", "arrived_late", "2026-12-01T06:00:00Z", 4, 4,
                                           "2026-12-02T08:00:03Z")
    assert late.decision(IN_FOLDER).reason == (
        "4 new file(s) under 'in/' since 2026-12-01T06:00:00Z by 2026-12-02T08:00:03Z: the data due by "
        "2026-12-02T06:00:00Z landed late")
    assert late.decision(IN_FOLDER).outcome is Outcome.ARRIVED_LATE


def test_an_open_deadline_stays_open_until_its_count_reaches_the_needed() -> None:
    overdue = _decided(0)
    assert resolved(overdue, 3, 4, AT) is None
    assert resolved(overdue, 4, 4, AT) is not None


def test_only_an_overdue_state_is_unresolved_and_kept_open_without_its_own_earlier_ones() -> None:
    earlier = _decided(0)
    later = decided(DEADLINE + timedelta(days=1), DEADLINE, 0, IN_FOLDER, AT, earlier)
    late = resolved(earlier, 2, 2, AT)
    assert late is not None
    assert [state.unresolved for state in (STARTED, _decided(2), earlier, late[1])] == [False, False, True, False]
    assert later.earlier == (earlier,)
    assert later.still_open(earlier.deadline) == (earlier, replace(later, earlier=()))
    assert later.still_open(later.deadline) == (replace(later, earlier=()),)
    assert later.oldest_open == earlier
    assert earlier.oldest_open == earlier
    assert _decided(2).oldest_open is None and _decided(2).still_open("") == ()


def test_an_arrived_state_after_an_open_one_keeps_it_open() -> None:
    arrived = _decided(2, _decided(0))
    assert arrived.earlier == (_decided(0),) and arrived.oldest_open == _decided(0)
    assert arrived.still_open("") == (_decided(0),)
    first = resolved(arrived, 4, 4, AT)
    assert first is not None and first[0] == _decided(2) and first[1].verdict == Verdict.ARRIVED_LATE.value


def test_a_stored_state_without_earlier_deadlines_reads_back_with_none() -> None:
    document = {"deadline": "d", "verdict": "overdue", "since": "s", "files": 0, "expected": 1, "decided_at": "a"}
    assert FreshnessState.from_json(document) == FreshnessState("d", "overdue", "s", 0, 1, "a")
    nested = {**document, "earlier": [dict(document, deadline="e")]}
    assert FreshnessState.from_json(nested).earlier == (FreshnessState("e", "overdue", "s", 0, 1, "a"),)


def _stored(**fields: object) -> bytes:
    """A stored state (an overdue one, nothing earlier) with ``fields`` changed."""
    return json.dumps({**_decided(0).to_json(), **fields}).encode()


def test_a_stored_state_is_read_back_as_written_and_one_that_is_not_a_state_is_refused_naming_it_and_why() -> None:
    stored = json.dumps(replace(_decided(0), earlier=(_decided(0),)).to_json()).encode()
    assert state_document("s.json", stored) == json.loads(stored)
    for raw, why in ((b"garbage", " is not valid JSON (Expecting value at line 1 column 1)"),
                     (b"\xff", " is not UTF-8 (byte 0)"),
                     (b"[" * 50_000, f": {'[0]' * 32} is nested more than 32 levels deep"),  # never a RecursionError
                     (b'{"deadline": "d"}', ": KeyError: 'verdict'"),
                     (b"[1]", ": TypeError: list indices must be integers or slices, not str"),
                     (_stored(verdict="late"), ": ValueError: 'late' is not a valid Verdict"),
                     (_stored(deadline="today"), ": ValueError: Invalid isoformat string: 'today'"),
                     (_stored(since="x"), ": ValueError: Invalid isoformat string: 'x'"),
                     (_stored(files="2"), ": TypeError: files '2' and expected 2 must be whole numbers"),
                     (_stored(expected=None), ": TypeError: files 0 and expected None must be whole numbers"),
                     (_stored(earlier=[{**_decided(0).to_json(), "since": "y"}]),
                      ": ValueError: Invalid isoformat string: 'y'")):
        with pytest.raises(UnreadableRecord) as refused:
            state_document("s.json", raw)
        assert str(refused.value) == f"freshness state s.json{why}"


def test_resolving_a_state_with_nothing_open_is_a_programming_error_that_says_so() -> None:
    with pytest.raises(AssertionError, match=r"^only a state with an open deadline is resolved$"):
        resolved(_decided(2), 5, 2, AT)


def test_resolving_the_oldest_of_several_open_deadlines_keeps_the_others_open() -> None:
    first = _decided(0)
    second = decided(DEADLINE + timedelta(days=1), DEADLINE, 0, IN_FOLDER, AT, first)
    third = decided(DEADLINE + timedelta(days=2), DEADLINE + timedelta(days=1), 0, IN_FOLDER, AT, second)
    resolution = resolved(third, 6, 6, AT)
    assert resolution is not None
    assert resolution[0] == replace(third, earlier=(replace(second, earlier=()),))
    assert resolution[1].deadline == first.deadline
