"""A rule's batch options and a run limit, read field by field: what each accepts, and each refusal in full under
the place it was found."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.core.aml.targets import parse_target
from shared.core.config.batch_options import marker_option, quiet_window_option, run_limit
from shared.core.config.config_model import DataPathBinding, Marker, QuietWindow, RunSpec
from shared.core.config.problems import Problems
from shared.core.ledger.run_limits import LATEST, RunLimit

pytestmark = pytest.mark.unit

PIPELINE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub/resourceGroups/rg/providers/"
                "Microsoft.MachineLearningServices/workspaces/ws/PipelineRuns/PipelineSubmit/pipe-1")
BY_FILE = RunSpec(target=parse_target(PIPELINE_URL), experiment="e",
                  data_path=DataPathBinding("input", "ds", "file_name"))
BY_FOLDER = RunSpec(target=parse_target(PIPELINE_URL), experiment="e", data_path=DataPathBinding("input", "ds"))
WINDOW = '{"seconds": N}, N a whole number of seconds from 1 to 86,400'


def read(option: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
    """What ``option`` makes of ``args`` under rules[0], and every problem it reported."""
    problems = Problems.of().at("rules").index(0)
    return option(*args, problems), [str(problem) for problem in problems.found]


def test_a_marker_names_a_file_and_whether_it_is_a_manifest():
    assert read(marker_option, {"file": "_SUCCESS"}, BY_FOLDER) == (Marker("_SUCCESS", manifest=False), [])
    assert read(marker_option, {"file": "m.json", "manifest": True}, BY_FILE) == (Marker("m.json", manifest=True), [])
    assert read(marker_option, None, BY_FILE) == (None, [])


def test_a_marker_that_is_not_an_object_or_has_unknown_keys_is_refused_in_full():
    assert read(marker_option, "_SUCCESS", None) == (None, [
        "rules[0] = '_SUCCESS': {\"file\": \"_SUCCESS\"} or {\"file\": \"manifest.json\", \"manifest\": true}"])
    assert read(marker_option, {"file": "_SUCCESS", "extra": 1}, None)[1] == [
        "rules[0].extra = 1: a known marker key (file, manifest)"]


def test_a_marker_rule_without_a_manifest_must_pass_its_folder():
    assert read(marker_option, {"file": "_SUCCESS"}, BY_FILE) == (Marker("_SUCCESS", manifest=False), [
        "rules[0].file = '_SUCCESS': a marker rule passes its folder: data_path.relative_path must be 'path'"])


@pytest.mark.parametrize("seconds", [1, 86_400])
def test_a_quiet_window_takes_whole_seconds_from_one_to_a_day(seconds):
    assert read(quiet_window_option, {"quiet_window": {"seconds": seconds}}, BY_FOLDER) == (QuietWindow(seconds), [])


@pytest.mark.parametrize("raw", [{"seconds": 0}, {"seconds": 86_401}, {"seconds": True}, {"seconds": 1.5},
                                 {"seconds": 60, "x": 1}, {"secs": 60}, 60])
def test_a_quiet_window_out_of_its_bounds_or_shape_is_refused_in_full(raw):
    assert read(quiet_window_option, {"quiet_window": raw}, None) == (None, [f"rules[0] = {raw!r}: {WINDOW}"])


def test_a_quiet_window_beside_a_marker_or_on_a_file_rule_is_refused():
    assert read(quiet_window_option, {"quiet_window": {"seconds": 60}, "marker": {"file": "x"}}, BY_FILE) == (
        QuietWindow(60), [
            "rules[0] = {'seconds': 60}: either marker or quiet_window: a marker already says when a folder is "
            "complete",
            "rules[0] = {'seconds': 60}: a quiet-window rule passes its folder: data_path.relative_path must be "
            "'path'"])
    assert read(quiet_window_option, {}, BY_FILE) == (None, [])


def test_a_run_limit_is_a_positive_whole_number_with_a_known_policy():
    assert read(run_limit, {"max_active_runs": 2, "max_active_runs_policy": LATEST}) == (RunLimit(2, LATEST), [])
    assert read(run_limit, {}) == (None, [])
    assert read(run_limit, {"max_active_runs": 0}) == (None, [
        "rules[0].max_active_runs = 0: a positive whole number: how many of its runs may be active at once"])
    assert read(run_limit, {"max_active_runs_policy": LATEST})[1] == [
        "rules[0].max_active_runs_policy = 'latest': only with max_active_runs"]


def test_an_unknown_run_limit_policy_is_reported_and_the_limit_kept_with_the_queue_policy():
    assert read(run_limit, {"max_active_runs": 2, "max_active_runs_policy": "newest"}) == (RunLimit(2, "queue"), [
        "rules[0].max_active_runs_policy = 'newest': queue (waiting triggers start in order as runs end) or latest "
        "(only the newest waiting one)"])
