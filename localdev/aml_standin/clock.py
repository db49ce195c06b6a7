"""Every clock the stand-in reads, in one module, so a test can swap them all (``clock.time``) at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


def monotonic() -> float:
    return time.monotonic()


def wall() -> float:
    return time.time()


def sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass(frozen=True)
class WallClock:
    """Monotonic moments of this process as the wall-clock times a service writes, through one offset read once.

    Reading both clocks afresh for each moment drifts by microseconds between calls, which once wrote a run's start
    after its end; through one offset the same moment is always the same time and a later moment never earlier."""

    offset: float
    """Wall-clock seconds minus monotonic seconds, read together once."""

    @classmethod
    def read(cls) -> WallClock:
        return cls(wall() - monotonic())

    def iso(self, moment: float) -> str:
        return datetime.fromtimestamp(moment + self.offset, UTC).isoformat()

    def now(self) -> str:
        return self.iso(monotonic())
