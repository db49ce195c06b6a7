"""The time and retry settings of every path (submission, HTTP call, run event), and the named cross-field checks
that keep them consistent with each other, with the claim expiry and with host.json's functionTimeout."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from shared.core.config import settings
from shared.core.config.config_model import RetrySettings
from shared.core.config.problems import Found, Problems


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
        run_event_deadline=settings.number(env, settings.RUN_EVENT_DEADLINE, problems.report),
        run_event_attempt_timeout=settings.number(env, settings.RUN_EVENT_ATTEMPT_TIMEOUT, problems.report),
    )
    if len(problems) == problems_before:  # compared only when each one is a usable number
        problems.add_found(next(filter(None, (check(retry) for check in _RETRY_CHECKS)), None))
        problems.add_found(run_event_attempt_below_run_event_deadline(retry))  # its own pair: never a repeat
    return retry


def _finding(wrong: bool, setting: settings.Setting, value: float, expected: str) -> Found:
    return (setting.name, value, expected) if wrong else None


def max_delay_at_least_base_delay(retry: RetrySettings) -> Found:
    return _finding(retry.max_delay < retry.base_delay, settings.RETRY_MAX_DELAY, retry.max_delay,
                    f"at least {settings.RETRY_BASE_DELAY.name} ({retry.base_delay})")


def _no_room_for_an_attempt(deadline: float, attempt_timeout: float, retry: RetrySettings) -> bool:
    """What every path's deadline must leave room for: one whole attempt and the backoff after it (an attempt
    starts only when a whole one fits in what is left, and the claim and blob read come first)."""
    return attempt_timeout + retry.base_delay >= deadline


def attempt_below_deadline(retry: RetrySettings) -> Found:
    """Submission: from a blob, a schedule, a quiet window's tick, the sweep and the fallback."""
    return _finding(_no_room_for_an_attempt(retry.deadline, retry.attempt_timeout, retry),
                    settings.SUBMIT_ATTEMPT_TIMEOUT, retry.attempt_timeout,
                    f"below {settings.SUBMIT_DEADLINE.name} - {settings.RETRY_BASE_DELAY.name} "
                    f"({retry.deadline - retry.base_delay:g}): an attempt starts only when a whole one fits in the "
                    "time left after the claim, so a deadline must leave room for one attempt and its backoff")


def run_event_attempt_below_run_event_deadline(retry: RetrySettings) -> Found:
    """A run event: Azure ML's error for a failed run, and the waiting trigger its run's end lets start."""
    return _finding(_no_room_for_an_attempt(retry.run_event_deadline, retry.run_event_attempt_timeout, retry),
                    settings.RUN_EVENT_ATTEMPT_TIMEOUT, retry.run_event_attempt_timeout,
                    f"below {settings.RUN_EVENT_DEADLINE.name} - {settings.RETRY_BASE_DELAY.name} "
                    f"({retry.run_event_deadline - retry.base_delay:g}): a run event must leave room for one "
                    "attempt and its backoff, or a run's end never reaches Azure ML (no failed run's error, no "
                    "waiting trigger started)")


def listing_delay_leaves_time_to_post(retry: RetrySettings) -> Found:
    """A run whose answer was lost would never be settled if an invocation could look its key up but not post."""
    return _finding(retry.listing_delay + retry.attempt_timeout >= retry.deadline, settings.RUN_LISTING_DELAY,
                    retry.listing_delay,
                    f"below {settings.SUBMIT_DEADLINE.name} - {settings.SUBMIT_ATTEMPT_TIMEOUT.name} "
                    f"({retry.deadline - retry.attempt_timeout:g}): an invocation must have time to look a key up "
                    "and then post, or a run whose answer was lost would never be settled")


def http_deadline_above_attempt(retry: RetrySettings) -> Found:
    return _finding(_no_room_for_an_attempt(retry.http_budget, retry.attempt_timeout, retry), settings.HTTP_DEADLINE,
                    retry.http_deadline,
                    f"above {settings.SUBMIT_ATTEMPT_TIMEOUT.name} + {settings.RETRY_BASE_DELAY.name} "
                    f"({retry.attempt_timeout + retry.base_delay:g}): an HTTP call must have time for one attempt "
                    "and its backoff after its claim")


_RETRY_CHECKS: tuple[Callable[[RetrySettings], Found], ...] = (
    max_delay_at_least_base_delay, attempt_below_deadline, listing_delay_leaves_time_to_post,
    http_deadline_above_attempt)
"""In this order, the first finding only: the later ones would repeat it (an attempt as long as the deadline is
as long as the HTTP budget too). With the run event's check, each pair of a deadline and its attempt timeout has
its own; the pair a run event works under (``RetrySettings.run_event``: the shorter of each) then fits too, and
every check here and below holds for it but the listing delay's, which does not apply to a run event: a waiting
trigger's turn there may look a key up, but Event Grid's 30 s cannot hold the listing delay and a POST after it.
A turn cut short is left failed for now, its outcome unknown and its place at the gate kept, and the fallback's
tick, which works under the submission's pair where that check holds, looks the key up and then posts."""


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

