"""Rule names: the Event Grid subscription each names, two names that would share one refused, and a name an
importer makes from one the loader does not accept (always the same, long ones kept apart by a hash)."""

from __future__ import annotations

import hashlib

import pytest

from shared.core.config.problems import Problems
from shared.core.config.rule_names import check_distinct_subscriptions, event_subscription_name, fitted_name

pytestmark = pytest.mark.unit


def test_a_rules_subscription_is_the_hooks_prefix_and_its_name_with_underscores_as_dashes():
    assert event_subscription_name("nightly_sales-eu") == "aml-trigger-nightly-sales-eu"


def test_a_name_that_would_share_the_first_ones_subscription_is_refused_under_its_own_place():
    problems = Problems.of()
    items = [({"name": name}, problems.at("rules").index(index))
             for index, name in enumerate(["Sales_EU", "sales-eu", "Sales_EU", "other"])]
    items.insert(2, ({"name": 7}, problems.at("rules").index(9)))
    items.insert(0, (["not", "a", "rule"], problems.at("rules").index(8)))

    check_distinct_subscriptions(items)

    assert [str(problem) for problem in problems.found] == [
        "rules[1].name = 'sales-eu': a name that differs from rule 'Sales_EU' in more than case and '_' versus '-' "
        "(both would be the Event Grid subscription aml-trigger-sales-eu, which Event Grid compares "
        "case-insensitively)"]


@pytest.mark.parametrize(("original", "invalid", "separator", "letter_first", "fitted"), [
    ("sales report (EU)", r"[^A-Za-z0-9_-]+", "-", False, "sales-report-EU"),
    ("__sales__", r"[^A-Za-z0-9_-]+", "-", False, "sales"),
    ("9 to 5", r"[^A-Za-z0-9_-]+", "-", False, "9-to-5"),
    ("9 to 5", r"[^A-Za-z0-9_]+", "_", True, "s_9_to_5"),
    ("Ünïcode", r"[^A-Za-z0-9_]+", "_", True, "n_code"),
    ("***", r"[^A-Za-z0-9_-]+", "-", False, "s-"),
    ("X-ray_", r"[^A-Za-z0-9_-]+", "-", False, "X-ray"),
])
def test_an_importer_makes_a_name_of_allowed_characters_that_starts_right(original, invalid, separator,
                                                                          letter_first, fitted):
    assert fitted_name(original, invalid, separator, 52, letter_first=letter_first) == fitted


def test_a_long_name_is_cut_to_the_length_and_ends_with_a_hash_of_the_original():
    first, second = "a" * 8 + "-x-first-one", "a" * 8 + "-x-second-one"
    digest = hashlib.sha256(first.encode("utf-8")).hexdigest()[:6]

    assert fitted_name(first, "[^a-z-]+", "-", 16) == f"aaaaaaaa-{digest}"  # the cut's trailing '-' dropped
    assert fitted_name(second, "[^a-z-]+", "-", 16) != fitted_name(first, "[^a-z-]+", "-", 16)
    assert fitted_name("a" * 16, "[^a-z-]+", "-", 16) == "a" * 16  # at the length: kept whole
    long = "aaaaaaaaX" + "b" * 20
    assert fitted_name(long, "[^A-Za-z-]+", "-", 16) == (
        "aaaaaaaaX-" + hashlib.sha256(long.encode("utf-8")).hexdigest()[:6])  # 9 kept, a letter is never dropped


def test_by_default_a_name_may_start_with_a_digit():
    assert fitted_name("9 to 5", r"[^A-Za-z0-9_-]+", "-", 52) == "9-to-5"


def test_names_that_only_upper_case_folds_together_are_distinct_subscriptions():
    problems = Problems.of()
    check_distinct_subscriptions([({"name": name}, problems.at("rules").index(index))
                                  for index, name in enumerate(["stra\u00dfe", "STRASSE"])])
    assert problems.found == []
