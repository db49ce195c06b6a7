"""The field readers the rules file's parsers share (shared/core/config/fields.py): what each gives back, and the
problem it reports under the collector's place."""

from __future__ import annotations

import re

import pytest

from shared.core.config.fields import at_most_once_a_minute, matching, unknown_keys
from shared.core.config.problems import Problems
from shared.core.schedules.ncrontab import CronError, parse_ncrontab

pytestmark = pytest.mark.unit

NAME = re.compile(r"[a-z]+")


@pytest.mark.parametrize(("value", "given", "found"), [
    ("nightly", "nightly", []),
    ("night ly", "", ["rules[0].name = 'night ly': a lower-case name"]),
    (3, "", ["rules[0].name = 3: a lower-case name"]),
])
def test_a_matching_value_is_given_back_and_any_other_is_reported_and_given_as_empty(value, given, found):
    problems = Problems.of().at("rules").index(0).at("name")
    assert matching(value, NAME, problems, "a lower-case name") == given
    assert [str(problem) for problem in problems.found] == found


def test_each_unknown_key_is_reported_under_its_own_name_with_the_known_ones():
    problems = Problems.of().at("rules").index(0)
    unknown_keys({"name": "n", "zeta": 1, "alpha": 2}, {"name", "target"}, "rule", problems)
    assert [str(problem) for problem in problems.found] == [
        "rules[0].alpha = 2: a known rule key (name, target)", "rules[0].zeta = 1: a known rule key (name, target)"]


def test_a_schedule_that_fires_more_than_once_a_minute_is_refused():
    assert at_most_once_a_minute(every_minute := parse_ncrontab("0 * * * * *")) is every_minute
    with pytest.raises(CronError, match=r"^'\*/30 \* \* \* \* \*' fires more than once a minute; give the seconds "
                                        r"field one value$"):
        at_most_once_a_minute(parse_ncrontab("*/30 * * * * *"))
