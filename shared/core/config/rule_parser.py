"""One rule of the rules file (or the one rule the app settings describe) into a checked Rule, and the run spec
rules and schedules share; every problem goes to the collector handed in, under its place in the rule."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from shared.core.aml.targets import PIPELINE_JOB_ARM, Target, TargetError, TargetKind, parse_target
from shared.core.config import settings
from shared.core.config.batch_options import BATCH_KEYS, LIMIT_KEYS, marker_option, quiet_window_option, run_limit
from shared.core.config.config_model import (
    DEFAULT_RUN_SOURCE,
    DEFAULT_SUFFIX,
    JOB_OUTPUT_TYPES,
    RELATIVE_PATHS,
    BlobFilter,
    DataPathBinding,
    JobOutput,
    Marker,
    QuietWindow,
    Rule,
    RunSpec,
)
from shared.core.config.fields import flag, matching, unknown_keys
from shared.core.config.freshness_options import FRESHNESS_KEY, freshness_option
from shared.core.config.problems import Problems
from shared.core.config.rule_names import RULE_NAME, RULE_NAME_EXPECTED
from shared.core.templates.templates import (
    BATCH,
    BATCH_COUNT,
    BLOB,
    NAME,
    OCCURRENCE,
    Template,
    TemplateError,
    is_template,
    missing,
    parse_template,
)

RUN_KEYS = {
    "target", "experiment", "parameters", "data_path", "required_columns", "description",
    "continue_on_step_failure", "run_source", "outputs", "display_name", "tags",
}
RULE_KEYS = ({"name", "prefix", "suffix", "include_subfolders", "enabled", FRESHNESS_KEY} | RUN_KEYS | BATCH_KEYS
             | LIMIT_KEYS)
TARGET_KEYS = {"url", "kind", "pipeline_version", "scope", "deployment", "workspace", "component", "compute"}
DATA_PATH_KEYS = {"parameter", "datastore", "relative_path"}
_V1 = (TargetKind.PUBLISHED_PIPELINE, TargetKind.PIPELINE_ENDPOINT)
_KEY_APPLIES_TO = {
    "description": (_V1, "v1 pipelines"),
    "run_source": (_V1, "v1 pipelines"),
    "continue_on_step_failure": ((*_V1, TargetKind.PIPELINE_JOB), "v1 pipelines and pipeline jobs"),
    "outputs": ((TargetKind.BATCH_ENDPOINT, TargetKind.PIPELINE_JOB), "v2 batch endpoints and pipeline jobs"),
    "display_name": ((TargetKind.PIPELINE_JOB,), "pipeline jobs"),
    "tags": ((TargetKind.PIPELINE_JOB,), "pipeline jobs"),
}
"""The run keys only some target kinds take, and how their problem names those kinds."""
_TAGS_EXPECTED = 'an object of tag names to text: {"team": "forecasting"}'

EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")

Parameters = dict[str, str | int | float | bool]
NEEDS = {BLOB: "a blob (a rule without a quiet window, or a schedule with data)",
         OCCURRENCE: "a schedule's occurrence", BATCH: "a batch (a rule with a marker or a quiet window)",
         BATCH_COUNT: "a batch's file count (a manifest marker or a quiet window)"}
"""What each kind of placeholder needs from its trigger, as a load error says it."""
_T = TypeVar("_T")


class ItemKind(NamedTuple):
    """What the rules file's lists hold (a rule, a schedule): an object of known keys with a unique name."""

    what: str
    keys: set[str]
    needs: str
    """The keys it needs, as its problem says them."""
    name: re.Pattern[str]
    name_expected: str

    def parsed(self, raw: Any, problems: Problems, build: Callable[[dict[str, Any], str], _T | None]) -> _T | None:
        """What ``build`` makes of ``raw`` (an object) and its name, or None when any problem was found in it:
        every problem is reported, but an item with one is never used."""
        if not isinstance(raw, dict):
            problems.at(f"({self.what})").add(raw, f"an object with {self.needs}")
            return None
        count_before = len(problems)
        unknown_keys(raw, self.keys, self.what, problems)
        item = build(raw, matching(raw.get("name"), self.name, problems.at("name"), self.name_expected))
        return item if len(problems) == count_before else None

    def check_unique_names(self, items: list[tuple[Any, Problems]]) -> None:
        """Names key the ledger: two items of one name would share their records."""
        seen: set[str] = set()
        for raw, problems in items:
            name = raw.get("name") if isinstance(raw, dict) else None
            if isinstance(name, str) and name in seen:
                problems.at("name").add(name, f"{self.what} names must be unique (they key the ledger)")
            if isinstance(name, str):
                seen.add(name)


