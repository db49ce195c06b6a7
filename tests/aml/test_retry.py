"""shared/core/aml/retry.py: which Azure ML failures are retried, and how long to wait."""

from __future__ import annotations

import random as random_module
from datetime import UTC, datetime

import pytest

from shared.core.aml.retry import (
    RETRYABLE_STATUS,
    full_jitter_delay,
    is_retryable_status,
    next_delay,
    retry_after_seconds,
)

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
HTTP_NOW = "Fri, 01 Mar 2024 12:00:00 GMT"


def fixed(value: float):
    """A stand-in for random.random that always returns ``value``."""
    return lambda: value


# --- backoff ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt, ceiling", [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (20, 30.0)])
def test_full_jitter_grows_exponentially_up_to_the_cap(attempt, ceiling):
    assert full_jitter_delay(attempt, 1.0, 30.0, fixed(0.0)) == 0.0
    almost_ceiling = full_jitter_delay(attempt, 1.0, 30.0, fixed(0.999))
    assert almost_ceiling == pytest.approx(0.999 * ceiling)
    assert almost_ceiling < ceiling


@pytest.mark.parametrize("attempt, ceiling", [(1, 0.25), (2, 0.5), (3, 1.0), (4, 1.5), (9, 1.5)])
def test_full_jitter_scales_with_base(attempt, ceiling):
    assert full_jitter_delay(attempt, 0.25, 1.5, fixed(0.5)) == pytest.approx(ceiling / 2)


def test_full_jitter_stays_within_bounds_for_real_random_numbers():
    generator = random_module.Random(1234)
    delays = [full_jitter_delay(4, 1.0, 30.0, generator.random) for _ in range(2000)]
    assert all(0.0 <= delay < 8.0 for delay in delays)
    assert min(delays) < 0.5 and max(delays) > 7.5  # spread over the whole range, not clustered


# --- Retry-After -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("120", 120.0), (" 7 ", 7.0), ("0", 0.0)])
def test_retry_after_in_seconds(value, expected):
    assert retry_after_seconds(value, NOW) == expected


@pytest.mark.parametrize("value, expected", [
    ("Fri, 01 Mar 2024 12:01:30 GMT", 90.0),
    ("Fri, 01 Mar 2024 13:00:00 +0100", 0.0),
    ("Fri, 01 Mar 2024 12:00:05 -0000", 5.0),
    (HTTP_NOW, 0.0),
    ("Fri, 01 Mar 2024 11:00:00 GMT", 0.0),
    ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
])
def test_retry_after_as_http_date_is_relative_to_now_and_never_negative(value, expected):
    assert retry_after_seconds(value, NOW) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "1.5", "-5", "12s", "Fri, 32 Mar 2024 12:00:00 GMT"])
def test_absent_or_unreadable_retry_after_is_none(value):
    assert retry_after_seconds(value, NOW) is None


def test_retry_after_with_non_ascii_digits_is_none():
    assert retry_after_seconds("²", NOW) is None


# --- the wait before the next try ------------------------------------------------------------------------------


@pytest.mark.parametrize("randomness", [0.0, 0.5, 0.999])
@pytest.mark.parametrize("attempt", [1, 3, 8])
@pytest.mark.parametrize("retry_after", [0.0, 2.0, 45.0])
def test_next_delay_is_never_below_retry_after(randomness, attempt, retry_after):
    delay = next_delay(attempt, 1.0, 30.0, retry_after, fixed(randomness))
    assert delay >= retry_after
    assert delay == max(retry_after, full_jitter_delay(attempt, 1.0, 30.0, fixed(randomness)))


def test_next_delay_uses_backoff_when_it_is_longer_than_retry_after():
    assert next_delay(3, 1.0, 30.0, 1.0, fixed(0.75)) == 3.0


def test_next_delay_without_retry_after_is_the_backoff():
    assert next_delay(3, 1.0, 30.0, None, fixed(0.75)) == 3.0


# --- statuses --------------------------------------------------------------------------------------------------


def test_retryable_statuses_are_exactly_the_transient_ones():
    assert {408, 429, 500, 502, 503, 504} == RETRYABLE_STATUS


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 201, 202, 301, 400, 401, 403, 404, 409, 412, 422, 501, 505])
def test_other_statuses_are_final(status):
    assert not is_retryable_status(status)
