"""Freshness checks: each expectation's due deadline decided once (``arrived`` or ``overdue``), and an open
``overdue`` counted again on every tick until its files land (``arrived_late``).

A check makes three storage requests plus the count's further Find pages: the state's read, one Find Blobs by Tags
read until it has the files it needs or to its end (an ``overdue`` must prove they are not there), and the state's
conditional write when it changes. Measured on Azurite (docs/freshness.md): 3 when the files are there; an overdue
count there reads a page per 5,000 records of the container (Azurite's SQL store scans), where Azure is inferred to
page by matches. One expectation failing (storage, an unreadable state) is logged and does not stop the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients.process.services import Services
from shared.core.common.errors import TriggerError
from shared.core.common.redaction import mask_text
from shared.core.freshness.freshness import (
    Expectation,
    FreshnessState,
    baseline,
    decided,
    expectations,
    resolution,
    resolved,
    state_document,
)
from shared.core.ledger.decisions import LOGGER, Decision, log_decision
from shared.core.ledger.keys import iso


def check_freshness(services: Services) -> list[Decision]:
    """Every expectation's check at ``services.clock.now()``; the decisions this process's writes won."""
    retry = services.config.retry
    # A file that came just before its deadline may be written down only once its submission settled.
    settled_by = services.clock.now() - timedelta(seconds=retry.deadline + retry.settle_grace)
    return [decision for expectation in expectations(services.config.rules)
            if (decision := _guarded_check(expectation, services, settled_by)) is not None]


def _guarded_check(expectation: Expectation, services: Services, settled_by: datetime) -> Decision | None:
    """``check``, its failure logged and the tick going on to the next expectation (this one is tried again on the
    next tick)."""
    try:
        return check(expectation, services, settled_by)
    except Exception as error:  # storage, an unreadable state, a bug: named and logged; the others still run
        LOGGER.error("freshness check of %s not made (tried again next minute): %s", expectation.state_name,
                     _problem(error))
        return None


def _problem(error: Exception) -> str:
    """An error as shown: its type and first line, masked (a storage error may echo a URL with a signature)."""
    first_line = (str(error).splitlines() or [""])[0]
    return mask_text(f"{type(error).__name__}: {first_line[:300]}")


def _read_state(expectation: Expectation, services: Services) -> tuple[dict[str, Any], str] | None:
    """The expectation's stored state and its ETag (None: none yet); ``UnreadableRecord`` when it is not one."""
    return services.ledger.read(expectation.state_name, parse=partial(state_document, expectation.state_name))


def check(expectation: Expectation, services: Services, settled_by: datetime) -> Decision | None:
    """Decide the deadline due at ``settled_by`` if its state has not, or resolve an open ``overdue``: the line
    is logged only when this check's conditional write of the new state won."""
    deadline = expectation.deadline_due(settled_by)
    if deadline is None:
        return None
    found = _read_state(expectation, services)
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
        files = count(expectation, services, since, deadline, expectation.freshness.min_files)
        after = decided(deadline, since, files, expectation, now, state)
        return after, after
    needs = resolution(expectation, state)
    if needs is None:
        return None
    files = count(expectation, services, needs.since, needs.until, needs.needed)
    return resolved(state, files, needs.needed, now)


def count(expectation: Expectation, services: Services, since: datetime, until: datetime, needed: int) -> int:
    """How many of the expectation's files arrived in [``since``, ``until``): pages of Find Blobs by Tags, read
    until ``needed`` are found, else to the end (fewer must be proven)."""
    found = 0
    for page in services.ledger.container.find_blobs_by_tags(expectation.query(since, until)).by_page():
        found += sum(1 for _ in page)
        if found >= needed:
            break
    return found


def freshness_report(services: Services) -> list[dict[str, Any]]:
    """Each expectation and its last decided deadline, as the status page and ``/api/health`` show it."""
    return [_shown(expectation, services) for expectation in expectations(services.config.rules)]


def _shown(expectation: Expectation, services: Services) -> dict[str, Any]:
    """One expectation as shown; a state that cannot be read gives its ``error`` (masked), not a failed page."""
    shown: dict[str, Any] = {"rule": expectation.rule, "folder": expectation.freshness.folder,
                             "deadline": expectation.freshness.deadline.expression,
                             "min_files": expectation.freshness.min_files}
    try:
        found = _read_state(expectation, services)
    except (AzureError, TriggerError) as error:
        return shown | {"error": _problem(error)}
    if found is not None:
        state = FreshnessState.from_json(found[0])
        shown |= {"verdict": state.verdict, "last_deadline": state.deadline, "since": state.since,
                  "files": state.files}
    return shown
