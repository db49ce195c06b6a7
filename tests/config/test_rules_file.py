"""shared/core/config/rules_file.py: the rules file read alone, as indexing (its schedules) and the importers (its
rules and schedules) read it: the app settings it depends on applied, every problem reported at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.core.aml.targets import PIPELINE_JOB_ARM
from shared.core.config.config_model import Schedule
from shared.core.config.problems import ConfigError, Problems
from shared.core.config.rules_file import load_rules_file, load_schedules, load_triggers
from tests.support.settings import LOADED_AT, NO_APP_ROOT, PIPELINE_URL, WORKSPACE, minimal_env

LOCAL_URL = f"http://localhost:8080/pipelines/v1.0{WORKSPACE}/PipelineSubmit/pipe-1"
LOCAL_REFUSED = (f"rules.json: schedules[0].target.url = '{LOCAL_URL}': must be https (plain http and loopback hosts "
                 "are allowed only with AML_ALLOW_LOCAL_TARGETS=true, for local development)")


def schedules_of(env: dict[str, str], app_root: Path) -> tuple[Schedule, ...]:
    return load_schedules(env, app_root, now=LOADED_AT)


def schedules_checked_before_going_live(env: dict[str, str], app_root: Path) -> tuple[Schedule, ...]:
    rules, schedules = load_rules_file(env, app_root, now=LOADED_AT)
    assert rules == ()
    return schedules


LOADERS = pytest.mark.parametrize("load", [schedules_of, schedules_checked_before_going_live])
Load = Callable[[dict[str, str], Path], tuple[Schedule, ...]]


def schedule_json(**fields: Any) -> dict[str, Any]:
    return {"name": "nightly", "recurrence": {"frequency": "Day", "start_time": "2026-11-30T02:30:00"},
            "target": {"url": PIPELINE_URL}, "experiment": "retrain", **fields}


def write_schedules(folder: Path, *schedules: dict[str, Any], **top_level: Any) -> dict[str, str]:
    (folder / "rules.json").write_text(json.dumps({"schedules": list(schedules), **top_level}), encoding="utf-8")
    return {"TRIGGER_RULES_FILE": "rules.json"}


def problems_of(load: Load, env: dict[str, str], app_root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(env, app_root)
    return [str(problem) for problem in caught.value.problems]


@LOADERS
def test_a_local_target_loads_with_allow_local_targets_and_a_past_start_time_sets_the_phase(tmp_path, load):
    env = write_schedules(tmp_path, schedule_json(target={"url": LOCAL_URL}))
    [nightly] = load({**env, "AML_ALLOW_LOCAL_TARGETS": "true"}, tmp_path)
    assert (nightly.run.target.url, nightly.cron.expression) == (LOCAL_URL, "0 30 2 * * *")


@LOADERS
def test_a_local_target_is_refused_without_allow_local_targets(tmp_path, load):
    env = write_schedules(tmp_path, schedule_json(target={"url": LOCAL_URL}))
    [problem] = problems_of(load, env, tmp_path)
    assert problem.startswith(LOCAL_REFUSED), problem


@LOADERS
def test_every_problem_is_reported_at_once_with_a_secret_settings_value_masked(tmp_path, load):
    env = write_schedules(tmp_path, schedule_json(experiment="%EXPERIMENT_KEY%", target={"url": LOCAL_URL}))
    found = problems_of(load, {**env, "AML_ALLOW_LOCAL_TARGETS": "maybe", "EXPERIMENT_KEY": "s3cret value!"},
                        tmp_path)
    assert found[:2] == [
        "AML_ALLOW_LOCAL_TARGETS = 'maybe': true or false",
        "rules.json: schedules[0].experiment = '***': an experiment name: letters, digits, '-' and '_', starting "
        "with a letter or digit",
    ]
    assert len(found) == 3 and found[2].startswith(LOCAL_REFUSED), found


@LOADERS
def test_a_start_time_after_the_time_of_loading_is_refused(tmp_path, load):
    env = write_schedules(tmp_path, schedule_json(recurrence={"frequency": "Day", "start_time": "2026-12-01T00:01:00"}))
    assert problems_of(load, env, tmp_path) == [
        "rules.json: schedules[0].recurrence = {'frequency': 'Day', 'start_time': '2026-12-01T00:01:00'}: a "
        "start_time in the future has no NCRONTAB form (the expression would fire from now on); add the schedule "
        "when it should start, or keep it enabled: false until then"]


@LOADERS
def test_a_rules_file_of_a_hundred_kib_loads_as_a_rules_file_may_hold_1_mib(tmp_path, load):
    env = write_schedules(tmp_path, schedule_json(), description="x" * 100 * 1024)
    assert [schedule.name for schedule in load(env, tmp_path)] == ["nightly"]


@LOADERS
def test_a_missing_rules_file_is_named_with_its_path(tmp_path, load):
    assert problems_of(load, {"TRIGGER_RULES_FILE": "missing.json"}, tmp_path) == [
        f"TRIGGER_RULES_FILE = '{tmp_path / 'missing.json'}': an existing JSON rules file (relative to the app root)"]


@LOADERS
def test_a_rules_file_that_cannot_be_read_is_named_with_its_path_and_why(tmp_path, load):
    (tmp_path / "rules").mkdir()
    assert problems_of(load, {"TRIGGER_RULES_FILE": "rules"}, tmp_path) == [
        f"TRIGGER_RULES_FILE = '{tmp_path / 'rules'}': a readable JSON rules file (Is a directory)"]


@pytest.mark.parametrize("document, expected", [
    ({"schedules": {"name": "nightly"}}, ["rules.json: schedules = {'name': 'nightly'}: a list of schedules",
                                          "rules.json: rules = (not set): a non-empty list of rules and/or "
                                          'schedules: {"rules": [{...}], "schedules": [{...}]}']),
    ({"schedules": [], "notes": 1}, ["rules.json: (top level) = ['notes']: only the keys rules, schedules, "
                                     "description and $schema",
                                     "rules.json: rules = (not set): a non-empty list of rules and/or schedules: "
                                     '{"rules": [{...}], "schedules": [{...}]}']),
    ("text", ["rules.json: (top level) = 'text': an object: {\"rules\": [...], \"schedules\": [...]}"]),
])
def test_a_rules_file_of_the_wrong_shape_is_named_at_its_top_level(tmp_path, document, expected):
    (tmp_path / "rules.json").write_text(json.dumps(document), encoding="utf-8")
    assert problems_of(schedules_of, {"TRIGGER_RULES_FILE": "rules.json"}, tmp_path) == expected


def test_the_one_rule_settings_give_one_rule_no_schedule_and_no_setting_ignored():
    problems = Problems.of()
    rules, schedules, ignored = load_triggers(minimal_env(), NO_APP_ROOT, False, problems, now=LOADED_AT)
    assert ([rule.name for rule in rules], schedules, ignored, problems.found) == (["default"], [], (), [])


def test_a_one_rule_problem_is_named_by_its_setting_or_else_by_its_key_alone_never_a_files_name():
    problems = Problems.of()
    load_triggers(minimal_env(AML_PIPELINE_URL=PIPELINE_JOB_ARM), NO_APP_ROOT, False, problems, now=LOADED_AT)
    assert [problem.where for problem in problems.found] == ["AML_WORKSPACE", "target.component"]
