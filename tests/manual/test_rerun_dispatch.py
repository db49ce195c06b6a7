"""A record's trigger run again is chosen by its subject's type, and says what it did: a refusal is a value naming
why, decided before anything is reopened or run (no storage, no Azure ML here: nothing is reached)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.core.common.errors import Conflict
from shared.core.ledger.subjects import ScheduleDataSubject, ScheduleSubject
from shared.flows.manual.manual_runs import CannotRerun, rerun, started

NOTHING_CONFIGURED = SimpleNamespace(config=SimpleNamespace(rules=(), schedules=()))
"""Services with no rule and no schedule: a refusal decided from the subject alone reaches nothing else."""


@pytest.mark.parametrize(("record", "subject", "why"), [
    ("rules/daily/k.json", None, "a None record cannot be retried"),
    ("schedule-data/nightly/k.json",
     ScheduleDataSubject(schedule="nightly", blob="b.csv", etag="0x1", occurrence="2026-11-02T02:00:00Z"),
     "a 'schedule-data' record cannot be retried"),
    ("schedules/nightly/k.json", ScheduleSubject(schedule="nightly", occurrence="2026-11-02T02:00:00Z"),
     "schedule 'nightly' is no longer configured (or is disabled)"),
])
def test_a_trigger_that_cannot_run_again_is_refused_with_why_and_nothing_is_reopened(record, subject, why):
    reopened: list[str] = []

    refused = rerun(NOTHING_CONFIGURED, record, subject, None, reopen=lambda: reopened.append(record))

    assert refused == CannotRerun(why) and reopened == []


def test_a_caller_that_answers_with_errors_gets_the_refusal_as_a_conflict_saying_why():
    with pytest.raises(Conflict, match=r"^a None record cannot be retried$"):
        started(rerun(NOTHING_CONFIGURED, "rules/daily/k.json", None, None))
