"""The submission's time and retry settings, and the named cross-field checks that keep them consistent with each
other, with the claim expiry and with host.json's functionTimeout."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from shared.rules import settings
from shared.rules.config_model import RetrySettings
from shared.rules.problems import Found, Problems


def retry_settings(env: Mapping[str, str], problems: Problems) -> RetrySettings:
    """The submission's time and retry settings, each within its bounds, checked against each other."""
    problems_before = len(problems)
    retry = RetrySettings(
        max_attempts=int(settings.number(env, settings.RETRY_MAX_ATTEMPTS, problems.report)),
        base_delay=settings.number(env, settings.RETRY_BASE_DELAY, problems.report),
        max_delay=settings.number(env, settings.RETRY_MAX_DELAY, problems.report),
        deadline=settings.number(env, settings.SUBMIT_DEADLINE, problems.report),
        attempt_timeout=settings.number(env, settings.SUBMIT_ATTEMPT_TIMEOUT, problems.report),
        listing_delay=settings.number(env, settings.RUN_LISTING_DELAY, problems.report),
        http_deadline=settings.number(env, settings.HTTP_DEADLINE, problems.report),
    )
    if len(problems) == problems_before:  # compared only when each one is a usable number
        problems.add_found(next(filter(None, (check(retry) for check in _RETRY_CHECKS)), None))
    return retry



def _finding(wrong: bool, setting: settings.Setting, value: float, expected: str) -> Found:
    return (setting.name, value, expected) if wrong else None


def max_delay_at_least_base_delay(retry: RetrySettings) -> Found:
    return _finding(retry.max_delay < retry.base_delay, settings.RETRY_MAX_DELAY, retry.max_delay,
                    f"at least {settings.RETRY_BASE_DELAY.name} ({retry.base_delay})")


def attempt_below_deadline(retry: RetrySettings) -> Found:
    """An attempt starts only if a whole one fits in what is left, and the claim and blob read come first."""
    return _finding(retry.attempt_timeout >= retry.deadline, settings.SUBMIT_ATTEMPT_TIMEOUT, retry.attempt_timeout,
                    f"below {settings.SUBMIT_DEADLINE.name} ({retry.deadline:g}): an attempt starts only when a "
                    "whole one fits in the time left after the claim, so one as long as the deadline never starts")


def listing_delay_leaves_time_to_post(retry: RetrySettings) -> Found:
    """A run whose answer was lost would never be settled if an invocation could look its key up but not post."""
    return _finding(retry.listing_delay + retry.attempt_timeout >= retry.deadline, settings.RUN_LISTING_DELAY,
                    retry.listing_delay,
                    f"below {settings.SUBMIT_DEADLINE.name} - {settings.SUBMIT_ATTEMPT_TIMEOUT.name} "
                    f"({retry.deadline - retry.attempt_timeout:g}): an invocation must have time to look a key up "
                    "and then post, or a run whose answer was lost would never be settled")


def http_deadline_above_attempt(retry: RetrySettings) -> Found:
    return _finding(retry.attempt_timeout >= retry.http_budget, settings.HTTP_DEADLINE, retry.http_deadline,
                    f"above {settings.SUBMIT_ATTEMPT_TIMEOUT.name} ({retry.attempt_timeout:g}): an HTTP call must "
                    "have time for one attempt after its claim")


_RETRY_CHECKS: tuple[Callable[[RetrySettings], Found], ...] = (
    max_delay_at_least_base_delay, attempt_below_deadline, listing_delay_leaves_time_to_post,
    http_deadline_above_attempt)
"""In this order, the first finding only: the later ones would repeat it (an attempt as long as the deadline is
as long as the HTTP budget too)."""


def deadline_within_function_timeout(retry: RetrySettings, timeout: float | None) -> Found:
    """The host must never kill an invocation that is still settling its record."""
    if timeout is None:  # host.json sets none: the plan's default applies, unknown here
        return None
    return _finding(retry.deadline > timeout - 30, settings.SUBMIT_DEADLINE, retry.deadline,
                    f"at most host.json functionTimeout - 30 s ({timeout - 30:g}), so the host never kills an "
                    "invocation that is still settling its record")


def claim_outlives_deadline(claim_expiry: float, retry: RetrySettings) -> Found:
    return _finding(claim_expiry < 2 * retry.deadline, settings.CLAIM_EXPIRY, claim_expiry,
                    f"at least twice {settings.SUBMIT_DEADLINE.name} ({2 * retry.deadline:g}), so a live claim "
                    "never looks abandoned")


def function_timeout(app_root: Path) -> float | None:
    """host.json's functionTimeout in seconds, when the app sets one."""
    try:
        text = json.loads((app_root / "host.json").read_text(encoding="utf-8")).get("functionTimeout")
        hours, minutes, seconds = (float(part) for part in text.split(":"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return hours * 3600 + minutes * 60 + seconds

