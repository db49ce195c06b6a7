"""Freshness checks: each expectation's due deadline decided once (``arrived`` or ``overdue``), and an open
``overdue`` counted again on every tick until its files land (``arrived_late``).

A check costs at most three storage requests whatever the ledger holds: the state's read, one Find Blobs by Tags
(a page holds 5,000 files, and ``min_files`` is at most that), and the state's conditional write when it changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.clients.process.services import Services
from shared.core.freshness.freshness import (
    Expectation,
    FreshnessState,
    baseline,
    decided,
    expectations,
    resolved,
)
from shared.core.ledger.decisions import Decision, log_decision
from shared.core.ledger.keys import iso, parse_iso


def check_freshness(services: Services) -> list[Decision]:
    """Every expectation's check at ``services.clock.now()``; the decisions this process's writes won."""
    retry = services.config.retry
    # A file that came just before its deadline may be written down only once its submission settled.
    settled_by = services.clock.now() - timedelta(seconds=retry.deadline + retry.settle_grace)
    return [decision for expectation in expectations(services.config.rules)
            if (decision := check(expectation, services, settled_by)) is not None]


def check(expectation: Expectation, services: Services, settled_by: datetime) -> Decision | None:
    """Decide the deadline due at ``settled_by`` if its state has not, or resolve an open ``overdue``: the line
    is logged only when this check's conditional write of the new state won."""
    deadline = expectation.deadline_due(settled_by)
    if deadline is None:
        return None
    found = services.ledger.read(expectation.state_name)
    now = services.clock.now()
    if found is None:
        services.ledger.put(expectation.state_name, baseline(deadline, expectation, now).to_json(), None)
        return None
    change = _next_state(expectation, FreshnessState.from_json(found[0]), deadline, services)
    if change is None or not services.ledger.put(expectation.state_name, change[0].to_json(), found[1]):
        return None  # nothing new, or another check wrote first and logged it
    return log_decision(change[1].decision(expectation))


def _next_state(expectation: Expectation, state: FreshnessState, deadline: datetime,
                services: Services) -> tuple[FreshnessState, FreshnessState] | None:
    """The state to write and the one whose line it logs: ``deadline``'s verdict if ``state`` has not decided it,
    else the oldest open ``overdue`` resolved, or None: no change."""
    now = services.clock.now()
    if state.deadline < iso(deadline):  # ISO texts of one form sort in time order
        since = expectation.window_start(deadline)
        after = decided(deadline, since, count(expectation, services, since, deadline), expectation, now, state)
        return after, after
    oldest = state.oldest_open
    if oldest is None:
        return None
    return resolved(state, count(expectation, services, parse_iso(oldest.since), None), now)


def count(expectation: Expectation, services: Services, since: datetime, until: datetime | None) -> int:
    """How many of the expectation's files arrived in [``since``, ``until``) (None: to now): pages of Find Blobs
    by Tags, read until ``min_files`` are found (one page holds them)."""
    found = 0
    for page in services.ledger.container.find_blobs_by_tags(expectation.query(since, until)).by_page():
        found += sum(1 for _ in page)
        if found >= expectation.freshness.min_files:
            break
    return found


def freshness_report(services: Services) -> list[dict[str, Any]]:
    """Each expectation and its last decided deadline, as the status page and ``/api/health`` show it."""
    report = []
    for expectation in expectations(services.config.rules):
        found = services.ledger.read(expectation.state_name)
        shown = {"rule": expectation.rule, "folder": expectation.freshness.folder,
                 "deadline": expectation.freshness.deadline.expression, "min_files": expectation.freshness.min_files}
        if found is not None:
            state = FreshnessState.from_json(found[0])
            shown |= {"verdict": state.verdict, "last_deadline": state.deadline, "since": state.since,
                      "files": state.files}
        report.append(shown)
    return report
