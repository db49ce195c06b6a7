"""shared/core/config/problems.py: a collector handed down the configuration names each problem by its place, masks its
value, and raises one ConfigError listing them all."""

from __future__ import annotations

import pytest

from shared.core.config import settings
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError, Problems
from shared.core.config.rules_file import ONE_RULE_NAMES
from tests.support.settings import LOADED_AT, NO_APP_ROOT, minimal_env


def test_a_problem_deep_in_the_rules_file_is_named_by_its_path_in_the_file():
    rule = Problems.of().under("rules.json: ").at("rules").index(1)
    assert rule.at("target").at("url").where == "rules.json: rules[1].target.url"
    assert rule.at("data").at("newest").at("prefix").where == "rules.json: rules[1].data.newest.prefix"
    assert Problems.of().under("rules.json: ").index(0).where == "rules.json: [0]"  # a list at the top level


def test_a_one_rule_key_is_reported_under_the_setting_that_fills_it_and_other_keys_by_their_path():
    rule = Problems.of().under("", ONE_RULE_NAMES)
    assert [rule.at("target").at("url").where, rule.at("data_path").at("datastore").where,
            rule.at("name").where, rule.at("target").at("kind").where] == [
        "AML_PIPELINE_URL", "AML_DATASTORE", "(default rule)", "target.kind"]


def test_a_parameter_name_is_appended_to_its_place_and_never_taken_for_a_rule_key():
    in_settings = Problems.of().under("", ONE_RULE_NAMES).at("parameters")
    in_file = Problems.of().under("rules.json: ").at("rules").index(0).at("parameters")
    assert in_settings.entry("prefix").where == "AML_PARAMETERS.prefix"  # not WATCH_PREFIX
    assert in_file.entry("prefix").where == "rules.json: rules[0].parameters.prefix"


def test_a_setting_is_named_by_itself_wherever_the_collector_was_handed():
    deep = Problems.of().under("rules.json: ").at("rules").index(3).at("target")
    assert deep.setting("AML_TOKEN_SCOPE").where == "AML_TOKEN_SCOPE"


def test_problems_from_every_place_raise_together_in_the_order_found_with_secret_values_masked():
    problems = Problems.of({"MY_API_KEY": "s3cr3t-value"})
    problems.setting("WATCH_CONTAINER").add(None, "a container name")
    problems.under("rules.json: ").at("rules").index(0).at("experiment").add("x s3cr3t-value", "an experiment name")
    with pytest.raises(ConfigError) as raised:
        problems.raise_any()
    assert str(raised.value) == (
        "invalid configuration (2 problems):\n"
        "  - WATCH_CONTAINER = (not set): a container name\n"
        "  - rules.json: rules[0].experiment = 'x ***': an experiment name")


def test_no_problem_raises_nothing():
    Problems.of().at("anything").raise_any()


def test_a_one_rule_parameter_named_like_a_rule_key_is_reported_under_aml_parameters():
    env = minimal_env(AML_PARAMETERS='{"prefix": [1], "ok": "1"}')
    with pytest.raises(ConfigError) as raised:
        load_config(env, NO_APP_ROOT, now=LOADED_AT)
    assert [str(problem) for problem in raised.value.problems] == [
        "AML_PARAMETERS.prefix = [1]: a string, number or boolean"]


def test_a_declared_default_is_text_and_a_setting_without_one_says_so():
    assert settings.LEDGER_CONTAINER.text({}) == "aml-trigger-ledger"
    assert settings.WATCH_SUFFIX.text({"WATCH_SUFFIX": ""}) == ""  # an empty suffix is a value (refused at load)
    with pytest.raises(TypeError, match="AML_WORKSPACE is declared without a default"):
        settings.AML_WORKSPACE.text({})


def test_a_key_value_text_under_a_connection_string_setting_is_masked_whole():
    problems = Problems.of()
    problems.setting("MY_CONNECTION_STRING").add("AccountName=a;Endpoint=b", "x")
    assert [str(problem) for problem in problems.found] == ["MY_CONNECTION_STRING = '***': x"]


def test_a_long_secret_value_is_masked_before_the_value_is_cut():
    secret = "s3cr3t" * 100
    problems = Problems.of({"MY_SECRET": secret})
    problems.at("rules").add(secret, "x")
    problems.at("rules").add([secret], "x")
    assert [str(problem) for problem in problems.found] == ["rules = '***': x", "rules = ['***']: x"]


def test_a_value_is_shown_whole_up_to_400_characters_and_cut_after():
    problems = Problems.of()
    problems.at("w").add("a" * 398, "x")  # its repr: 400 characters
    problems.at("w").add("a" * 399, "x")
    assert [str(problem) for problem in problems.found] == [f"w = '{'a' * 398}': x", f"w = '{'a' * 396}...: x"]


def test_a_key_value_text_under_a_name_that_hints_a_secret_only_without_its_underscores_is_masked_whole():
    problems = Problems.of()
    problems.setting("DB_PASS_WORD").add("Server=db;Database=main", "x")
    assert [str(problem) for problem in problems.found] == ["DB_PASS_WORD = '***': x"]


def test_a_value_under_a_secret_name_is_masked_whatever_its_shape():
    problems = Problems.of()
    problems.setting("MY_API_KEY").add("plain", "x")
    assert [str(problem) for problem in problems.found] == ["MY_API_KEY = '***': x"]


def test_a_secret_value_is_masked_in_the_place_and_the_expectation_too():
    problems = Problems.of({"MY_SECRET": "s3cr3t-value"})
    problems.at("parameters").entry("s3cr3t-value").add(1, "not s3cr3t-value")
    assert [str(problem) for problem in problems.found] == ["parameters.*** = 1: not ***"]
