"""Field readers the rules file's parsers share: each reads one value and reports what it expected, under the
collector's place, when the value is not that."""

from __future__ import annotations

import re
from typing import Any

from shared.core.config import settings
from shared.core.config.problems import Problems
from shared.core.schedules.ncrontab import CronError, CronSchedule


def unknown_keys(raw: dict[str, Any], known: set[str], what: str, problems: Problems) -> None:
    for key in sorted(set(raw) - known):
        problems.at(key).add(raw[key], f"a known {what} key ({', '.join(sorted(known))})")


def matching(value: Any, pattern: re.Pattern[str], problems: Problems, expected: str) -> str:
    """``value`` when it is text ``pattern`` matches whole; else '' after reporting it."""
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    problems.add(value, expected)
    return ""


def flag(raw: dict[str, Any], key: str, default: bool, problems: Problems) -> bool:
    return settings.parse_flag(raw.get(key), key, default, problems.report)


def at_most_once_a_minute(cron: CronSchedule) -> CronSchedule:
    """``cron`` if it fires at most once a minute; a tick is keyed to the occurrence it stands for, and seconds
    apart a late tick could stand for the next one (a sweep that often would only pile up on itself)."""
    if len(cron.seconds) > 1:
        raise CronError(f"{cron.expression!r} fires more than once a minute; give the seconds field one value")
    return cron
