"""shared/core/config/rule_parser.py: a rule's run spec checked field by field against its target's kind, each
problem under its key with the words that say how to fix it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shared.core.config.config_model import (
    BlobFilter,
    DataPathBinding,
    JobOutput,
    Marker,
    QuietWindow,
    Rule,
    RunSpec,
)
from shared.core.config.problems import Problems
from shared.core.config.rule_parser import RULE, blob_filter, parse_parameters, parse_rule, rule_provides, run_spec
from shared.core.ledger.run_limits import RunLimit
from tests.support.settings import PIPELINE_URL, WORKSPACE

WORKSPACE_ID = WORKSPACE.removesuffix("/PipelineRuns")
JOB = {"kind": "pipeline_job", "workspace": WORKSPACE_ID, "component": "azureml:retrain:3"}
SCORING_URI = "https://retrain.eastus.inference.ml.azure.com/jobs"
OUTPUTS_EXPECTED = '{"<output>": {"type": "uri_folder" or "uri_file", "uri": "azureml://datastores/<ds>/paths/<p>"}}'


def checked(target: Any, env: dict[str, str] | None = None, **fields: Any) -> tuple[RunSpec | None, list[str]]:
    """The run spec of a rule with ``target`` and ``fields``, and every problem as the load error lists it."""
    problems = Problems.of()
    run = run_spec({"experiment": "retrain", "target": target, **fields}, problems, env or {}, False)
    return run, [str(problem) for problem in problems.found]


def problems_of(target: Any, env: dict[str, str] | None = None, **fields: Any) -> list[str]:
    return checked(target, env, **fields)[1]


def test_a_pipeline_jobs_outputs_display_name_tags_and_step_failure_setting_are_kept():
    run, found = checked(JOB, outputs={"scored": {"type": "uri_folder", "uri": "azureml://datastores/d/paths/p"},
                                       "report": {"type": "uri_file", "uri": "https://a.blob.core.windows.net/c/r"}},
                         display_name="nightly", tags={"team": "forecasting"}, continue_on_step_failure=True)
    assert found == []
    assert run is not None
    assert run.outputs == {"scored": JobOutput(type="uri_folder", uri="azureml://datastores/d/paths/p"),
                           "report": JobOutput(type="uri_file", uri="https://a.blob.core.windows.net/c/r")}
    assert (run.display_name, run.tags, run.continue_on_step_failure) == ("nightly", {"team": "forecasting"}, True)


def test_keys_a_v1_pipeline_cannot_take_are_named_with_the_kinds_that_take_them():
    assert problems_of({"url": PIPELINE_URL}, outputs={"o": {"type": "uri_folder", "uri": "azureml://x"}},
                       display_name="d", tags={"a": "b"}) == [
        "outputs = {'o': {'type': 'uri_folder', 'uri': 'azureml://x'}}: outputs apply to v2 batch endpoints and "
        "pipeline jobs only, not to a published_pipeline target",
        "display_name = 'd': display_name applies to pipeline jobs only, not to a published_pipeline target",
        "tags = {'a': 'b'}: tags apply to pipeline jobs only, not to a published_pipeline target"]


def test_empty_outputs_are_no_outputs_for_any_target():
    run, found = checked({"url": PIPELINE_URL}, outputs={})
    assert (found, run is not None and run.outputs) == ([], {})


def test_keys_a_batch_endpoint_cannot_take_are_named_with_the_kinds_that_take_them():
    assert problems_of({"url": SCORING_URI}, description="x", run_source="SDK", continue_on_step_failure=True) == [
        "description = 'x': description applies to v1 pipelines only, not to a batch_endpoint target",
        "run_source = 'SDK': run_source applies to v1 pipelines only, not to a batch_endpoint target",
        "continue_on_step_failure = True: continue_on_step_failure applies to v1 pipelines and pipeline jobs only, "
        "not to a batch_endpoint target"]


@pytest.mark.parametrize("target, data_path, expected", [
    (JOB, {"parameter": "p"}, "data_path.datastore = (not set): the datastore over the watched container (a pipeline "
                              "job's input is a datastore path)"),
    ({"url": PIPELINE_URL}, {"parameter": "p"}, "data_path.datastore = (not set): the datastore over the watched "
                                                "container (v1 needs one)"),
    ({"url": SCORING_URI}, {"parameter": "p", "relative_path": "file_name"},
     "data_path.relative_path = 'file_name': path (file_name applies to v1 pipelines only)"),
])
def test_a_data_path_the_target_cannot_take_is_named_saying_what_it_needs(target, data_path, expected):
    assert problems_of(target, data_path=data_path) == [expected]


def test_a_v1_data_path_keeps_its_datastore_and_relative_path():
    run, found = checked({"url": PIPELINE_URL}, data_path={"parameter": "p", "datastore": "d",
                                                           "relative_path": "file_name"})
    assert (found, run is not None and run.data_path) == ([], DataPathBinding("p", "d", "file_name", None))


def test_wrong_outputs_and_tags_are_each_named():
    assert problems_of(JOB, tags={"a": 1}, outputs={
        "b": {"type": "mltable", "uri": "azureml://x"}, "c": {"type": "uri_file", "uri": "s3://x"},
        "d": {"type": "uri_file", "uri": "https://x", "mode": "x"}, "e": "x", "f": {"type": "uri_file", "uri": 3}}) == [
        f"outputs.b = {{'type': 'mltable', 'uri': 'azureml://x'}}: {OUTPUTS_EXPECTED}",
        f"outputs.c = {{'type': 'uri_file', 'uri': 's3://x'}}: {OUTPUTS_EXPECTED}",
        f"outputs.d = {{'type': 'uri_file', 'uri': 'https://x', 'mode': 'x'}}: {OUTPUTS_EXPECTED}",
        f"outputs.e = 'x': {OUTPUTS_EXPECTED}",
        f"outputs.f = {{'type': 'uri_file', 'uri': 3}}: {OUTPUTS_EXPECTED}",
        "tags = {'a': 1}: an object of tag names to text: {\"team\": \"forecasting\"}"]
    assert problems_of(JOB, tags=["a"], outputs=[]) == [
        f"outputs = []: {OUTPUTS_EXPECTED}",
        "tags = ['a']: an object of tag names to text: {\"team\": \"forecasting\"}"]


@pytest.mark.parametrize("target, env, expected", [
    ({**JOB, "compute": 5}, {}, "target.compute = 5: text"),
    ({"url": PIPELINE_URL, "pipeline_version": True}, {}, "target.pipeline_version = True: a pipeline endpoint "
                                                          "version such as \"2\""),
    ({"url": PIPELINE_URL, "pipeline_version": 2.5}, {}, "target.pipeline_version = 2.5: a pipeline endpoint version "
                                                         "such as \"2\""),
    ("x", {}, "target = 'x': an object with the pipeline URL: {\"url\": \"https://...\"}"),
    ({"url": PIPELINE_URL, "scope": "bad"}, {}, "target.scope = 'bad': token scope 'bad' must look like "
                                                "https://<resource>/.default"),
    ({"url": PIPELINE_URL}, {"AML_TOKEN_SCOPE": "bad"}, "AML_TOKEN_SCOPE = 'bad': token scope 'bad' must look like "
                                                        "https://<resource>/.default"),
])
def test_an_unusable_target_gives_no_run_and_one_problem_where_its_value_came_from(target, env, expected):
    assert checked(target, env) == (None, [expected])


def test_a_whole_number_pipeline_version_is_sent_as_text():
    endpoint = PIPELINE_URL.replace("PipelineSubmit/pipe-1", "PipelineEndpointSubmit/Id/ep-1")
    run, found = checked({"url": endpoint, "pipeline_version": 2})
    assert (found, run is not None and run.target.pipeline_version) == ([], "2")


def test_each_wrong_run_field_is_named_and_the_run_still_checked():
    run, found = checked({"url": PIPELINE_URL}, description=3, continue_on_step_failure="yes", run_source="",
                         display_name=" ", required_columns=["a", ""])
    assert found == [
        "required_columns = ['a', '']: a list of non-empty column names", "description = 3: text",
        "continue_on_step_failure = 'yes': true or false",
        "run_source = '': text such as 'SDK' or 'API', or null to send none",
        "display_name = ' ': text: the job's name in the studio",
        "display_name = ' ': display_name applies to pipeline jobs only, not to a published_pipeline target"]
    assert run is not None and run.required_columns == ()


def test_required_columns_are_trimmed_and_a_null_run_source_sends_none():
    run, found = checked({"url": PIPELINE_URL}, required_columns=[" MYCT ", "PRP"], run_source=None,
                         description="nightly", continue_on_step_failure=False)
    assert found == []
    assert run is not None
    assert (run.required_columns, run.run_source, run.description, run.continue_on_step_failure) == (
        ("MYCT", "PRP"), None, "nightly", False)


def test_a_data_path_of_the_wrong_shape_names_each_key():
    assert problems_of({"url": PIPELINE_URL}, data_path={"parameter": "", "datastore": "", "relative_path": "x",
                                                         "other": 1, "another": 2}) == [
        "data_path.another = 2: only parameter, datastore and relative_path",
        "data_path.other = 1: only parameter, datastore and relative_path",
        "data_path.parameter = '': the pipeline parameter / job input's name",
        "data_path.datastore = '': the datastore over the watched container",
        "data_path.relative_path = 'x': path or file_name, or a path with a placeholder such as 'scored/{blob.stem}/'"]
    assert problems_of({"url": PIPELINE_URL}, data_path="p") == [
        "data_path = 'p': an object: {\"parameter\": \"input_datapath\", \"datastore\": \"<name>\"}"]


def test_parameters_must_be_finite_numbers_text_or_booleans():
    problems = Problems.of().at("parameters")
    assert parse_parameters({"a": math.nan, "b": math.inf, "c": 1.5, "d": True, "e": None, "f": "x"}, problems) == {
        "c": 1.5, "d": True, "f": "x"}
    assert [str(problem) for problem in problems.found] == [
        "parameters.a = nan: a string, number or boolean", "parameters.b = inf: a string, number or boolean",
        "parameters.e = (not set): a string, number or boolean"]


def test_a_rule_that_is_not_an_object_is_named_by_its_kind():
    problems = Problems.of().at("rules").index(0)
    assert parse_rule(["r1"], problems, {}, False) is None
    assert [str(problem) for problem in problems.found] == [
        "rules[0].(rule) = ['r1']: an object with name, prefix, target, experiment, ..."]


def test_a_blob_filter_of_the_wrong_types_falls_back_to_its_defaults_and_names_each():
    problems = Problems.of()
    assert blob_filter({"prefix": 3, "suffix": 4}, problems) == BlobFilter(prefix="", suffix=".csv")
    assert [str(problem) for problem in problems.found] == [
        "prefix = 3: a folder inside the container ending with '/' (e.g. 'incoming/'), or '' for the whole container",
        "suffix = 4: a file name ending such as '.csv' (compared case-insensitively)"]


def test_duplicate_names_are_found_among_items_that_are_not_all_objects():
    problems = Problems.of()
    items = [(raw, problems.index(index)) for index, raw in enumerate(["x", {"name": "a"}, {"name": 3}, {"name": "a"}])]
    RULE.check_unique_names(items)
    assert [str(problem) for problem in problems.found] == [
        "[3].name = 'a': rule names must be unique (they key the ledger)"]


@pytest.mark.parametrize("marker, quiet_window, provided", [
    (None, None, {"name", "blob"}),
    (Marker(file="_SUCCESS"), None, {"name", "blob", "batch"}),
    (Marker(file="m.json", manifest=True), None, {"name", "blob", "batch", "batch-count"}),
    (None, QuietWindow(seconds=60), {"name", "batch", "batch-count"}),
])
def test_what_a_rules_runs_have_values_for_follows_its_marker_or_quiet_window(marker, quiet_window, provided):
    assert rule_provides(marker, quiet_window) == provided


def rule_of(**fields: Any) -> tuple[Rule | None, list[str]]:
    """The rule ``r`` with ``fields`` over a v1 target, and every problem as the load error lists it."""
    problems = Problems.of()
    raw = {"name": "r", "prefix": "in/", "target": {"url": PIPELINE_URL}, "experiment": "retrain", **fields}
    rule = parse_rule(raw, problems, {}, False)
    return rule, [str(problem) for problem in problems.found]


def test_a_rule_keeps_its_switch_quiet_window_and_run_limit():
    rule, found = rule_of(enabled=False, quiet_window={"seconds": 60}, max_active_runs=2,
                          max_active_runs_policy="latest")
    assert found == []
    assert rule is not None
    assert (rule.enabled, rule.marker, rule.quiet_window, rule.limit) == (
        False, None, QuietWindow(seconds=60), RunLimit(2, "latest"))


def test_a_rule_is_enabled_unless_it_says_otherwise():
    rule, found = rule_of()
    assert (found, rule is not None and rule.enabled) == ([], True)


@pytest.mark.parametrize("fields, expected", [
    ({"marker": {"file": "_SUCCESS"}},
     "marker.file = '_SUCCESS': a marker rule passes its folder: data_path.relative_path must be 'path'"),
    ({"quiet_window": {"seconds": 60}},
     "quiet_window = {'seconds': 60}: a quiet-window rule passes its folder: data_path.relative_path must be 'path'"),
])
def test_a_batch_rule_refuses_a_data_path_that_passes_a_file_name(fields, expected):
    data_path = {"parameter": "p", "datastore": "d", "relative_path": "file_name"}
    assert rule_of(data_path=data_path, **fields) == (None, [expected])


def test_a_templated_data_path_naming_what_the_rule_cannot_give_is_named_under_its_relative_path():
    data_path = {"parameter": "p", "datastore": "d", "relative_path": "scored/{batch.folder}/"}
    assert rule_of(data_path=data_path) == (None, [
        "data_path.relative_path = 'scored/{batch.folder}/': {batch.folder} does not apply to rule 'r': it needs a "
        "batch (a rule with a marker or a quiet window)"])


@pytest.mark.parametrize("data_path", [
    {"datastore": "d"},
    {"parameter": "", "datastore": "d"},
    {"parameter": "p", "datastore": ""},
    {"parameter": "", "datastore": "d", "relative_path": "scored/{blob.stem}/"},
    {"parameter": "p", "datastore": "d", "relative_path": "scored/"},
])
def test_a_data_path_with_any_wrong_part_binds_nothing(data_path):
    run, found = checked({"url": PIPELINE_URL}, data_path=data_path)
    assert len(found) == 1
    assert run is not None and run.data_path is None


def test_each_problem_parse_target_finds_in_one_field_is_listed_under_it():
    plain_http = PIPELINE_URL.replace("https://", "http://")
    assert problems_of({"url": f"{plain_http}?version=2"}) == [  # the value shown leaves the query out
        f"target.url = {plain_http!r}: must not carry a query string or fragment (the version goes in "
        "pipeline_version); must be https (plain http and loopback hosts are allowed only with "
        "AML_ALLOW_LOCAL_TARGETS=true, for local development)"]


def test_a_declared_kind_is_checked_against_the_url():
    assert problems_of({"url": PIPELINE_URL, "kind": "batch_endpoint"}) == [
        "target.kind = 'batch_endpoint': kind 'batch_endpoint' was set but the URL is a published_pipeline URL"]


def test_a_pipeline_jobs_compute_is_kept():
    run, found = checked({**JOB, "compute": "cpu-cluster"})
    assert (found, run is not None and run.target.compute) == ([], "cpu-cluster")
