"""Backfill's entry points, over one flow (``shared.flows.backfill.backfill``): the command line waits for a slot
when the active-run cap is reached; the HTTP twin (``POST /api/backfill``) stops there and within the time an HTTP
request has, saying what is left, and is simply sent again to continue."""

from __future__ import annotations

from typing import Any

from shared.clients.process.services import Services
from shared.core.backfill.backfill import Window, rerun
from shared.core.common.errors import InvalidInput
from shared.flows.backfill.backfill import Pace, backfill
from shared.operations.http.records import MAX_LIST_LIMIT, moment

WORKERS = 4
"""Versions at once in one request: its time (HTTP_DEADLINE_SECONDS) goes further, the rule's other triggers
still get their turn."""
BACKFILL_SCHEMA = {"rule": str, "since": str, "until": str, "run": bool, "rerun_completed": str,
                   "rerun_outcomes": list, "max_active": int}
"""``POST /api/backfill``'s body: ``run`` false (the default) is a dry run; ``rerun_outcomes`` (a list of outcome
words) limits ``rerun_completed``."""


def window(since: str, until: str, *, names: tuple[str, str] = ("since", "until")) -> Window:
    """``[since, until)`` from two ISO 8601 times (UTC when they name no zone); the error names the field."""
    start, end = moment(since, names[0]), moment(until, names[1])
    assert start is not None and end is not None, "both given"
    return Window(start, end, since_name=names[0], until_name=names[1])


MAX_WORKERS = 32
"""The most versions a backfill handles at once: each is a thread with its own storage and Azure ML connections,
and more would crowd the rule's other triggers (and Azure ML's per-workspace request rate) with no gain."""


def max_active(value: Any, what: str = "max_active") -> int:
    if not _whole(value) or value < 1:
        raise InvalidInput(f"{what} must be a whole number >= 1, not {value!r}")
    return int(value)


def workers(value: Any, what: str = "workers") -> int:
    if not _whole(value) or not 1 <= value <= MAX_WORKERS:
        raise InvalidInput(f"{what} must be a whole number from 1 to {MAX_WORKERS}, not {value!r}")
    return int(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def backfill_answer(services: Services, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``POST /api/backfill``: the report, its summary line, and the versions that would run (or ran), at most
    MAX_LIST_LIMIT of them listed."""
    again = rerun(body.get("rerun_completed"), body.get("rerun_outcomes"))
    cap = max_active(body["max_active"]) if "max_active" in body else None
    report, candidates = backfill(services, rule=body["rule"], window=window(body["since"], body["until"]),
                                  run=body.get("run", False), rerun=again,
                                  pace=Pace(max_active=cap, budget=services.config.retry.http_budget,
                                            workers=WORKERS))
    todo = [candidate.line() for candidate in candidates if candidate.standing.would_run]
    return 200, {"summary": report.summary(), "report": report.as_dict(), "versions": todo[:MAX_LIST_LIMIT],
                 "versions_not_listed": max(0, len(todo) - MAX_LIST_LIMIT)}
