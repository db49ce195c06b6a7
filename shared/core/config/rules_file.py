"""Where the rules and schedules come from: the JSON rules file TRIGGER_RULES_FILE names (its strings may say
``%SETTING%`` or ``${SETTING}``, so ids and URLs stay in app settings), or else the one rule the app settings
describe, read as the same raw shape so that one parser serves both."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.core.common import json_input
from shared.core.common.errors import UnreadableJson
from shared.core.common.json_input import read_json, read_json_file
from shared.core.config import settings
from shared.core.config.config_model import Rule, Schedule
from shared.core.config.problems import Problems
from shared.core.config.rule_names import check_distinct_subscriptions
from shared.core.config.rule_parser import RULE, parse_rule

TOP_LEVEL_KEYS = {"rules", "schedules", "description", "$schema"}
_SETTING_REFERENCE = re.compile(r"%([A-Za-z_][A-Za-z0-9_.]*)%|\$\{([A-Za-z_][A-Za-z0-9_.]*)\}|\{\{|\}\}|\{[^{}]*\}")
"""A ``%SETTING%`` or ``${SETTING}`` reference, or else a template's escape or placeholder, which is kept as written:
``{trigger.time:%Y%m%d}`` is a time format, not a reference to a setting ``Y``."""
ONE_RULE_NAMES = {**settings.RULE_KEY_SETTINGS, "name": "(default rule)"}
"""Where the one-rule configuration's problems are reported: under the setting that fills each key, and its own
name (which no setting gives) as ``(default rule)``."""

ANY_ENDING = "*"
"""WATCH_SUFFIX's value for "any ending" (a rules file says ``"suffix": ""``)."""

Triggers = tuple[list[Rule], list[Schedule], tuple[str, ...]]


def load_schedules(env: Mapping[str, str], app_root: Path, *, now: datetime) -> tuple[Schedule, ...]:
    """Only the schedules, for registering timer functions at indexing; a problem in them raises ConfigError."""
    rules_file = settings.TRIGGER_RULES_FILE.read(env)
    if not rules_file:
        return ()
    problems = Problems.of(env)
    document = _read_rules_file(rules_file, env, app_root, problems, set())
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.report)
    schedules = _schedules(rules_file, document, env, allow_local, problems, now)
    problems.raise_any()
    return tuple(schedules)


def load_rules_file(env: Mapping[str, str], app_root: Path, *,
                    now: datetime) -> tuple[tuple[Rule, ...], tuple[Schedule, ...]]:
    """TRIGGER_RULES_FILE's rules and schedules alone, without the storage settings: a file checked before it goes
    live (the importers); a problem in it raises ConfigError."""
    problems = Problems.of(env)
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.report)
    rules, schedules, _ = load_triggers(env, app_root, allow_local, problems, now=now)
    problems.raise_any()
    return tuple(rules), tuple(schedules)


def load_triggers(env: Mapping[str, str], app_root: Path, allow_local: bool, problems: Problems,
                  referenced: set[str] | None = None, *, now: datetime) -> Triggers:
    """The rules and schedules, and the one-rule settings a rules file leaves unused; the settings the rules file
    names as %SETTING% are added to ``referenced``."""
    rules_file = settings.TRIGGER_RULES_FILE.read(env)
    ignored: tuple[str, ...] = ()
    referenced = set() if referenced is None else referenced
    if rules_file:
        document = _read_rules_file(rules_file, env, app_root, problems, referenced)
        ignored = _ignored_simple_settings(env, referenced)
        in_file = problems.under(f"{rules_file}: ").at("rules")
        raw_rules = [(raw, in_file.index(index)) for index, raw in enumerate(document.get("rules", []))]
        schedules = _schedules(rules_file, document, env, allow_local, problems, now)
    elif settings.AML_PIPELINE_URL.read(env):
        raw_rules, schedules = [(_rule_from_settings(env, problems), problems.under("", ONE_RULE_NAMES))], []
    else:
        problems.setting(settings.AML_PIPELINE_URL.name).add(
            None, "set AML_PIPELINE_URL (one watched prefix -> one pipeline) or TRIGGER_RULES_FILE (several rules)")
        return [], [], ()
    rules = [rule for raw, place in raw_rules if (rule := parse_rule(raw, place, env, allow_local))]
    RULE.check_unique_names(raw_rules)
    check_distinct_subscriptions(raw_rules)
    return rules, schedules, ignored


def _schedules(rules_file: str, document: dict[str, Any], env: Mapping[str, str], allow_local: bool,
               problems: Problems, now: datetime) -> list[Schedule]:
    from shared.core.config.schedule_parser import parse_schedules  # at indexing only with a rules file

    in_file = problems.under(f"{rules_file}: ").at("schedules")
    items = [(raw, in_file.index(index)) for index, raw in enumerate(document.get("schedules", []))]
    return parse_schedules(items, env, allow_local, problems, now=now)


