"""NCRONTAB as the Functions host reads it (six fields, seconds first, evaluated in UTC).

Used to name the occurrence a timer fired for, so a double-fired or past-due tick maps to one idempotency key.
Semantics follow the NCrontab library the host uses: lists, ranges and steps (``*/n``, ``a-b/n``, and ``a/n`` =
from a to the field's end), month and day names matched by case-insensitive prefix, day of week 0-6 with Sunday 0,
and a day must match day-of-month AND day-of-week (unlike Vixie cron, which ORs them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import NamedTuple

from shared.core.common.errors import InvalidValue

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
SEARCH_DAYS = 366 * 29
"""How far to look for an occurrence: 29 years covers the rarest real schedule (29 February on a given weekday)."""
GAP_SPAN_DAYS = 366 * 2
"""How far ``longest_gap`` looks: two years hold every gap of a schedule that fires at least once a year; a rarer
one answers the span, already far beyond any setting a gap is compared with."""
_EPOCH = date(2000, 1, 1)


class _Field(NamedTuple):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("second", 0, 59), _Field("minute", 0, 59), _Field("hour", 0, 23), _Field("day", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES), _Field("day of week", 0, 6, DAY_NAMES),
)


class CronError(InvalidValue, ValueError):
    """An expression the host would refuse, or one that never fires; the message says why."""


class CronSchedule(NamedTuple):
    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last occurrence at or before ``moment`` (second resolution, UTC)."""
        return self._occurrence(_utc_second(moment), later=False)

    def earliest_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (second resolution, UTC)."""
        return self._occurrence(_utc_second(moment) + timedelta(seconds=1), later=True)

    def longest_gap(self) -> timedelta:
        """The longest time between two consecutive occurrences in ``GAP_SPAN_DAYS`` from 2000 (the whole span
        when it fires on fewer than two days there): how stale what this timer keeps fresh can get. Every matching
        day has the same times, so only the gaps within a day and from a matching day's last time to the next
        one's first count."""
        times = sorted(hour * 3600 + minute * 60 + second
                       for hour in self.hours for minute in self.minutes for second in self.seconds)
        days = [number for number in range(GAP_SPAN_DAYS) if self._day_matches(_EPOCH + timedelta(days=number))]
        if len(days) < 2:
            return timedelta(days=GAP_SPAN_DAYS)
        within = [later - earlier for earlier, later in pairwise(times)]
        across = [(later - earlier) * 86400 - times[-1] + times[0]
                  for earlier, later in pairwise(days)]
        return timedelta(seconds=max(within + across))

    def _day_matches(self, day: date) -> bool:
        return day.month in self.months and day.day in self.days and (day.weekday() + 1) % 7 in self.weekdays

    def _occurrence(self, moment: datetime, later: bool) -> datetime | None:
        day, bound = moment.date(), moment.time()
        step = timedelta(days=1 if later else -1)
        for _ in range(SEARCH_DAYS):
            if self._day_matches(day):
                found = self._time_in_day(bound, later)
                if found is not None:
                    return datetime.combine(day, found, tzinfo=UTC)
            day += step
            bound = time.min if later else time.max
        return None

    def _time_in_day(self, bound: time, later: bool) -> time | None:
        """The nearest allowed time of day at or beyond ``bound`` in the search direction."""
        def nearest_first(values: tuple[int, ...], limit: int) -> list[int]:
            return [v for v in values if v >= limit] if later else [v for v in reversed(values) if v <= limit]

        free = 0 if later else 59
        for hour in nearest_first(self.hours, bound.hour):
            minute_limit = bound.minute if hour == bound.hour else free
            for minute in nearest_first(self.minutes, minute_limit):
                second_limit = bound.second if (hour, minute) == (bound.hour, bound.minute) else free
                for second in nearest_first(self.seconds, second_limit):
                    return time(hour, minute, second)
        return None


def parse_ncrontab(expression: str) -> CronSchedule:
    """Parse a six-field NCRONTAB expression; raise CronError saying what is wrong."""
    parts = expression.split()
    if len(parts) != 6:
        hint = f" (add the seconds field first: '0 {' '.join(parts)}')" if len(parts) == 5 else ""
        raise CronError(f"{expression!r} must have six fields: second minute hour day month day-of-week{hint}")
    values = [_parse_field(text, spec) for text, spec in zip(parts, _FIELDS, strict=True)]
    schedule = CronSchedule(expression, *values)
    if schedule.earliest_after(datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise CronError(f"{expression!r} never fires (no date has that day of month, month and day of week)")
    return schedule


def _parse_field(text: str, spec: _Field) -> tuple[int, ...]:
    allowed: set[int] = set()
    for part in text.split(","):
        try:
            allowed |= _parse_part(part, spec)
        except (ValueError, IndexError):
            raise CronError(f"{text!r} is not a valid {spec.name} field ({spec.low}-{spec.high}"
                            + (f" or names such as {spec.names[0][:3]}" if spec.names else "") + ")") from None
    return tuple(sorted(allowed))


def _parse_part(part: str, spec: _Field) -> set[int]:
    base, slash, step_text = part.partition("/")
    step = int(step_text) if slash else 1
    if slash and (not step_text.isdigit() or step < 1):
        raise ValueError
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _value(first, spec), _value(last, spec)
    else:
        low = _value(base, spec)
        high = spec.high if slash else low
    if not spec.low <= low <= high <= spec.high:
        raise ValueError
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    for index, name in enumerate(spec.names):
        if text and name.lower().startswith(text.lower()):
            return spec.low + index
    raise ValueError


def _utc_second(moment: datetime) -> datetime:
    """``moment`` in UTC; the search reads only its date, hour, minute and second, so parts of a second drop."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC)