RULE = ItemKind("rule", RULE_KEYS, "name, prefix, target, experiment, ...", RULE_NAME, RULE_NAME_EXPECTED)


def parse_rule(raw: Any, problems: Problems, env: Mapping[str, str], allow_local: bool) -> Rule | None:
    """The rule ``raw`` describes, or None when ``problems`` got a problem with it."""

    def build(rule: dict[str, Any], name: str) -> Rule | None:
        watch = blob_filter(rule, problems)
        run = run_spec(rule, problems, env, allow_local)
        enabled = flag(rule, "enabled", True, problems)
        marker = marker_option(rule.get("marker"), run, problems.at("marker"))
        quiet_window = quiet_window_option(rule, run, problems.at("quiet_window"))
        limit = run_limit(rule, problems)
        freshness = freshness_option(rule.get(FRESHNESS_KEY), watch, problems.at(FRESHNESS_KEY))
        if run is not None:
            check_placeholders(run, rule_provides(marker, quiet_window), f"rule {name!r}", problems)
        return None if run is None else Rule(name=name, watch=watch, run=run, enabled=enabled, marker=marker,
                                             quiet_window=quiet_window, limit=limit, freshness=freshness)

    return RULE.parsed(raw, problems, build)


def blob_filter(raw: dict[str, Any], problems: Problems) -> BlobFilter:
    """The blob names ``raw`` (a rule, or a schedule's ``data.newest``) watches; reported parts fall back to
    their defaults (the result is then not used)."""
    prefix = raw.get("prefix", "")
    if not isinstance(prefix, str) or prefix.startswith("/") or (prefix and not prefix.endswith("/")):
        problems.at("prefix").add(
            prefix, "a folder inside the container ending with '/' (e.g. 'incoming/'), or '' for the whole container")
        prefix = ""
    suffix = raw.get("suffix", DEFAULT_SUFFIX)
    if not isinstance(suffix, str):
        problems.at("suffix").add(suffix, "a file name ending such as '.csv' (compared case-insensitively)")
        suffix = DEFAULT_SUFFIX
    include_subfolders = flag(raw, "include_subfolders", False, problems)
    return BlobFilter(prefix=prefix, suffix=suffix, include_subfolders=include_subfolders)


def run_spec(raw: dict[str, Any], problems: Problems, env: Mapping[str, str], allow_local: bool) -> RunSpec | None:
    """What a rule or schedule runs; None when its target is unusable (other problems are only reported)."""
    experiment = matching(raw.get("experiment"), EXPERIMENT_NAME, problems.at("experiment"),
                          "an experiment name: letters, digits, '-' and '_', starting with a letter or digit")
    parameters = parse_parameters(raw.get("parameters", {}), problems.at("parameters"))
    parameter_templates = _parameter_templates(parameters, problems.at("parameters"))
    data_path = _data_path(raw.get("data_path"), problems.at("data_path"))
    required_columns = raw.get("required_columns", [])
    if not isinstance(required_columns, list) or not all(isinstance(c, str) and c.strip() for c in required_columns):
        problems.at("required_columns").add(required_columns, "a list of non-empty column names")
        required_columns = []
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.at("description").add(description, "text")
    continue_on_step_failure = raw.get("continue_on_step_failure")
    if continue_on_step_failure is not None and not isinstance(continue_on_step_failure, bool):
        problems.at("continue_on_step_failure").add(continue_on_step_failure, "true or false")
    run_source = raw.get("run_source", DEFAULT_RUN_SOURCE)
    if run_source is not None and (not isinstance(run_source, str) or not run_source):
        problems.at("run_source").add(run_source, "text such as 'SDK' or 'API', or null to send none")
    outputs = _outputs(raw.get("outputs", {}), problems.at("outputs"))
    display_name = raw.get("display_name")
    if display_name is not None and (not isinstance(display_name, str) or not display_name.strip()):
        problems.at("display_name").add(display_name, "text: the job's name in the studio")
    tags = _tags(raw.get("tags", {}), problems.at("tags"))
    target = _target(raw.get("target"), problems, env, allow_local)
    if target is None:
        return None
    check_fields_fit_the_target(raw, target, parameters, data_path, problems)
    return RunSpec(
        target=target,
        experiment=experiment,
        parameters=parameters,
        parameter_templates=parameter_templates,
        data_path=data_path,
        outputs=outputs,
        required_columns=tuple(column.strip() for column in required_columns),
        description=description,
        continue_on_step_failure=continue_on_step_failure,
        run_source=run_source,
        display_name=display_name,
        tags=tags,
    )