def _read_rules_file(rules_file: str, env: Mapping[str, str], app_root: Path, problems: Problems,
                     referenced: set[str]) -> dict[str, Any]:
    """The rules file with settings substituted (their names added to ``referenced``), its top level checked;
    {} when it cannot be used."""
    path = app_root / rules_file
    the_setting = problems.setting(settings.TRIGGER_RULES_FILE.name)
    try:
        document = read_json_file(path, source=f"rules file {rules_file}", limits=json_input.RULES_FILE)
    except FileNotFoundError:
        the_setting.add(str(path), "an existing JSON rules file (relative to the app root)")
        return {}
    except OSError as error:
        the_setting.add(str(path), f"a readable JSON rules file ({error.strerror})")
        return {}
    except UnreadableJson as error:
        the_setting.add(str(path), f"valid UTF-8 JSON within bounds ({error})")
        return {}
    in_file = problems.under(f"{rules_file}: ")
    document = _substitute(document, env, in_file, referenced)
    if not isinstance(document, dict):
        in_file.at("(top level)").add(document, 'an object: {"rules": [...], "schedules": [...]}')
        return {}
    unknown = set(document) - TOP_LEVEL_KEYS
    if unknown:
        in_file.at("(top level)").add(sorted(unknown), "only the keys rules, schedules, description and $schema")
    for key in ("rules", "schedules"):
        if not isinstance(document.get(key, []), list):
            in_file.at(key).add(document[key], f"a list of {key}")
            document[key] = []
    if not document.get("rules") and not document.get("schedules"):
        in_file.at("rules").add(document.get("rules"),
                                'a non-empty list of rules and/or schedules: {"rules": [{...}], "schedules": [{...}]}')
    return document


def _substitute(value: Any, env: Mapping[str, str], problems: Problems, referenced: set[str]) -> Any:
    """Replace %SETTING% and ${SETTING} in every string of the document with the app setting's value (outside
    template placeholders, whose time formats are written with ``%``)."""
    if isinstance(value, dict):
        return {key: _substitute(item, env, problems.at(key), referenced) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, env, problems.index(index), referenced) for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name: str | None = match.group(1) or match.group(2)
        if name is None:  # a template's placeholder or escape
            return match.group(0)
        referenced.add(name)
        if name not in env:
            problems.add(value, f"app setting {name} is not set")
            return match.group(0)
        return env[name]

    return _SETTING_REFERENCE.sub(replace, value)


def _ignored_simple_settings(env: Mapping[str, str], referenced: set[str]) -> tuple[str, ...]:
    """One-rule settings that are set though a rules file replaces them and does not name them (AML_TOKEN_SCOPE
    still applies to every target without its own scope)."""
    return tuple(sorted(setting.name for setting in settings.SETTINGS
                        if setting.one_rule and env.get(setting.name) and setting.name not in referenced))


def _rule_from_settings(env: Mapping[str, str], problems: Problems) -> dict[str, Any]:
    """The one-rule configuration, as the same raw shape a rules file holds, so one validator serves both."""
    raw: dict[str, Any] = {
        "name": "default",
        "prefix": settings.WATCH_PREFIX.read(env),
        "suffix": _watched_suffix(env, problems),
        "include_subfolders": settings.WATCH_SUBFOLDERS.read(env),
        "enabled": settings.WATCH_ENABLED.read(env),
        "target": {"url": settings.AML_PIPELINE_URL.read(env),
                   "pipeline_version": settings.AML_PIPELINE_VERSION.read(env),
                   "deployment": settings.AML_DEPLOYMENT.read(env), "workspace": settings.AML_WORKSPACE.read(env)},
        "experiment": env.get(settings.AML_EXPERIMENT.name),
        "parameters": {},
    }
    if parameters := settings.AML_PARAMETERS.read(env):
        try:
            raw["parameters"] = read_json(parameters, source=f"setting {settings.AML_PARAMETERS.name}",
                                          limits=json_input.SETTING)
        except UnreadableJson as error:
            problems.setting(settings.AML_PARAMETERS.name).add(
                "(not shown: parameter values may be secrets)", f'a JSON object such as {{"model_name": "m1"}}; '
                                                                 f'{error}')
    data_path = {"parameter": env.get(settings.AML_DATA_PATH_PARAMETER.name),  # as set: '' is reported as ''
                 "datastore": env.get(settings.AML_DATASTORE.name)}
    if any(data_path.values()):
        raw["data_path"] = data_path
    if columns := _required_columns(env, problems):
        raw["required_columns"] = columns
    return raw


def _watched_suffix(env: Mapping[str, str], problems: Problems) -> str:
    """WATCH_SUFFIX as a rule's suffix: ``*`` is any ending; an empty one is refused, so that a value lost on the
    way (an empty deployment parameter) never starts a run for every blob."""
    suffix = settings.WATCH_SUFFIX.text(env)
    if suffix == ANY_ENDING:
        return ""
    if not suffix.strip():
        problems.setting(settings.WATCH_SUFFIX.name).add(
            suffix, f"a file ending such as '.csv', or '{ANY_ENDING}' for any ending; unset, it is "
                    f"{settings.WATCH_SUFFIX.default!r}")
    return suffix


def _required_columns(env: Mapping[str, str], problems: Problems) -> list[str]:
    """CSV_REQUIRED_COLUMNS's names, trimmed; an empty name among them is refused (a name lost in editing)."""
    text = settings.CSV_REQUIRED_COLUMNS.read(env) or ""
    names = [column.strip() for column in text.split(",")] if text else []
    if not all(names):
        problems.setting(settings.CSV_REQUIRED_COLUMNS.name).add(
            text, "comma-separated column names, none empty, such as 'MYCT,PRP'; unset, no column is required")
    return [name for name in names if name]
