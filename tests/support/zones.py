"""Run a test module once per local time zone, so code that reads the machine's zone where it should use UTC fails
even on a machine (or CI) that runs in UTC."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

LOCAL_ZONES = ("UTC0", "<+0545>-5:45", "EST5EDT,M3.2.0,M11.1.0")
"""POSIX TZ strings (no tz database needed): UTC, a quarter-hour offset east, and a zone with summer time west."""


@pytest.fixture(params=LOCAL_ZONES)
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's local zone set to each of LOCAL_ZONES in turn (``time.tzset``), and restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
