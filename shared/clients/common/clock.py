"""The one clock: wall time, monotonic time and waiting, as one value passed to whatever needs time.

``Services`` holds it (``services.clock``) and hands it to the ledger and the Azure ML client; a trigger at the
edge reads ``SYSTEM_CLOCK``; the pure layer (``shared/core/``) reads none and is given the time. This module is the
only place in ``shared/``, ``triggers/`` and ``function_app.py`` that reads the system's clock
(``tests/app/test_layers.py`` refuses a read anywhere else). Tests and benchmarks drive time by replacing a part
(``Clock(now=...)``, ``Clock(sleep=...)``) or with ``tests/support/clock.py``'s settable clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(NamedTuple):
    """What every clock offers (the system's by default, any part replaceable); a frozen value, so one clock is
    shared by every client built from it."""

    now: Callable[[], datetime] = _utc_now
    """Wall-clock time, for what is written down (record times) and read against a server's (Retry-After)."""
    monotonic: Callable[[], float] = time.monotonic
    """For deadlines and waits: never jumps."""
    sleep: Callable[[float], None] = time.sleep
    """Waiting between attempts and polls."""


SYSTEM_CLOCK = Clock()
"""The system's clock: what the app runs on."""
