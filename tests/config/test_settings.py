"""The settings declaration and the named cross-field checks, without loading a whole configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.core.config import settings
from shared.core.config.config_model import RetrySettings
from shared.core.config.timing_settings import (
    attempt_below_deadline,
    claim_outlives_deadline,
    deadline_within_function_timeout,
    function_timeout,
    http_deadline_above_attempt,
    listing_delay_leaves_time_to_post,
    max_delay_at_least_base_delay,
    run_event_attempt_below_run_event_deadline,
)


def test_the_defaults_the_code_runs_on_are_the_declared_ones():
    assert RetrySettings() == RetrySettings(max_attempts=8, base_delay=1.0, max_delay=30.0, deadline=240.0,
                                            attempt_timeout=60.0, listing_delay=15.0,
                                            http_deadline=100.0, run_event_deadline=25.0,
                                            run_event_attempt_timeout=10.0, settle_grace=20.0)
    assert [s.name for s in settings.SETTINGS].count("SUBMIT_DEADLINE_SECONDS") == 1  # declared once


def test_a_number_setting_is_reported_under_its_own_name_with_its_declared_bounds():
    problems: list[tuple] = []
    value = settings.number({"RETRY_MAX_ATTEMPTS": "51"}, settings.RETRY_MAX_ATTEMPTS,
                            lambda *problem: problems.append(problem))
    assert value == 8 and problems == [("RETRY_MAX_ATTEMPTS", "51", "a whole number from 1 to 50")]


DEFAULTS = RetrySettings()


@pytest.mark.parametrize("finding, agreeing, where", [
    (max_delay_at_least_base_delay(RetrySettings(base_delay=10, max_delay=5)),
     max_delay_at_least_base_delay(DEFAULTS), "RETRY_MAX_DELAY_SECONDS"),
    (attempt_below_deadline(RetrySettings(deadline=30, attempt_timeout=29)),
     attempt_below_deadline(RetrySettings(deadline=30, attempt_timeout=28.9)), "SUBMIT_ATTEMPT_TIMEOUT_SECONDS"),
    (run_event_attempt_below_run_event_deadline(RetrySettings(run_event_attempt_timeout=24)),
     run_event_attempt_below_run_event_deadline(RetrySettings(run_event_attempt_timeout=23.9)),
     "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS"),
    (listing_delay_leaves_time_to_post(RetrySettings(deadline=75, attempt_timeout=60, listing_delay=15)),
     listing_delay_leaves_time_to_post(DEFAULTS), "RUN_LISTING_DELAY_SECONDS"),
    (http_deadline_above_attempt(RetrySettings(attempt_timeout=60, http_deadline=61)),
     http_deadline_above_attempt(DEFAULTS), "HTTP_DEADLINE_SECONDS"),
    (deadline_within_function_timeout(DEFAULTS, 269), deadline_within_function_timeout(DEFAULTS, 270),
     "SUBMIT_DEADLINE_SECONDS"),
    (claim_outlives_deadline(479, DEFAULTS), claim_outlives_deadline(480, DEFAULTS), "CLAIM_EXPIRY_SECONDS"),
])
def test_each_cross_field_rule_is_a_named_check_that_names_the_setting_to_change(finding, agreeing, where):
    assert finding[0] == where and agreeing is None


def test_a_run_event_deadline_with_no_room_for_one_attempt_and_its_backoff_names_both_settings_and_why():
    finding = run_event_attempt_below_run_event_deadline(
        RetrySettings(run_event_deadline=20, run_event_attempt_timeout=19.5, base_delay=1))

    assert finding == ("RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS", 19.5,
                       "below RUN_EVENT_DEADLINE_SECONDS - RETRY_BASE_DELAY_SECONDS (19): a run event must leave "
                       "room for one attempt and its backoff, or a run's end never reaches Azure ML (no failed "
                       "run's error, no waiting trigger started)")


@pytest.mark.parametrize("retry", [
    DEFAULTS, RetrySettings(deadline=5, attempt_timeout=3), RetrySettings(run_event_deadline=2,
                                                                          run_event_attempt_timeout=0.5),
])
def test_a_run_event_works_under_the_shorter_of_each_pair_which_leaves_room_for_one_attempt_and_its_backoff(retry):
    """Each pair's own check holding makes the pair a run event works under hold too."""
    event = retry.run_event

    assert (event.deadline, event.attempt_timeout) == (min(retry.deadline, retry.run_event_deadline),
                                                       min(retry.attempt_timeout, retry.run_event_attempt_timeout))
    assert event.attempt_timeout + event.base_delay < event.deadline


def test_a_run_event_keeps_the_submissions_settle_grace_only_where_it_fits_in_event_grids_30_s():
    assert (DEFAULTS.settle_grace, DEFAULTS.run_event.settle_grace) == (20, 5)
    assert DEFAULTS.run_event.deadline + DEFAULTS.run_event.settle_grace <= settings.EVENT_GRID_ANSWER_SECONDS
    assert settings.RUN_EVENT_DEADLINE.maximum + DEFAULTS.run_event.settle_grace <= settings.EVENT_GRID_ANSWER_SECONDS


def test_every_check_that_applies_to_a_run_event_holds_for_its_pair_on_the_defaults():
    """The listing delay's does not apply (``timing_settings._RETRY_CHECKS``): a run event cannot wait the listing
    delay and post within Event Grid's 30 s, and leaves a turn cut short to the fallback's tick."""
    event = DEFAULTS.run_event

    assert [check(event) for check in (max_delay_at_least_base_delay, attempt_below_deadline,
                                       http_deadline_above_attempt,
                                       run_event_attempt_below_run_event_deadline)] == [None] * 4
    assert deadline_within_function_timeout(event, function_timeout(Path(__file__).resolve().parents[2])) is None
    assert claim_outlives_deadline(float(settings.CLAIM_EXPIRY.default or 0), event) is None
    assert listing_delay_leaves_time_to_post(event) is not None  # does not apply: the fallback looks the key up
    assert listing_delay_leaves_time_to_post(DEFAULTS) is None  # the pair the fallback works under
