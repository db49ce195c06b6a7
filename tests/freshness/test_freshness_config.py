"""A rule's ``freshness`` expectations as the rules file gives them: parsed into checked values, or a load error
naming the rule and the field."""

from __future__ import annotations

import json

import pytest

from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from tests.support.settings import LOADED_AT, minimal_env

pytestmark = pytest.mark.unit


def load(tmp_path, freshness, **fields):
    rule = {"name": "daily", "prefix": "incoming/", "target": {"url": minimal_env()["AML_PIPELINE_URL"]},
            "experiment": "retrain", "freshness": freshness, **fields}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    return load_config({**minimal_env(), "TRIGGER_RULES_FILE": str(path)}, tmp_path, now=LOADED_AT)


def test_expectations_are_read_with_their_defaults(tmp_path):
    [rule] = load(tmp_path, [{"deadline": "0 0 6 * * *"}, {"deadline": "0 30 7 * * 1-5", "min_files": 3,
                                                           "folder": "incoming/"}]).rules
    assert [(f.deadline.expression, f.min_files, f.folder) for f in rule.freshness] == [
        ("0 0 6 * * *", 1, ""), ("0 30 7 * * 1-5", 3, "incoming/")]


@pytest.mark.parametrize("freshness, fields, expected", [
    ({"deadline": "0 6 * * *"}, {}, "rules[0].freshness = {'deadline': '0 6 * * *'}"),
    ([{"deadline": "0 6 * * *"}], {}, "rules[0].freshness[0].deadline = '0 6 * * *': '0 6 * * *' must have six "
                                      "fields: second minute hour day month day-of-week (add the seconds field "
                                      "first: '0 0 6 * * *')"),
    ([{"deadline": "*/5 0 6 * * *"}], {}, "rules[0].freshness[0].deadline = '*/5 0 6 * * *': '*/5 0 6 * * *' fires "
                                          "more than once a minute; give the seconds field one value"),
    ([{}], {}, "rules[0].freshness[0].deadline = (not set): a six-field NCRONTAB string such as '0 0 6 * * *'"),
    ([{"deadline": "0 0 6 * * *", "min_files": 0}], {},
     "rules[0].freshness[0].min_files = 0: a whole number of files from 1 to 5,000"),
    ([{"deadline": "0 0 6 * * *", "folder": "other/"}], {},
     "rules[0].freshness[0].folder = 'other/': a folder ending with '/' that the rule watches (under 'incoming/', "
     "not a subfolder of it), or '' for the whole rule"),
    ([{"deadline": "0 0 6 * * *", "folder": "incoming/sales"}], {"include_subfolders": True},
     "rules[0].freshness[0].folder = 'incoming/sales': a folder ending with '/' that the rule watches (under "
     "'incoming/', at any depth), or '' for the whole rule"),
    ([{"deadline": "0 0 6 * * *", "when": 1}], {}, "rules[0].freshness[0].when = 1: a known freshness key"),
    ([{"deadline": "0 0 6 * * *"}, {"deadline": "0 0 6 * * *", "min_files": 2}], {},
     "rules[0].freshness[1] = {'deadline': '0 0 6 * * *', 'min_files': 2}: one expectation per folder and deadline"),
])
def test_a_bad_expectation_is_a_load_error_naming_the_rule_and_the_field(tmp_path, freshness, fields, expected):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, freshness, **fields)
    assert expected in str(raised.value)
