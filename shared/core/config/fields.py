"""Field readers the rules file's parsers share: each reads one value and reports what it expected, under the
collector's place, when the value is not that."""

from __future__ import annotations

import re
from typing import Any

from shared.core.config import settings
from shared.core.config.problems import Problems


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