def check_fields_fit_the_target(raw: dict[str, Any], target: Target, parameters: Mapping[str, Any],
                                data_path: DataPathBinding | None, problems: Problems) -> None:
    """v1 bodies and v2 bodies carry different fields: say which ones the target cannot take."""
    for key, (kinds, which) in _KEY_APPLIES_TO.items():
        if key in raw and target.kind not in kinds and (key != "outputs" or raw[key]):
            problems.at(key).add(raw[key], f"{key} appl{'y' if key.endswith('s') else 'ies'} to {which} only, "
                                           f"not to a {target.kind.value} target")
    if target.kind is TargetKind.PIPELINE_JOB and data_path is not None and not data_path.datastore:
        problems.at("data_path").at("datastore").add(
            None, "the datastore over the watched container (a pipeline job's input is a datastore path)")
    if target.kind.is_v1:
        for name, value in parameters.items():
            if isinstance(value, bool):
                problems.at("parameters").entry(name).add(
                    value, 'a string or number; write booleans as strings ("True"), as the v1 SDK sends them')
        if data_path is not None and not data_path.datastore:
            problems.at("data_path").at("datastore").add(
                None, "the datastore over the watched container (v1 needs one)")
    else:
        if (target.kind is not TargetKind.PIPELINE_JOB and data_path is not None and data_path.path is not None
                and not data_path.datastore):
            problems.at("data_path").at("datastore").add(
                None, "the datastore the templated relative_path is in (a batch endpoint needs one for a path)")
        if data_path is not None and data_path.relative_path != "path":
            problems.at("data_path").at("relative_path").add(data_path.relative_path,
                                                            "path (file_name applies to v1 pipelines only)")


def _tags(raw: Any, problems: Problems) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(value, str) for value in raw.values()):
        problems.add(raw, _TAGS_EXPECTED)
        return {}
    return dict(raw)


def _outputs(raw: Any, problems: Problems) -> dict[str, JobOutput]:
    expected = '{"<output>": {"type": "uri_folder" or "uri_file", "uri": "azureml://datastores/<ds>/paths/<p>"}}'
    if not isinstance(raw, dict):
        problems.add(raw, expected)
        return {}
    outputs: dict[str, JobOutput] = {}
    for name, output in raw.items():
        if (not isinstance(output, dict) or set(output) != {"type", "uri"} or output["type"] not in JOB_OUTPUT_TYPES
                or not isinstance(output["uri"], str) or not output["uri"].startswith(("azureml://", "https://"))):
            problems.entry(name).add(output, expected)
        else:
            outputs[name] = JobOutput(type=output["type"], uri=output["uri"])
    return outputs


def _target(raw: Any, problems: Problems, env: Mapping[str, str], allow_local: bool) -> Target | None:
    if isinstance(raw, dict) and raw.get("kind") == TargetKind.PIPELINE_JOB.value:
        raw = {"url": PIPELINE_JOB_ARM, **raw}  # a pipeline job is created on ARM: the public cloud's unless named
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        problems.at("target").add(raw, 'an object with the pipeline URL: {"url": "https://..."}')
        return None
    here = problems.at("target")
    unknown_keys(raw, TARGET_KEYS, "target", here)
    job_fields = {name: raw.get(name) for name in ("component", "compute")}
    for name, value in job_fields.items():
        if value is not None and not isinstance(value, str):
            here.at(name).add(value, "text")
            return None
    version = raw.get("pipeline_version")
    if (version is not None and not isinstance(version, (str, int))) or isinstance(version, bool):
        here.at("pipeline_version").add(version, "a pipeline endpoint version such as \"2\"")
        return None
    try:
        return parse_target(
            raw["url"],
            kind=raw.get("kind"),
            pipeline_version=str(version) if version is not None else None,
            scope=raw.get("scope") or settings.AML_TOKEN_SCOPE.read(env),
            deployment=raw.get("deployment") or None,
            workspace=raw.get("workspace") or None,
            component=job_fields["component"],
            compute=job_fields["compute"],
            allow_local=allow_local,
        )
    except TargetError as error:
        by_field: dict[str, list[str]] = {}
        for field, expected in error.problems:
            by_field.setdefault(field, []).append(expected)
        for field, texts in by_field.items():
            if field == "scope" and not raw.get("scope"):  # the scope came from the app setting
                scope = settings.AML_TOKEN_SCOPE.name
                problems.setting(scope).add(env.get(scope), "; ".join(texts))
            else:
                here.at(field).add(raw.get(field), "; ".join(texts))
        return None


