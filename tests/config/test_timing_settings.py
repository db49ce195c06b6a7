"""The time and retry settings read together (shared/core/config/timing_settings.py): each from its own setting,
each cross-field check's whole finding, and which findings are reported when."""

from __future__ import annotations

import pytest

from shared.core.config import settings
from shared.core.config.config_model import RetrySettings
from shared.core.config.problems import Problems
from shared.core.config.timing_settings import (
    attempt_below_deadline,
    claim_outlives_deadline,
    deadline_within_function_timeout,
    function_timeout,
    http_deadline_above_attempt,
    listing_delay_leaves_time_to_post,
    max_delay_at_least_base_delay,
    retry_settings,
)

pytestmark = pytest.mark.unit

DEFAULTS = RetrySettings()
RETRY_SETTINGS = {"max_attempts": settings.RETRY_MAX_ATTEMPTS, "base_delay": settings.RETRY_BASE_DELAY,
                  "max_delay": settings.RETRY_MAX_DELAY, "deadline": settings.SUBMIT_DEADLINE,
                  "attempt_timeout": settings.SUBMIT_ATTEMPT_TIMEOUT, "listing_delay": settings.RUN_LISTING_DELAY,
                  "http_deadline": settings.HTTP_DEADLINE, "run_event_deadline": settings.RUN_EVENT_DEADLINE,
                  "run_event_attempt_timeout": settings.RUN_EVENT_ATTEMPT_TIMEOUT}


def read(env: dict[str, str]) -> tuple[RetrySettings, list[str]]:
    problems = Problems.of()
    return retry_settings(env, problems), [str(problem) for problem in problems.found]


def test_each_retry_setting_is_read_from_its_own_setting():
    values = {"max_attempts": 3, "base_delay": 2, "max_delay": 40, "deadline": 200, "attempt_timeout": 50,
              "listing_delay": 12, "http_deadline": 90, "run_event_deadline": 24, "run_event_attempt_timeout": 9}
    retry, found = read({RETRY_SETTINGS[field].name: str(value) for field, value in values.items()})
    assert found == [] and {field: getattr(retry, field) for field in values} == values


@pytest.mark.parametrize("field", sorted(RETRY_SETTINGS))
def test_a_retry_setting_that_is_no_number_is_reported_under_its_name_and_no_cross_check_runs(field):
    """The other settings disagree (an attempt as long as the deadline), but are not compared with one unusable."""
    setting = RETRY_SETTINGS[field]
    disagreeing = {"SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "240", "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS": "25"}
    _, found = read({**disagreeing, setting.name: "soon"})
    assert len(found) == 1 and found[0].startswith(f"{setting.name} = 'soon': a ")


def test_only_the_first_submission_finding_is_reported_and_the_run_events_own_beside_it():
    _, found = read({"RETRY_BASE_DELAY_SECONDS": "10", "RETRY_MAX_DELAY_SECONDS": "5",
                     "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "300", "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS": "24"})
    assert found == [
        "RETRY_MAX_DELAY_SECONDS = 5.0: at least RETRY_BASE_DELAY_SECONDS (10.0)",
        "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS = 24.0: below RUN_EVENT_DEADLINE_SECONDS - RETRY_BASE_DELAY_SECONDS (15): a "
        "run event must leave room for one attempt and its backoff, or a run's end never reaches Azure ML (no failed "
        "run's error, no waiting trigger started)"]


@pytest.mark.parametrize(("check", "expected"), [
    (lambda: max_delay_at_least_base_delay(RetrySettings(base_delay=10, max_delay=5)),
     ("RETRY_MAX_DELAY_SECONDS", 5, "at least RETRY_BASE_DELAY_SECONDS (10)")),
    (lambda: attempt_below_deadline(RetrySettings(deadline=30, attempt_timeout=29)),
     ("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", 29, "below SUBMIT_DEADLINE_SECONDS - RETRY_BASE_DELAY_SECONDS (29): an "
      "attempt starts only when a whole one fits in the time left after the claim, so a deadline must leave room "
      "for one attempt and its backoff")),
    (lambda: listing_delay_leaves_time_to_post(RetrySettings(deadline=75, attempt_timeout=60, listing_delay=15)),
     ("RUN_LISTING_DELAY_SECONDS", 15, "below SUBMIT_DEADLINE_SECONDS - SUBMIT_ATTEMPT_TIMEOUT_SECONDS (15): an "
      "invocation must have time to look a key up and then post, or a run whose answer was lost would never be "
      "settled")),
    (lambda: http_deadline_above_attempt(RetrySettings(attempt_timeout=60, http_deadline=61)),
     ("HTTP_DEADLINE_SECONDS", 61, "above SUBMIT_ATTEMPT_TIMEOUT_SECONDS + RETRY_BASE_DELAY_SECONDS (61): an HTTP "
      "call must have time for one attempt and its backoff after its claim")),
    (lambda: deadline_within_function_timeout(DEFAULTS, 269),
     ("SUBMIT_DEADLINE_SECONDS", 240, "at most host.json functionTimeout - 30 s (239), so the host never kills an "
      "invocation that is still settling its record")),
    (lambda: claim_outlives_deadline(479, DEFAULTS),
     ("CLAIM_EXPIRY_SECONDS", 479, "at least twice SUBMIT_DEADLINE_SECONDS (480), so a live claim never looks "
      "abandoned")),
])
def test_each_finding_names_the_setting_its_value_and_what_it_must_be(check, expected):
    """Each check runs in the test's body (not at collection), so mutation testing counts it for this test."""
    assert check() == expected


def test_settings_on_the_bounds_agree():
    assert max_delay_at_least_base_delay(RetrySettings(base_delay=5, max_delay=5)) is None
    assert deadline_within_function_timeout(DEFAULTS, None) is None
    assert http_deadline_above_attempt(RetrySettings(attempt_timeout=60, http_deadline=61.5)) is None


def test_host_jsons_function_timeout_is_read_in_seconds(tmp_path):
    (tmp_path / "host.json").write_text('{"functionTimeout": "01:02:03"}', encoding="utf-8")
    assert function_timeout(tmp_path) == 3723
