"""shared/core/schedules/recurrence.py: every SDK v1 ScheduleRecurrence form, converted exactly or refused with the
nearest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.schedules.ncrontab import parse_ncrontab
from shared.core.schedules.recurrence import RecurrenceError, recurrence_to_ncrontab
from tests.support.settings import LOADED_AT
from tests.support.zones import local_zone  # noqa: F401  (a fixture: pytest finds it by name)

pytestmark = pytest.mark.usefixtures("local_zone")  # every test here once per local zone: UTC must not depend on it


@pytest.mark.parametrize("recurrence, expression", [
    ({"frequency": "Minute", "interval": 1}, "0 * * * * *"),
    ({"frequency": "Minute", "interval": 15}, "0 */15 * * * *"),
    ({"frequency": "Minute", "interval": 15, "start_time": "2026-01-01T00:05:30Z"}, "30 5-59/15 * * * *"),
    ({"frequency": "Minute", "interval": 120}, "0 0 */2 * * *"),
    ({"frequency": "Hour", "interval": 1}, "0 0 * * * *"),
    ({"frequency": "Hour", "interval": 6, "start_time": "2026-01-01T03:20:00Z"}, "0 20 3-23/6 * * *"),
    ({"frequency": "Hour", "interval": 24, "start_time": "2026-01-01T03:20:00Z"}, "0 20 3 * * *"),
    ({"frequency": "Day", "interval": 1}, "0 0 0 * * *"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "02:30"}, "0 30 2 * * *"),
    ({"frequency": "Day", "interval": 1, "hours": [13, 1], "minutes": [0, 30]}, "0 0,30 1,13 * * *"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-01-01T04:45:00+00:00"}, "0 45 4 * * *"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Monday", "Friday"], "time_of_day": "06:00"},
     "0 0 6 * * 1,5"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Sunday"], "hours": [23], "minutes": [59]},
     "0 59 23 * * 0"),
    ({"frequency": "Week", "interval": 1, "start_time": "2026-11-15T08:00:00Z"}, "0 0 8 * * 0"),  # a Sunday
    ({"frequency": "Month", "interval": 1}, "0 0 0 1 * *"),
    ({"frequency": "Month", "interval": 3, "start_time": "2026-02-15T01:00:00Z"}, "0 0 1 15 2-12/3 *"),
    ({"frequency": "Month", "interval": 6, "start_time": "2026-01-10T00:00:00Z"}, "0 0 0 10 */6 *"),
    ({"frequency": "Day", "interval": 1, "time_zone": "UTC"}, "0 0 0 * * *"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Etc/UTC"}, "0 0 0 * * *"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Coordinated Universal Time"}, "0 0 0 * * *"),
    ({"frequency": "Day"}, "0 0 0 * * *"),  # interval 1 when not given
    ({"frequency": "Month", "interval": 3}, "0 0 0 1 */3 *"),  # from January without a start_time
    ({"frequency": "Month", "interval": 1, "start_time": "2026-01-10T07:45:00Z"}, "0 45 7 10 * *"),
    ({"frequency": "Month", "interval": 1, "start_time": "2026-01-28T00:00:00Z"}, "0 0 0 28 * *"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-01-01T04:45:10Z"}, "10 45 4 * * *"),
    # an aware start_time counts in UTC; a naive one is read as UTC, whatever the machine's zone
    ({"frequency": "Day", "interval": 1, "start_time": "2026-01-01T02:30:00+02:00"}, "0 30 0 * * *"),
    ({"frequency": "Hour", "interval": 6, "start_time": "2026-01-01T02:30:00-05:00"}, "0 30 1-23/6 * * *"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-07-01T02:30:00"}, "0 30 2 * * *"),
])
def test_exact_conversions(recurrence, expression):
    assert recurrence_to_ncrontab(recurrence, now=LOADED_AT) == expression
    parse_ncrontab(expression)  # and the host would accept it


NO_EXACT_STEP = "has no exact NCRONTAB form (a step must divide {}, or the runs drift against the clock); nearest: "
ONLY_DAY_AND_WEEK = " apply to Day and Week recurrences only (as in SDK v1)"
WEEK_DAYS = "must be a list of Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday"


@pytest.mark.parametrize("recurrence, message", [
    ({"frequency": "Minute", "interval": 7},
     "every 7 minutes " + NO_EXACT_STEP.format(60) + "every 6 minutes, '0 */6 * * * *'"),
    ({"frequency": "Minute", "interval": 45},
     "every 45 minutes " + NO_EXACT_STEP.format(60) + "every 30 minutes, '0 */30 * * * *'"),
    ({"frequency": "Minute", "interval": 50},
     "every 50 minutes " + NO_EXACT_STEP.format(60) + "every 60 minutes, '0 */60 * * * *'"),
    ({"frequency": "Hour", "interval": 5},
     "every 5 hours " + NO_EXACT_STEP.format(24) + "every 4 hours, '0 0 */4 * * *'"),
    ({"frequency": "Hour", "interval": 10, "start_time": "2026-01-01T00:15:00Z"},  # 8 and 12 as near: more frequent
     "every 10 hours " + NO_EXACT_STEP.format(24) + "every 8 hours, '0 15 */8 * * *'"),
    ({"frequency": "Month", "interval": 5},
     "every 5 months " + NO_EXACT_STEP.format(12) + "every 4 months, '0 0 0 1 */4 *'"),
    ({"frequency": "Day", "interval": 2, "time_of_day": "02:00"},
     "every 2 days has no exact NCRONTAB form (a day-of-month step restarts each month); nearest: "
     "'0 0 2 */2 * *' (restarts on the 1st) or daily '0 0 2 * * *'"),
    ({"frequency": "Hour", "interval": 48},
     "every 2 days has no exact NCRONTAB form (a day-of-month step restarts each month); nearest: "
     "'0 0 0 */2 * *' (restarts on the 1st) or daily '0 0 0 * * *'"),
    ({"frequency": "Week", "interval": 2, "week_days": ["Monday"]},
     "every 2 weeks has no exact NCRONTAB form; nearest: weekly '0 0 0 * * 1'"),
    ({"frequency": "Month", "interval": 1, "start_time": "2026-01-31T00:00:00Z"},
     "day 31 of the month does not exist in every month, so NCRONTAB would skip those months; nearest: start on "
     "day 28 or earlier"),
    ({"frequency": "Month", "interval": 1, "start_time": "2026-01-29T00:00:00Z"},
     "day 29 of the month does not exist in every month, so NCRONTAB would skip those months; nearest: start on "
     "day 28 or earlier"),
    # fields a frequency does not use are refused, never dropped
    ({"frequency": "Hour", "interval": 1, "hours": [1]}, "hours" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Hour", "interval": 1, "time_of_day": "01:00"}, "time_of_day" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Minute", "interval": 5, "week_days": ["Monday"]}, "week_days" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Minute", "interval": 5, "minutes": [5]}, "minutes" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Month", "interval": 1, "hours": [3], "minutes": [0]}, "hours, minutes" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Month", "interval": 1, "time_of_day": "03:00"}, "time_of_day" + ONLY_DAY_AND_WEEK),
    ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days apply to Week recurrences only (as in "
                                                                   "SDK v1)"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "02:00", "hours": [3]},
     "give either time_of_day or hours/minutes, not both (as in SDK v1)"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "2am"}, "time_of_day '2am' must be 'HH:MM'"),
    ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours [24] must be a list of whole numbers from 0 to 23"),
    ({"frequency": "Day", "interval": 1, "hours": []}, "hours [] must be a list of whole numbers from 0 to 23"),
    ({"frequency": "Day", "interval": 1, "hours": 5}, "hours 5 must be a list of whole numbers from 0 to 23"),
    ({"frequency": "Day", "interval": 1, "hours": [True]},
     "hours [True] must be a list of whole numbers from 0 to 23"),
    ({"frequency": "Day", "interval": 1, "minutes": [60]}, "minutes [60] must be a list of whole numbers from 0 to 59"),
    ({"frequency": "Week", "interval": 1}, "a Week recurrence needs week_days (or a start_time to take the day from)"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Mon"]}, "week_days ['Mon'] " + WEEK_DAYS),
    ({"frequency": "Week", "interval": 1, "week_days": []}, "week_days [] " + WEEK_DAYS),
    ({"frequency": "Week", "interval": 1, "week_days": 5}, "week_days 5 " + WEEK_DAYS),
    ({"frequency": "Fortnight", "interval": 1}, "frequency 'Fortnight' must be one of Minute, Hour, Day, Week, Month"),
    ({"frequency": "Day", "interval": 0}, "interval 0 must be a whole number >= 1"),
    ({"frequency": "Day", "interval": True}, "interval True must be a whole number >= 1"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Tokyo Standard Time"},
     "time_zone must be UTC: timers on Linux plans run in UTC, so give times in UTC"),
    ({"frequency": "Day", "interval": 1, "start_time": "tomorrow"},
     "start_time 'tomorrow' must be an ISO 8601 time such as 2026-01-01T02:00:00Z"),
    ({"frequency": "Day", "interval": 1, "polling_interval": 5},
     "unknown recurrence keys ['polling_interval']; known: frequency, hours, interval, minutes, start_time, "
     "time_of_day, time_zone, week_days"),
    ("Day", 'a recurrence is an object such as {"frequency": "Day", "interval": 1}'),
    ({"frequency": "Month", "interval": 3, "start_time": "2999-02-15T01:00:00Z"},
     "a start_time in the future has no NCRONTAB form (the expression would fire from now on); add the schedule "
     "when it should start, or keep it enabled: false until then"),
])
def test_refusals_say_why_and_what_is_nearest(recurrence, message):
    with pytest.raises(RecurrenceError) as error:
        recurrence_to_ncrontab(recurrence, now=LOADED_AT)
    assert str(error.value) == message


def test_a_start_time_up_to_the_moment_given_is_taken_and_one_microsecond_later_is_in_the_future():
    now = datetime(2026, 3, 1, 2, 30, 15, 1, tzinfo=UTC)
    recurrence = {"frequency": "Day", "interval": 1, "start_time": now.isoformat()}
    assert recurrence_to_ncrontab(recurrence, now=now) == "15 30 2 * * *"
    with pytest.raises(RecurrenceError, match=r"^a start_time in the future has no NCRONTAB form"):
        recurrence_to_ncrontab(recurrence, now=now - timedelta(microseconds=1))
