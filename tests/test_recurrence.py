"""shared/rules/recurrence.py: every SDK v1 ScheduleRecurrence form, converted exactly or refused with the nearest."""

from __future__ import annotations

import pytest

from shared.rules.ncrontab import parse_ncrontab
from shared.rules.recurrence import RecurrenceError, recurrence_to_ncrontab


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
])
def test_exact_conversions(recurrence, expression):
    assert recurrence_to_ncrontab(recurrence) == expression
    parse_ncrontab(expression)  # and the host would accept it


@pytest.mark.parametrize("recurrence, message", [
    ({"frequency": "Minute", "interval": 7},
     "every 7 minutes has no exact NCRONTAB form (a step must divide 60, or the runs drift against the clock); "
     "nearest: every 6 minutes, '0 */6 * * * *'"),
    ({"frequency": "Minute", "interval": 45}, "nearest: every 30 minutes, '0 */30 * * * *'"),
    ({"frequency": "Hour", "interval": 5}, "nearest: every 4 hours, '0 0 */4 * * *'"),
    ({"frequency": "Hour", "interval": 10, "start_time": "2026-01-01T00:15:00Z"},
     "nearest: every 8 hours, '0 15 */8 * * *'"),  # 8 and 12 are as near; the more frequent wins
    ({"frequency": "Day", "interval": 2, "time_of_day": "02:00"},
     "every 2 days has no exact NCRONTAB form (a day-of-month step restarts each month); nearest: "
     "'0 0 2 */2 * *' (restarts on the 1st) or daily '0 0 2 * * *'"),
    ({"frequency": "Week", "interval": 2, "week_days": ["Monday"]},
     "every 2 weeks has no exact NCRONTAB form; nearest: weekly '0 0 0 * * 1'"),
    ({"frequency": "Month", "interval": 5}, "nearest: every 4 months, '0 0 0 1 */4 *'"),
    ({"frequency": "Month", "interval": 1, "start_time": "2026-01-31T00:00:00Z"},
     "day 31 of the month does not exist in every month"),
    ({"frequency": "Hour", "interval": 1, "hours": [1]}, "hours apply to Day and Week recurrences only"),
    ({"frequency": "Minute", "interval": 5, "week_days": ["Monday"]}, "week_days apply to Day and Week"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "02:00", "hours": [3]}, "either time_of_day or hours/minutes"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "2am"}, "time_of_day '2am' must be 'HH:MM'"),
    ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours [24] must be a list of whole numbers from 0 to 23"),
    ({"frequency": "Week", "interval": 1}, "a Week recurrence needs week_days"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Mon"]}, "week_days ['Mon'] must be a list of Sunday"),
    ({"frequency": "Fortnight", "interval": 1}, "frequency 'Fortnight' must be one of Minute, Hour, Day, Week, Month"),
    ({"frequency": "Day", "interval": 0}, "interval 0 must be a whole number >= 1"),
    ({"frequency": "Day", "interval": True}, "interval True must be a whole number >= 1"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Tokyo Standard Time"}, "time_zone must be UTC"),
    ({"frequency": "Day", "interval": 1, "start_time": "tomorrow"}, "start_time 'tomorrow' must be an ISO 8601"),
    ({"frequency": "Day", "interval": 1, "polling_interval": 5}, "unknown recurrence keys ['polling_interval']"),
    ("Day", "a recurrence is an object"),
])
def test_refusals_say_why_and_what_is_nearest(recurrence, message):
    with pytest.raises(RecurrenceError) as error:
        recurrence_to_ncrontab(recurrence)
    assert message in str(error.value)


@pytest.mark.parametrize("recurrence, message", [
    ({"frequency": "Month", "interval": 3, "start_time": "2999-02-15T01:00:00Z"}, "a start_time in the future"),
    ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days apply to Week recurrences only"),
])
def test_conversions_that_would_not_be_exact_are_refused(recurrence, message):
    with pytest.raises(RecurrenceError, match=message):
        recurrence_to_ncrontab(recurrence)
