"""A timer tick -> exactly one pipeline run per schedule occurrence, on the data chosen at fire time.

The key is the schedule's name and the occurrence computed from its NCRONTAB expression (not the wall clock), so
a double-fired tick submits once and a past-due tick submits once for the occurrence it stands for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clients.process.services import Services
from shared.core.config.config_model import Schedule
from shared.core.ledger.decisions import Decision
from shared.core.runs.run_requests import schedule_request
from shared.flows.runs.run_steps import execute

FIRE_ROUNDING = timedelta(milliseconds=500)
"""A tick is read to the nearest second, so a timer firing a hair early still names its own occurrence."""


def occurrence_for(schedule: Schedule, fired_at: datetime) -> datetime:
    """The scheduled occurrence a tick at ``fired_at`` stands for: the latest one at or before it."""
    occurrence = schedule.cron.latest_at_or_before(fired_at + FIRE_ROUNDING)
    assert occurrence is not None, "a validated expression fires at least once in any 29 years"
    return occurrence


def fire_schedule(name: str, *, fired_at: datetime, past_due: bool, services: Services,
                  deadline: float | None = None) -> Decision:
    """Start the run one tick of schedule ``name`` calls for, unless its occurrence was already handled.

    ``deadline`` (monotonic) bounds an operator's HTTP retry below SUBMIT_DEADLINE_SECONDS.
    """
    schedule = next((s for s in services.config.schedules if s.name == name and s.enabled), None)
    if schedule is None:
        raise LookupError(f"schedule {name!r} is not in the configuration (or is disabled); restart the app "
                          "after changing schedules so the timer functions match")
    request = schedule_request(schedule, occurrence_for(schedule, fired_at), fired_at=fired_at, past_due=past_due)
    deadline = services.clock.monotonic() + services.config.retry.deadline if deadline is None else deadline
    return execute(request, services, deadline)
