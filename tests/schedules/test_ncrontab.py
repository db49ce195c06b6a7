"""shared/core/schedules/ncrontab.py: NCRONTAB parsed and evaluated as the Functions host (NCrontab) does, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.core.schedules.ncrontab import CronError, parse_ncrontab
from tests.support.zones import local_zone  # noqa: F401  (a fixture: pytest finds it by name)

pytestmark = pytest.mark.usefixtures("local_zone")  # every test here once per local zone: UTC must not depend on it


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize("expression, moment, latest, earliest_after", [
    # daily at 02:00: exactly on, just before, just after
    ("0 0 2 * * *", utc(2026, 11, 22, 2, 0, 0), utc(2026, 11, 22, 2), utc(2026, 11, 23, 2)),
    ("0 0 2 * * *", utc(2026, 11, 22, 1, 59, 59), utc(2026, 11, 21, 2), utc(2026, 11, 22, 2)),
    # the seconds field counts
    ("30 */5 * * * *", utc(2026, 11, 22, 0, 5, 29), utc(2026, 11, 22, 0, 0, 30), utc(2026, 11, 22, 0, 5, 30)),
    ("*/15 * * * * *", utc(2026, 11, 22, 0, 0, 44), utc(2026, 11, 22, 0, 0, 30), utc(2026, 11, 22, 0, 0, 45)),
    # year and month ends in UTC
    ("0 0 0 * * *", utc(2027, 1, 1, 0, 0, 0), utc(2027, 1, 1), utc(2027, 1, 2)),
    ("59 59 23 31 12 *", utc(2027, 1, 1, 0, 0, 0), utc(2026, 12, 31, 23, 59, 59), utc(2027, 12, 31, 23, 59, 59)),
    # day 31 skips the months without one; 29 February only in leap years
    ("0 0 0 31 * *", utc(2026, 12, 1), utc(2026, 10, 31), utc(2026, 12, 31)),
    ("0 0 0 29 2 *", utc(2026, 3, 1), utc(2024, 2, 29), utc(2028, 2, 29)),
    ("0 0 0 L * *".replace("L", "28-31/3"), utc(2026, 3, 1), utc(2026, 2, 28), utc(2026, 3, 28)),
    # a/n means from a to the end of the field, step n
    ("0 5/20 * * * *", utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 0, 25), utc(2026, 1, 1, 0, 45)),
    # day of month AND day of week (NCrontab), not OR (Vixie cron)
    ("0 0 12 16 * Mon", utc(2026, 1, 1), utc(2025, 6, 16, 12), utc(2026, 2, 16, 12)),
    # names by prefix, case-insensitive; weekday ranges
    ("0 30 9 * jan-Mar MON-fri", utc(2026, 4, 1), utc(2026, 3, 31, 9, 30), utc(2027, 1, 1, 9, 30)),
    ("0 0 0 * * Sun", utc(2026, 11, 22, 12), utc(2026, 11, 22), utc(2026, 11, 29)),
    # a list keeps every item: 09:00 and 17:00, not only the last
    ("0 0 9,17 * * *", utc(2026, 11, 22, 10), utc(2026, 11, 22, 9), utc(2026, 11, 22, 17)),
    ("0 0 9,17 * * *", utc(2026, 11, 22, 18), utc(2026, 11, 22, 17), utc(2026, 11, 23, 9)),
    # past the minute in this hour: the next hour's minute, and this hour's going back (not another day's)
    ("0 5 * * * *", utc(2026, 11, 22, 10, 30), utc(2026, 11, 22, 10, 5), utc(2026, 11, 22, 11, 5)),
    ("0 40 * * * *", utc(2026, 11, 22, 10, 30), utc(2026, 11, 22, 9, 40), utc(2026, 11, 22, 10, 40)),
    ("30 * * * * *", utc(2026, 11, 22, 10, 30, 45), utc(2026, 11, 22, 10, 30, 30), utc(2026, 11, 22, 10, 31, 30)),
    # */1 is every value
    ("0 */1 * * * *", utc(2026, 11, 22, 10, 30, 1), utc(2026, 11, 22, 10, 30), utc(2026, 11, 22, 10, 31)),
])
def test_occurrences(expression, moment, latest, earliest_after):
    schedule = parse_ncrontab(expression)
    assert schedule.latest_at_or_before(moment) == latest
    assert schedule.earliest_after(moment) == earliest_after


def test_sub_second_parts_are_ignored_and_other_zones_are_converted():
    schedule = parse_ncrontab("0 0 2 * * *")
    assert schedule.latest_at_or_before(utc(2026, 11, 22, 2, 0, 0) + timedelta(microseconds=999_999)) == utc(
        2026, 11, 22, 2)
    tokyo = timezone(timedelta(hours=9))
    assert schedule.latest_at_or_before(datetime(2026, 11, 22, 11, 0, tzinfo=tokyo)) == utc(2026, 11, 22, 2)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match=r"^times must be timezone-aware$"):
        parse_ncrontab("0 0 2 * * *").latest_at_or_before(datetime(2026, 1, 1))


NEVER_FIRES = " never fires (no date has that day of month, month and day of week)"


@pytest.mark.parametrize("expression, message", [
    ("0 2 * * *", "'0 2 * * *' must have six fields: second minute hour day month day-of-week (add the seconds "
                  "field first: '0 0 2 * * *')"),
    ("0 0 0 0 2 * *", "'0 0 0 0 2 * *' must have six fields: second minute hour day month day-of-week"),
    ("60 * * * * *", "'60' is not a valid second field (0-59)"),
    ("0 0 24 * * *", "'24' is not a valid hour field (0-23)"),
    ("0 0 0 0 * *", "'0' is not a valid day field (1-31)"),
    ("0 0 0 * 13 *", "'13' is not a valid month field (1-12 or names such as Jan)"),
    ("0 0 0 * * 7", "'7' is not a valid day of week field (0-6 or names such as Sun)"),
    ("0 0 0 * * Funday", "'Funday' is not a valid day of week field (0-6 or names such as Sun)"),
    ("0 */0 * * * *", "'*/0' is not a valid minute field (0-59)"),
    ("0 */+2 * * * *", "'*/+2' is not a valid minute field (0-59)"),
    ("0 */-1 * * * *", "'*/-1' is not a valid minute field (0-59)"),
    ("0 10-5 * * * *", "'10-5' is not a valid minute field (0-59)"),
    ("0 ,5 * * * *", "',5' is not a valid minute field (0-59)"),
    ("0 0 0 30 2 *", "'0 0 0 30 2 *'" + NEVER_FIRES),
    ("0 0 0 31 4,6,9,11 *", "'0 0 0 31 4,6,9,11 *'" + NEVER_FIRES),
])
def test_invalid_expressions_are_refused_with_the_reason(expression, message):
    with pytest.raises(CronError) as error:
        parse_ncrontab(expression)
    assert str(error.value) == message


def test_a_list_step_and_range_parse_to_every_value_they_name():
    schedule = parse_ncrontab("0 0,*/20 9,17 1-3 * *")
    assert (schedule.minutes, schedule.hours, schedule.days) == ((0, 20, 40), (9, 17), (1, 2, 3))


def test_the_expression_is_kept_as_written_for_the_binding():
    assert parse_ncrontab("0 30 9 * * Mon-Fri").expression == "0 30 9 * * Mon-Fri"


@pytest.mark.parametrize("expression, gap", [
    ("0 * * * * *", timedelta(minutes=1)),
    ("30 */5 * * * *", timedelta(minutes=5)),
    ("0 0,50 * * * *", timedelta(minutes=50)),  # 00:50 to 01:00 is 10 min; the longer gap counts
    ("0 30 23 * * *", timedelta(days=1)),  # one time a day: from one day's to the next
    ("30 0 9-17 * * Mon-Fri", timedelta(days=2, hours=16)),  # Friday 17:00:30 to Monday 09:00:30
    ("0 0 0 31 * *", timedelta(days=61)),  # 31 July to 31 August is shorter than 31 May to 31 July
    ("0 0 0 1 Feb *", timedelta(days=366)),  # on two days in the span, 1 February 2000 and 2001 (a leap year)
    ("0 0 0 29 Feb Mon", timedelta(days=732)),  # fires once in the span looked at: the span
])
def test_the_longest_gap_between_consecutive_occurrences(expression, gap):
    assert parse_ncrontab(expression).longest_gap() == gap
