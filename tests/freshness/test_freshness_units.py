"""Freshness expectations' pure part (shared/core/freshness/freshness.py): a state's name, the window a deadline
counts files in, the verdicts and the lines they log. Checks against storage are in tests/freshness/
test_freshness.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.aml.targets import parse_target
from shared.core.config.config_model import BlobFilter, Freshness, Rule, RunSpec
from shared.core.freshness.freshness import (
    Expectation,
    FreshnessState,
    baseline,
    expectations,
)
from shared.core.ledger.keys import freshness_folder_key, freshness_key
from shared.core.schedules.ncrontab import parse_ncrontab

pytestmark = pytest.mark.unit

SIX = parse_ncrontab("0 0 6 * * *")
IN_FOLDER = Expectation("daily", Freshness(SIX, min_files=2, folder="in/"))
WHOLE_RULE = Expectation("daily", Freshness(SIX))
DEADLINE = datetime(2026, 12, 2, 6, tzinfo=UTC)
SINCE = datetime(2026, 12, 1, 6, tzinfo=UTC)
AT = datetime(2026, 12, 2, 6, 0, 3, tzinfo=UTC)
RUN = RunSpec(target=parse_target("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/"
                                  "providers/Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/"
                                  "PipelineSubmit/p"), experiment="retrain")


def test_every_rules_expectations_are_listed_in_order() -> None:
    second = Freshness(parse_ncrontab("0 0 18 * * *"))
    rules = (Rule(name="daily", watch=BlobFilter(), run=RUN, freshness=(IN_FOLDER.freshness, second)),
             Rule(name="plain", watch=BlobFilter(), run=RUN))
    assert expectations(rules) == [IN_FOLDER, Expectation("daily", second)]


def test_a_state_is_named_by_its_rule_folder_and_deadline() -> None:
    key = freshness_key("daily", "in/", "0 0 6 * * *")
    assert IN_FOLDER.state_name == f"freshness/daily/{key}.json"


def test_a_window_is_counted_by_the_rules_arrival_tags_in_its_folder_or_the_whole_rule() -> None:
    folder_key = freshness_folder_key("daily", "in/")
    assert IN_FOLDER.query(SINCE, DEADLINE) == (
        "\"aml_owner\"='rules/daily' AND \"aml_arrived\">='2026-12-01T06:00:00.000Z' AND "
        f"\"aml_arrived\"<'2026-12-02T06:00:00.000Z' AND \"aml_folder\"='{folder_key}'")
    assert WHOLE_RULE.query(SINCE, DEADLINE) == (
        "\"aml_owner\"='rules/daily' AND \"aml_arrived\">='2026-12-01T06:00:00.000Z' AND "
        "\"aml_arrived\"<'2026-12-02T06:00:00.000Z'")


def test_the_due_deadline_is_the_latest_at_or_before_now_and_its_window_starts_at_the_one_before() -> None:
    assert IN_FOLDER.deadline_due(DEADLINE) == DEADLINE
    assert IN_FOLDER.deadline_due(datetime(2026, 12, 2, 5, 59, 59, tzinfo=UTC)) == SINCE
    assert IN_FOLDER.window_start(DEADLINE) == SINCE


def test_the_deadlines_between_two_are_counted_from_the_expression_both_included() -> None:
    assert IN_FOLDER.following(SINCE) == DEADLINE
    assert IN_FOLDER.following(datetime(2026, 12, 1, 5, 59, 59, tzinfo=UTC)) == SINCE
    assert [IN_FOLDER.deadlines_from(SINCE, SINCE + timedelta(days=days)) for days in (0, 1, 2, 30)] == [1, 2, 3, 31]


def test_a_state_keeps_deadlines_open_from_30_deadlines_back() -> None:
    assert IN_FOLDER.kept_from(DEADLINE) == "2026-11-02T06:00:00Z"


def test_the_first_state_is_a_baseline_that_decides_nothing() -> None:
    assert baseline(DEADLINE, IN_FOLDER, AT) == FreshnessState(
        "2026-12-02T06:00:00Z", "started", "2026-12-02T06:00:00Z", 0, 2, "2026-12-02T06:00:03Z")