def parse_parameters(raw: Any, problems: Problems) -> Parameters:
    """Pipeline parameters / job literal inputs: strings, numbers or booleans (v1 takes no booleans)."""
    if not isinstance(raw, dict):
        problems.add(raw, 'an object of pipeline parameters: {"name": "value"}')
        return {}
    parameters: Parameters = {}
    for name, value in raw.items():
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            problems.entry(name).add(value, "a string, number or boolean")
        else:
            parameters[name] = value
    return parameters


def _data_path(raw: Any, problems: Problems) -> DataPathBinding | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(raw, 'an object: {"parameter": "input_datapath", "datastore": "<name>"}')
        return None
    for key in sorted(set(raw) - DATA_PATH_KEYS):
        problems.at(key).add(raw[key], "only parameter, datastore and relative_path")
    valid = True
    if not isinstance(raw.get("parameter"), str) or not raw["parameter"]:
        problems.at("parameter").add(raw.get("parameter"), "the pipeline parameter / job input's name")
        valid = False
    if raw.get("datastore") is not None and (not isinstance(raw["datastore"], str) or not raw["datastore"]):
        problems.at("datastore").add(raw["datastore"], "the datastore over the watched container")
        valid = False
    relative_path, path = raw.get("relative_path", "path"), None
    if relative_path not in RELATIVE_PATHS:
        if isinstance(relative_path, str) and is_template(relative_path):
            path = _template(relative_path, problems.at("relative_path"), placeholder_needed=True)
        else:
            problems.at("relative_path").add(relative_path, _RELATIVE_PATH_EXPECTED)
        valid = valid and path is not None
        relative_path = "path"
    return DataPathBinding(raw["parameter"], raw.get("datastore"), relative_path, path) if valid else None


_RELATIVE_PATH_EXPECTED = " or ".join(RELATIVE_PATHS) + ", or a path with a placeholder such as 'scored/{blob.stem}/'"


def _template(text: str, problems: Problems, *, placeholder_needed: bool = False) -> Template | None:
    """``text`` parsed as a template, or None with its problem reported (a path must have a placeholder)."""
    try:
        template = parse_template(text)
    except TemplateError as error:
        problems.add(text, str(error))
        return None
    if placeholder_needed and not template.placeholders:
        problems.add(text, _RELATIVE_PATH_EXPECTED)
        return None
    return template


def _parameter_templates(parameters: Parameters, problems: Problems) -> dict[str, Template]:
    """The parameters written as templates (text with a brace), parsed; problems reported under each one's name."""
    templates = {name: _template(value, problems.entry(name)) for name, value in parameters.items()
                 if isinstance(value, str) and is_template(value)}
    return {name: template for name, template in templates.items() if template is not None}


def rule_provides(marker: Marker | None, quiet_window: QuietWindow | None) -> frozenset[str]:
    """What a rule's runs have values for: its blob (a marker's own), a batch's folder and count, its name."""
    if quiet_window is not None:
        return frozenset({NAME, BATCH, BATCH_COUNT})
    if marker is not None:
        return frozenset({NAME, BLOB, BATCH} | ({BATCH_COUNT} if marker.manifest else set()))
    return frozenset({NAME, BLOB})


def check_placeholders(run: RunSpec, provided: frozenset[str], trigger: str, problems: Problems) -> None:
    """A load error for each placeholder ``trigger`` (``rule 'x'``) has no value for, under the field using it."""
    used = [(problems.at("parameters").entry(name), template) for name, template in run.parameter_templates.items()]
    if run.data_path is not None and run.data_path.path is not None:
        used.append((problems.at("data_path").at("relative_path"), run.data_path.path))
    for where, template in used:
        for placeholder in missing(template, provided):
            needs = NEEDS[placeholder.needs]
            where.add(template.source, f"{placeholder} does not apply to {trigger}: it needs {needs}")
