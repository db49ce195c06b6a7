"""schemas/rules.schema.json (draft 2020-12) describes the rules file the loader accepts: every example in
the docs validates and loads, bad files fail with a clear message in both, and the two know the same keys."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from shared.core.aml import targets
from shared.core.config.batch_options import MARKER_KEYS
from shared.core.config.config_model import JOB_OUTPUT_TYPES
from shared.core.config.freshness_options import EXPECTATION_KEYS, MAX_MIN_FILES
from shared.core.config.problems import ConfigError
from shared.core.config.rule_names import RULE_NAME
from shared.core.config.rule_parser import DATA_PATH_KEYS, RULE_KEYS, RUN_KEYS, TARGET_KEYS
from shared.core.config.rules_file import TOP_LEVEL_KEYS
from shared.core.config.schedule_parser import SCHEDULE as SCHEDULE_KIND
from shared.core.config.schedule_parser import SCHEDULE_KEYS
from shared.core.schedules import recurrence
from tests.support.docs import documentation_text
from tests.support.rules_schema import SCHEMA, WORKSPACE, load, schema_errors


def documented_rules_files() -> list[dict[str, Any]]:
    """Every ```json block of README.md and docs/ that is a rules file (an object with rules or schedules)."""
    blocks = re.findall(r"```json\n(.*?)```", documentation_text(), re.S)
    documents = [json.loads(block) for block in blocks]
    return [d for d in documents if isinstance(d, dict) and {"rules", "schedules"} & set(d)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_docs_have_rules_files_for_rules_schedules_a_batch_endpoint_and_a_pipeline_job():
    examples = documented_rules_files()
    kinds = {rule["target"].get("kind") for example in examples for rule in example.get("rules", [])}
    assert "pipeline_job" in kinds
    assert len(examples) == 8 and sum("schedules" in example for example in examples) == 2
    assert any(example.get("$schema") == "./schemas/rules.schema.json" for example in examples)


@pytest.mark.parametrize("index", range(6))
def test_every_documented_rules_file_validates_against_the_schema_and_loads(index, tmp_path):
    example = documented_rules_files()[index]
    assert schema_errors(example) == []
    loaded = load(example, tmp_path)
    assert len(loaded.rules) + len(loaded.schedules) == len(example.get("rules", [])) + len(
        example.get("schedules", []))


RULE = {"name": "r", "target": {"url": f"{WORKSPACE}/PipelineSubmit/pipe-1"}, "experiment": "e"}
SCHEDULE = {"name": "nightly", "cron": "0 0 2 * * *", "target": RULE["target"], "experiment": "e"}


@pytest.mark.parametrize("document, message, problem", [
    ({"rules": [{**RULE, "prefx": "incoming/"}]}, "Unevaluated properties are not allowed ('prefx' was unexpected)",
     "rules[0].prefx = 'incoming/': a known rule key"),
    ({"rules": [{**RULE, "experiment": "bad name"}]}, "'bad name' is not valid under any of the given schemas",
     "rules[0].experiment = 'bad name'"),
    ({"rules": [{k: v for k, v in RULE.items() if k != "target"}]}, "'target' is a required property",
     "rules[0].target = (not set)"),
    *[({"rules": [{**RULE, "name": name}]}, f"{name!r} is not valid under any of the given schemas",
       f"rules[0].name = {name!r}: 1-52 letters, digits, '-' or '_', starting with a letter or digit (the deploy hook "
       "names the rule's Event Grid subscription aml-trigger-<name>") for name in ("x y", "x.y", "n" * 53)],
    ({"rules": [{**RULE, "prefix": "incoming"}]}, "'incoming' is not valid under any of the given schemas",
     "rules[0].prefix = 'incoming'"),
    ({"rules": [{**RULE, "continue_on_step_failure": "yes"}]}, "'yes' is not of type 'boolean'",
     "rules[0].continue_on_step_failure = 'yes': true or false"),
    ({"schedules": [{**SCHEDULE, "data": {"blob": "a.csv"}}]}, "'data_path' is a dependency of 'data'",
     "schedules[0].data_path = (not set): data and data_path go together"),
    ({"schedules": [{**SCHEDULE, "recurrence": {"frequency": "Day"}}]},
     "is valid under each of", "schedules[0].cron = '0 0 2 * * *': either cron"),
    ({"schedules": [{**{k: v for k, v in SCHEDULE.items() if k != "cron"}, "recurrence": {"frequency": "Fortnight"}}]},
     "'Fortnight' is not one of ['Minute', 'Hour', 'Day', 'Week', 'Month']", "frequency 'Fortnight' must be one of"),
    ({"rules": [{**RULE, "marker": {"file": ".."}}]}, "'..' does not match",
     "rules[0].marker.file = '..': a file name without folders"),
    ({"rules": [{**RULE, "freshness": [{"deadline": "0 0 6 * * *", "min_files": 0}]}]},
     "0 is less than the minimum of 1",
     "rules[0].freshness[0].min_files = 0: a whole number of files from 1 to 5,000"),
    ({"rules": []}, "[] should be non-empty", "rules = []: a non-empty list of rules and/or schedules"),
    ({"description": "nothing yet"}, "'rules' is a required property",
     "rules = (not set): a non-empty list of rules and/or schedules"),
    ({"rules": [RULE], "version": 2}, "Additional properties are not allowed ('version' was unexpected)",
     "(top level) = ['version']: only the keys rules, schedules, description and $schema"),
])
def test_a_bad_rules_file_fails_the_schema_with_a_clear_message_and_the_loader_refuses_it_too(
        document, message, problem, tmp_path):
    errors = schema_errors(document)
    assert any(message in error for error in errors), errors
    with pytest.raises(ConfigError) as refused:
        load(document, tmp_path)
    assert problem in str(refused.value)


@pytest.mark.parametrize("name", ["a", "A" * 52, "load_data-2"])
def test_a_rule_name_at_the_limits_validates_and_loads(name, tmp_path):
    document = {"rules": [{**RULE, "name": name}]}
    assert schema_errors(document) == []
    assert [rule.name for rule in load(document, tmp_path).rules] == [name]


def test_the_schema_takes_the_rule_and_schedule_names_the_loader_takes():
    assert SCHEMA["$defs"]["rule"]["properties"]["name"]["anyOf"][0]["pattern"] == f"^{RULE_NAME.pattern}$"
    assert SCHEMA["$defs"]["schedule"]["properties"]["name"]["anyOf"][0]["pattern"] == f"^{SCHEDULE_KIND.name.pattern}$"


def properties(definition: str) -> set[str]:
    """The keys a $defs entry allows, with those it takes from runKeys."""
    entry = SCHEMA["$defs"][definition]
    inherited = SCHEMA["$defs"]["runKeys"]["properties"] if entry.get("$ref") == "#/$defs/runKeys" else {}
    return set(entry["properties"]) | set(inherited)


def test_the_schema_and_the_loader_know_the_same_keys_and_values():
    assert set(SCHEMA["properties"]) == TOP_LEVEL_KEYS
    assert properties("rule") == RULE_KEYS
    assert properties("schedule") == SCHEDULE_KEYS
    assert set(SCHEMA["$defs"]["runKeys"]["properties"]) == RUN_KEYS
    assert properties("target") == TARGET_KEYS
    assert properties("dataPath") == DATA_PATH_KEYS
    assert properties("marker") == MARKER_KEYS
    assert set(SCHEMA["$defs"]["freshness"]["items"]["properties"]) == EXPECTATION_KEYS
    assert SCHEMA["$defs"]["freshness"]["items"]["properties"]["min_files"]["maximum"] == MAX_MIN_FILES
    assert properties("blobFilter") == {"prefix", "suffix", "include_subfolders"}
    assert properties("recurrence") == recurrence._KEYS
    recurrence_schema = SCHEMA["$defs"]["recurrence"]["properties"]
    assert tuple(recurrence_schema["frequency"]["enum"]) == recurrence.FREQUENCIES
    assert tuple(recurrence_schema["week_days"]["items"]["enum"]) == recurrence.WEEK_DAYS
    output_types = SCHEMA["$defs"]["outputs"]["additionalProperties"]["properties"]["type"]["enum"]
    assert set(output_types) == set(JOB_OUTPUT_TYPES)
    kinds = SCHEMA["$defs"]["target"]["properties"]["kind"]["anyOf"][0]["enum"]
    assert set(kinds) == {"auto"} | {kind.value for kind in targets.TargetKind}
