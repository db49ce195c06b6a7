"""Retry policy for Azure ML calls: which failures are transient, and how long to wait before the next try."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another try; every other 4xx is the caller's mistake and is final."""


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS


def full_jitter_delay(attempt: int, base: float, cap: float, random: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))).

    Full jitter spreads retries of many failed calls apart instead of letting them collide again.
    """
    return random() * min(cap, base * 2.0 ** (attempt - 1))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_delay(attempt: int, base: float, cap: float, retry_after: float | None,
               random: Callable[[], float]) -> float:
    """The wait before the next try: the server's Retry-After when it gave one (never less), else backoff."""
    backoff = full_jitter_delay(attempt, base, cap, random)
    return max(backoff, retry_after) if retry_after is not None else backoff
