"""Time as the clients read it and wait on it: one value passed in, so tests and benchmarks can drive it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    now: Callable[[], datetime] = _utc_now
    """Wall-clock time, for what is written down (record times) and read against a server's (Retry-After)."""
    monotonic: Callable[[], float] = time.monotonic
    """For deadlines and waits: never jumps."""
    sleep: Callable[[float], None] = time.sleep


SYSTEM_CLOCK = Clock()
