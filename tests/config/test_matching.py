"""shared/core/config/matching.py: which rules watch a blob name."""

from __future__ import annotations

import pytest

from shared.core.aml.targets import parse_target
from shared.core.config.config_model import BlobFilter, Marker, Rule, RunSpec
from shared.core.config.matching import mismatch, rule_mismatch, split_rules

PIPELINE_URL = (
    "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws/PipelineRuns/PipelineSubmit/pipe-1"
)
RUN = RunSpec(target=parse_target(PIPELINE_URL), experiment="retrain")
NOT_UNDER = "not under 'incoming/'"
IN_SUBFOLDER = "in a subfolder of 'incoming/' (subfolders are not watched)"
NOT_CSV = "does not end with '.csv'"


def rule(prefix: str = "incoming/", suffix: str = ".csv", include_subfolders: bool = False, name: str = "r") -> Rule:
    return Rule(name=name, watch=BlobFilter(prefix=prefix, suffix=suffix, include_subfolders=include_subfolders),
                run=RUN)


@pytest.mark.parametrize("blob_name, expected", [
    ("incoming/a.csv", None),
    ("incoming2/a.csv", NOT_UNDER),
    ("incomingx.csv", NOT_UNDER),
    ("Incoming/a.csv", NOT_UNDER),
    ("other/incoming/a.csv", NOT_UNDER),
    ("a.csv", NOT_UNDER),
    ("incoming/sub/a.csv", IN_SUBFOLDER),
    ("incoming//a.csv", IN_SUBFOLDER),
    ("incoming/", NOT_CSV),
    ("incoming/a.txt", NOT_CSV),
    ("incoming/a.csv.tmp", NOT_CSV),
    ("incoming/a_csv", NOT_CSV),
])
def test_prefix_is_a_folder_and_subfolders_are_not_watched_by_default(blob_name, expected):
    assert mismatch(rule().watch, blob_name) == expected


@pytest.mark.parametrize("blob_name", ["incoming/sub/a.csv", "incoming/a/b/c/d.csv", "incoming//a.csv"])
def test_subfolders_are_watched_when_included(blob_name):
    assert mismatch(rule(include_subfolders=True).watch, blob_name) is None


def test_subfolders_setting_does_not_widen_the_prefix():
    assert mismatch(rule(include_subfolders=True).watch, "other/incoming/a.csv") == NOT_UNDER


@pytest.mark.parametrize("suffix, blob_name", [(".csv", "incoming/A.CSV"), (".csv", "incoming/a.Csv"),
                                               (".CSV", "incoming/a.csv"), ("", "incoming/anything.bin")])
def test_suffix_is_compared_case_insensitively(suffix, blob_name):
    assert mismatch(rule(suffix=suffix).watch, blob_name) is None


@pytest.mark.parametrize("blob_name, include_subfolders, expected", [
    ("a.csv", False, None),
    ("x/a.csv", False, "in a subfolder of '' (subfolders are not watched)"),
    ("x/y/a.csv", True, None),
    ("a.txt", True, NOT_CSV),
])
def test_empty_prefix_is_the_whole_container(blob_name, include_subfolders, expected):
    assert mismatch(rule(prefix="", include_subfolders=include_subfolders).watch, blob_name) == expected


@pytest.mark.parametrize("blob_name", [
    "incoming/my data file.csv",
    "incoming/données_été.csv",
    "incoming/日本語.csv",
    "incoming/#1?.csv",
    "incoming/100%.csv",
    "incoming/%2F.csv",
    "incoming/..csv",
    "incoming/a..b.csv",
])
def test_unusual_blob_names_are_matched_literally(blob_name):
    assert mismatch(rule().watch, blob_name) is None


def test_the_1024_character_name_is_exactly_the_blob_name_limit():
    name = "incoming/" + "x" * (1024 - len("incoming/") - len(".csv")) + ".csv"
    assert len(name) == 1024
    assert mismatch(rule().watch, name) is None
    assert mismatch(rule().watch, name[:-1]) == NOT_CSV


@pytest.mark.parametrize("include_subfolders, expected", [(False, IN_SUBFOLDER), (True, None)])
def test_dot_dot_segments_are_not_resolved(include_subfolders, expected):
    assert mismatch(rule(include_subfolders=include_subfolders).watch, "incoming/../escape.csv") == expected


def test_split_rules_returns_matches_in_order_and_reasons_for_the_rest():
    rules = [
        rule(name="all", prefix="", include_subfolders=True),
        rule(name="incoming", prefix="incoming/"),
        rule(name="deep", prefix="incoming/", include_subfolders=True),
        rule(name="parquet", prefix="incoming/daily/", suffix=".parquet"),
        rule(name="other", prefix="other/"),
    ]
    matched, reasons = split_rules(rules, "incoming/daily/a.csv")
    assert [matched_rule.name for matched_rule in matched] == ["all", "deep"]
    assert reasons == {
        "incoming": IN_SUBFOLDER,
        "parquet": "does not end with '.parquet'",
        "other": "not under 'other/'",
    }


def test_split_rules_without_rules():
    assert split_rules([], "incoming/a.csv") == ([], {})


def marker_rule(file: str = "_SUCCESS", prefix: str = "incoming/", include_subfolders: bool = True) -> Rule:
    return Rule(name="m", watch=BlobFilter(prefix=prefix, suffix=".csv", include_subfolders=include_subfolders),
                run=RUN, marker=Marker(file))


@pytest.mark.parametrize("blob_name, expected", [
    ("incoming/2026-12-01/_SUCCESS", None),  # the marker, though it lacks the rule's suffix
    ("incoming/_SUCCESS", None),
    ("incoming/2026-12-01/part-1.csv",
     "waits for its marker '_SUCCESS' in 'incoming/2026-12-01/': data files alone start nothing"),
    ("incoming/part-1.csv", "waits for its marker '_SUCCESS' in 'incoming/': data files alone start nothing"),
    ("incoming/a/_SUCCESS.bak", "waits for its marker '_SUCCESS' in 'incoming/a/': data files alone start nothing"),
    ("incoming/_SUCCESS/part.csv",
     "waits for its marker '_SUCCESS' in 'incoming/_SUCCESS/': data files alone start nothing"),
    ("other/_SUCCESS", NOT_UNDER),
])
def test_a_marker_rule_takes_its_marker_alone_in_any_watched_folder_and_says_why_data_files_wait(blob_name, expected):
    assert rule_mismatch(marker_rule(), blob_name) == expected


def test_a_marker_rule_still_keeps_its_folder_policy_and_names_the_container_for_a_root_marker():
    assert rule_mismatch(marker_rule(include_subfolders=False), "incoming/day/_SUCCESS") == IN_SUBFOLDER
    assert rule_mismatch(marker_rule(prefix=""), "part.csv") == (
        "waits for its marker '_SUCCESS' in 'the container': data files alone start nothing")
    assert rule_mismatch(marker_rule(file="manifest.json", prefix=""), "manifest.json") is None
