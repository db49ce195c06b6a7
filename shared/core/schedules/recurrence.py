"""Azure ML SDK v1 ``ScheduleRecurrence`` -> the NCRONTAB expression that fires at exactly the same times.

Where no exact expression exists (every 7 minutes, every 2 days, every 2 weeks, ...), the recurrence is refused
with the reason and the nearest expression, rather than silently changing when retraining runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.core.common.errors import InvalidValue

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_KEYS = {"frequency", "interval", "hours", "minutes", "week_days", "time_of_day", "start_time", "time_zone"}


class RecurrenceError(InvalidValue, ValueError):
    """No exact NCRONTAB equivalent, or not a valid v1 recurrence; the message says why and what is nearest."""


def recurrence_to_ncrontab(recurrence: dict[str, Any], *, now: datetime) -> str:
    """The NCRONTAB expression (UTC) equivalent to a v1 recurrence.

    ``start_time`` (ISO 8601, UTC) sets the phase the v1 schedule counted from; without it the phase is the top
    of the hour / midnight / the 1st, which is what an aligned NCRONTAB expression can express.
    """
    if not isinstance(recurrence, dict):
        raise RecurrenceError("a recurrence is an object such as {\"frequency\": \"Day\", \"interval\": 1}")
    unknown = sorted(set(recurrence) - _KEYS)
    if unknown:
        raise RecurrenceError(f"unknown recurrence keys {unknown}; known: {', '.join(sorted(_KEYS))}")
    frequency = recurrence.get("frequency")
    interval = recurrence.get("interval", 1)
    if frequency not in FREQUENCIES:
        raise RecurrenceError(f"frequency {frequency!r} must be one of {', '.join(FREQUENCIES)}")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise RecurrenceError(f"interval {interval!r} must be a whole number >= 1")
    if recurrence.get("time_zone") not in (None, "UTC", "Etc/UTC", "Coordinated Universal Time"):
        raise RecurrenceError("time_zone must be UTC: timers on Linux plans run in UTC, so give times in UTC")
    start = _start_time(recurrence.get("start_time"))
    if start is not None and start > now:
        raise RecurrenceError("a start_time in the future has no NCRONTAB form (the expression would fire from "
                              "now on); add the schedule when it should start, or keep it enabled: false until then")
    time_fields = [key for key in ("hours", "minutes", "week_days", "time_of_day") if recurrence.get(key) is not None]
    if frequency in ("Minute", "Hour", "Month") and time_fields:
        raise RecurrenceError(f"{', '.join(time_fields)} apply to Day and Week recurrences only (as in SDK v1)")
    if frequency == "Day" and recurrence.get("week_days") is not None:
        raise RecurrenceError("week_days apply to Week recurrences only (as in SDK v1)")
    if frequency == "Minute" and interval % 60 == 0:
        frequency, interval = "Hour", interval // 60
    if frequency == "Hour" and interval % 24 == 0:
        frequency, interval = "Day", interval // 24

    second = start.second if start else 0
    if frequency == "Minute":
        return _stepped(interval, 60, start.minute if start else 0, "minutes", 0, f"{second} {{}} * * * *")
    if frequency == "Hour":
        return _stepped(interval, 24, start.hour if start else 0, "hours", 0,
                        f"{second} {start.minute if start else 0} {{}} * * *")
    if frequency == "Month":
        day = start.day if start else 1
        if day > 28:
            raise RecurrenceError(f"day {day} of the month does not exist in every month, so NCRONTAB would skip "
                                  f"those months; nearest: start on day 28 or earlier")
        return _stepped(interval, 12, (start.month - 1) if start else 0, "months", 1,
                        f"{second} {start.minute if start else 0} {start.hour if start else 0} {day} {{}} *")
    minutes, hours = _time_of_day(recurrence, start)
    if frequency == "Day":
        if interval != 1:
            raise RecurrenceError(
                f"every {interval} days has no exact NCRONTAB form (a day-of-month step restarts each month); "
                f"nearest: '{second} {minutes} {hours} */{interval} * *' (restarts on the 1st) or daily "
                f"'{second} {minutes} {hours} * * *'")
        return f"{second} {minutes} {hours} * * *"
    days = _week_days(recurrence.get("week_days"), start)
    if interval != 1:
        raise RecurrenceError(f"every {interval} weeks has no exact NCRONTAB form; nearest: weekly "
                              f"'{second} {minutes} {hours} * * {days}'")
    return f"{second} {minutes} {hours} * * {days}"


def _stepped(interval: int, period: int, phase_units: int, unit: str, first: int, template: str) -> str:
    """``template`` with its stepped field firing every ``interval`` units in phase with the start.

    Refused unless ``interval`` divides ``period``: otherwise the v1 runs drift against the clock.
    """
    if period % interval:
        divisors = [d for d in range(1, period + 1) if period % d == 0]
        nearest = min(divisors, key=lambda d: (abs(d - interval), d))
        raise RecurrenceError(
            f"every {interval} {unit} has no exact NCRONTAB form (a step must divide {period}, or the runs drift "
            f"against the clock); nearest: every {nearest} {unit}, '{template.format(f'*/{nearest}')}'")
    offset = phase_units % interval
    if interval == 1:
        return template.format("*")
    return template.format(f"*/{interval}" if offset == 0 else f"{offset + first}-{period - 1 + first}/{interval}")


def _time_of_day(recurrence: dict[str, Any], start: datetime | None) -> tuple[str, str]:
    time_of_day, hours, minutes = (recurrence.get(key) for key in ("time_of_day", "hours", "minutes"))
    if time_of_day is not None:
        if hours is not None or minutes is not None:
            raise RecurrenceError("give either time_of_day or hours/minutes, not both (as in SDK v1)")
        try:
            hour, minute = (int(part) for part in str(time_of_day).split(":"))
        except ValueError:
            raise RecurrenceError(f"time_of_day {time_of_day!r} must be 'HH:MM'") from None
        hours, minutes = [hour], [minute]
    hours = _numbers(hours, 0, 23, "hours") if hours is not None else [start.hour if start else 0]
    minutes = _numbers(minutes, 0, 59, "minutes") if minutes is not None else [start.minute if start else 0]
    return ",".join(map(str, minutes)), ",".join(map(str, hours))


def _week_days(week_days: Any, start: datetime | None) -> str:
    if week_days is None:
        if start is None:
            raise RecurrenceError("a Week recurrence needs week_days (or a start_time to take the day from)")
        return str((start.weekday() + 1) % 7)
    if not isinstance(week_days, list) or not week_days or any(day not in WEEK_DAYS for day in week_days):
        raise RecurrenceError(f"week_days {week_days!r} must be a list of {', '.join(WEEK_DAYS)}")
    return ",".join(str(index) for index in sorted({WEEK_DAYS.index(day) for day in week_days}))


def _numbers(values: Any, low: int, high: int, what: str) -> list[int]:
    if not isinstance(values, list) or not values or any(
            isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high for v in values):
        raise RecurrenceError(f"{what} {values!r} must be a list of whole numbers from {low} to {high}")
    return sorted(set(values))


def _start_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(str(value))  # reads a trailing Z since Python 3.11
    except ValueError:
        raise RecurrenceError(f"start_time {value!r} must be an ISO 8601 time such as 2026-01-01T02:00:00Z") from None
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
