"""A clock a test sets: the app's one ``Clock`` with its wall time moved on, without waiting for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clients.common.clock import SYSTEM_CLOCK, Clock


@dataclass
class SettableClock:
    """The system's clock with its wall time ``ahead`` of the real one, by as much as the test sets (a later timer
    tick, a claim gone stale by this machine's clock). Like a machine whose wall clock is set, its monotonic time
    and its waits stay the system's, so the deadlines it gives still hold for the clients built on the real clock."""

    ahead: timedelta = timedelta()

    def now(self) -> datetime:
        return SYSTEM_CLOCK.now() + self.ahead

    @property
    def clock(self) -> Clock:
        """This setting as the app's ``Clock`` (``services.clock = ...``): reads follow later changes of ``ahead``."""
        return SYSTEM_CLOCK._replace(now=self.now)
