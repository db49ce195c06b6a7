"""Templates in the rules file: where they may be written, and the load error each misuse gets (naming the rule's
place, the field and the placeholder)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from shared.core.config.config_loader import load_config
from shared.core.config.config_model import AppConfig
from shared.core.config.overrides import override_run
from shared.core.config.problems import ConfigError
from shared.core.templates.templates import parse_template
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT, PIPELINE_URL, minimal_env

pytestmark = pytest.mark.unit

DATA_PATH = {"parameter": "input_datapath", "datastore": "workspaceblobstore"}
BATCH_URL = ("https://ep.eastus.inference.ml.azure.com/jobs")
BATCH_TARGET = {"url": BATCH_URL, "workspace": "/subscriptions/s/resourceGroups/g/providers/"
                "Microsoft.MachineLearningServices/workspaces/w"}


def loaded(tmp_path: Path, rules: list[dict], schedules: list[dict] | None = None) -> AppConfig:
    (tmp_path / "rules.json").write_text(json.dumps({"rules": rules, "schedules": schedules or []}), "utf-8")
    env = minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json")
    return load_config(env, tmp_path, now=LOADED_AT)


def problems(tmp_path: Path, rules: list[dict], schedules: list[dict] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        loaded(tmp_path, rules, schedules)
    return [str(problem) for problem in caught.value.problems]


def rule(name: str = "in", **fields) -> dict:
    return {"name": name, "prefix": "in/", "target": {"url": PIPELINE_URL}, "experiment": "retrain", **fields}


def schedule(name: str = "daily", **fields) -> dict:
    return {"name": name, "cron": "0 0 2 * * *", "target": {"url": PIPELINE_URL}, "experiment": "timed", **fields}


def test_parameters_and_a_relative_path_with_placeholders_are_parsed_at_load(tmp_path):
    config = loaded(tmp_path, [rule(parameters={"day": "{blob.last_modified:%Y-%m-%d}", "n": 3, "plain": "x"},
                                    data_path={**DATA_PATH, "relative_path": "{blob.folder}"})])
    run = config.rules[0].run
    assert run.parameters == {"day": "{blob.last_modified:%Y-%m-%d}", "n": 3, "plain": "x"}
    assert run.parameter_templates == {"day": parse_template("{blob.last_modified:%Y-%m-%d}")}
    assert run.data_path is not None
    assert (run.data_path.relative_path, run.data_path.path) == ("path", parse_template("{blob.folder}"))


def test_a_rule_without_placeholders_has_no_templates(tmp_path):
    run = loaded(tmp_path, [rule(parameters={"a": "b"}, data_path=DATA_PATH)]).rules[0].run
    assert run.parameter_templates == {} and run.data_path is not None and run.data_path.path is None


def test_an_unknown_placeholder_format_or_filter_is_a_load_error_naming_its_place(tmp_path):
    assert problems(tmp_path, [rule(parameters={"a": "{blob.size}", "b": "{blob.name:%Y}", "c": "{rule|title}",
                                                "d": "x}"},
                                    data_path={**DATA_PATH, "relative_path": "{blob.name.__class__}"})]) == [
        "rules.json: rules[0].parameters.a = '{blob.size}': unknown placeholder {blob.size}: known are {blob.name}, "
        "{blob.path}, {blob.folder}, {blob.stem}, {blob.etag}, {blob.last_modified}, {trigger.time}, {rule}, "
        "{batch.folder}, {batch.count}, {blob.metadata.<key>}",
        "rules.json: rules[0].parameters.b = '{blob.name:%Y}': {blob.name:%Y}: only {blob.last_modified} and "
        "{trigger.time} take a format",
        "rules.json: rules[0].parameters.c = '{rule|title}': {rule|title}: unknown filter 'title'; known are lower, "
        "upper",
        "rules.json: rules[0].parameters.d = 'x}': a lone '}' at character 2: write '}}' for a literal brace, or a "
        "placeholder such as {blob.name}",
        "rules.json: rules[0].data_path.relative_path = '{blob.name.__class__}': unknown placeholder "
        "{blob.name.__class__}: known are {blob.name}, {blob.path}, {blob.folder}, {blob.stem}, {blob.etag}, "
        "{blob.last_modified}, {trigger.time}, {rule}, {batch.folder}, {batch.count}, {blob.metadata.<key>}",
    ]


def test_a_placeholder_its_trigger_cannot_fill_is_a_load_error_naming_the_trigger(tmp_path):
    assert problems(tmp_path, [
        rule(parameters={"day": "{trigger.time:%Y-%m-%d}", "folder": "{batch.folder}"}),
        rule("marked", marker={"file": "_SUCCESS"}, parameters={"n": "{batch.count}"}),
        rule("quiet", quiet_window={"seconds": 60}, parameters={"f": "{blob.name}", "ok": "{batch.count}"}),
    ], [schedule(parameters={"f": "{blob.metadata.owner}", "ok": "{trigger.time}{rule}"})]) == [
        "rules.json: schedules[0].parameters.f = '{blob.metadata.owner}': {blob.metadata.owner} does not apply to "
        "schedule 'daily' (no data): it needs a blob (a rule without a quiet window, or a schedule with data)",
        "rules.json: rules[0].parameters.day = '{trigger.time:%Y-%m-%d}': {trigger.time:%Y-%m-%d} does not apply to "
        "rule 'in': it needs a schedule's occurrence",
        "rules.json: rules[0].parameters.folder = '{batch.folder}': {batch.folder} does not apply to rule 'in': it "
        "needs a batch (a rule with a marker or a quiet window)",
        "rules.json: rules[1].parameters.n = '{batch.count}': {batch.count} does not apply to rule 'marked': it needs "
        "a batch's file count (a manifest marker or a quiet window)",
        "rules.json: rules[2].parameters.f = '{blob.name}': {blob.name} does not apply to rule 'quiet': it needs a "
        "blob (a rule without a quiet window, or a schedule with data)",
    ]


def test_what_each_trigger_kind_may_use_loads(tmp_path):
    config = loaded(tmp_path, [
        rule(parameters={"a": "{rule}{blob.name}{blob.path}{blob.folder}{blob.stem}{blob.etag}{blob.last_modified}"
                              "{blob.metadata.k}"}),
        rule("manifest", marker={"file": "m.json", "manifest": True}, parameters={"a": "{batch.count}{blob.name}"},
             data_path={**DATA_PATH, "relative_path": "{batch.folder}"}),
        rule("quiet", quiet_window={"seconds": 60}, parameters={"a": "{batch.folder}{batch.count}{rule}"}),
    ], [schedule(data={"blob": "in/x.csv"}, data_path=DATA_PATH, parameters={"a": "{blob.name}{trigger.time}"}),
        schedule("dated", data_path={**DATA_PATH, "relative_path": "daily/{trigger.time:%Y-%m-%d}/"})])
    assert [len(r.run.parameter_templates) for r in (*config.rules, *config.schedules)] == [1, 1, 1, 1, 0]


def test_a_relative_path_is_path_file_name_or_a_template_with_a_placeholder(tmp_path):
    expected = "path or file_name, or a path with a placeholder such as 'scored/{blob.stem}/'"
    assert problems(tmp_path, [rule(data_path={**DATA_PATH, "relative_path": "fixed/{{x}}"}),
                               rule("b", data_path={**DATA_PATH, "relative_path": "paht"}),
                               rule("c", data_path={**DATA_PATH, "relative_path": 3})]) == [
        f"rules.json: rules[0].data_path.relative_path = 'fixed/{{{{x}}}}': {expected}",
        f"rules.json: rules[1].data_path.relative_path = 'paht': {expected}",
        f"rules.json: rules[2].data_path.relative_path = 3: {expected}",
    ]


def test_a_batch_endpoint_needs_a_datastore_for_a_templated_path(tmp_path):
    assert problems(tmp_path, [rule(target=BATCH_TARGET, data_path={"parameter": "input_data",
                                                                    "relative_path": "{blob.folder}"})]) == [
        "rules.json: rules[0].data_path.datastore = (not set): the datastore the templated relative_path is in (a "
        "batch endpoint needs one for a path)"]


def test_a_schedule_without_data_takes_a_data_path_only_when_it_is_templated(tmp_path):
    assert problems(tmp_path, [], [schedule(data_path=DATA_PATH)]) == [
        "rules.json: schedules[0].data = (not set): data and data_path go together: the data to pass, and the "
        "DataPath parameter receiving it"]


def test_a_manual_override_replaces_the_template_with_its_literal_value(tmp_path):
    run = loaded(tmp_path, [rule(parameters={"day": "{blob.etag}", "keep": "{rule}"})]).rules[0].run
    overridden = override_run(run, parameters={"day": "{not a template}"})
    assert overridden.parameters == {"day": "{not a template}", "keep": "{rule}"}
    assert overridden.parameter_templates == {"keep": parse_template("{rule}")}


SCHEMA = jsonschema.Draft202012Validator(
    json.loads((PROJECT_ROOT / "schemas" / "rules.schema.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(("document", "valid"), [
    ({"rules": [rule(data_path={**DATA_PATH, "relative_path": "{blob.folder}"})]}, True),
    ({"rules": [rule(data_path={**DATA_PATH, "relative_path": "paht"})]}, False),
    ({"schedules": [schedule(data_path={**DATA_PATH, "relative_path": "d/{trigger.time:%Y}/"})]}, True),
    ({"schedules": [schedule(data_path=DATA_PATH)]}, False),
    ({"schedules": [schedule(data={"blob": "a.csv"})]}, False),
])
def test_the_schema_takes_a_templated_relative_path_and_a_schedule_data_path_only_with_one(document, valid):
    assert SCHEMA.is_valid(document) is valid
