"""A rule's ``freshness`` value read on its own (shared/core/config/freshness_options.py): the expectations kept, and
every problem found, each under its place and with what was expected, exactly as the load error lists them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.config.config_model import BlobFilter, Freshness
from shared.core.config.freshness_options import EXPECTED, freshness_option
from shared.core.config.problems import Problem, Problems
from shared.core.schedules.ncrontab import parse_ncrontab

pytestmark = pytest.mark.unit
SIX = parse_ncrontab("0 0 6 * * *")
SEVEN = parse_ncrontab("0 0 7 * * *")
INCOMING = BlobFilter(prefix="incoming/")
INCOMING_DEEP = BlobFilter(prefix="incoming/", include_subfolders=True)
WHOLE_CONTAINER_DEEP = BlobFilter(prefix="", include_subfolders=True)
FOLDER_EXPECTED = ("a folder ending with '/' that the rule watches (under 'incoming/', not a subfolder of it), or '' "
                   "for the whole rule")
DEEP_FOLDER_EXPECTED = ("a folder ending with '/' that the rule watches (under 'incoming/', at any depth), or '' for "
                        "the whole rule")


def _read(raw: Any, watch: BlobFilter = INCOMING) -> tuple[tuple[Freshness, ...], list[Problem]]:
    problems = Problems.of().at("freshness")
    return freshness_option(raw, watch, problems), problems.found


def test_no_freshness_is_no_expectation() -> None:
    assert _read(None) == ((), [])


def test_a_value_that_is_not_a_list_or_an_item_that_is_not_an_object_is_refused_saying_what_one_looks_like() -> None:
    assert EXPECTED == ('a list of {"deadline": "0 0 6 * * *", "min_files": 1, "folder": "incoming/sales/"} '
                        "(min_files and folder optional)")
    assert _read({"deadline": "0 0 6 * * *"}) == ((), [Problem("freshness", {"deadline": "0 0 6 * * *"}, EXPECTED)])
    assert _read(["0 0 6 * * *"]) == ((), [Problem("freshness[0]", "0 0 6 * * *", EXPECTED)])


def test_a_bad_expectation_does_not_stop_the_ones_after_it_being_read_and_checked() -> None:
    found = _read([{"deadline": "0 6 * * *"}, {"deadline": "0 0 7 * * *", "min_files": 0}, {"deadline": "0 0 6 * * *"}])
    assert found[0] == (Freshness(SEVEN, 1, ""), Freshness(SIX, 1, ""))
    assert [problem.where for problem in found[1]] == ["freshness[0].deadline", "freshness[1].min_files"]


@pytest.mark.parametrize("min_files", [0, 5_001, True, "3", 2.0])
def test_a_min_files_that_is_not_a_whole_number_from_1_to_5000_is_refused_and_read_as_1(min_files: Any) -> None:
    assert _read([{"deadline": "0 0 6 * * *", "min_files": min_files}]) == (
        (Freshness(SIX, 1, ""),),
        [Problem("freshness[0].min_files", min_files, "a whole number of files from 1 to 5,000")])


@pytest.mark.parametrize("min_files", [1, 5_000])
def test_min_files_from_1_to_5000_is_kept(min_files: int) -> None:
    assert _read([{"deadline": "0 0 6 * * *", "min_files": min_files}]) == ((Freshness(SIX, min_files, ""),), [])


@pytest.mark.parametrize(("folder", "watch"), [
    ("", INCOMING), ("incoming/", INCOMING), ("incoming/", INCOMING_DEEP), ("incoming/sales/", INCOMING_DEEP),
    ("sales/", WHOLE_CONTAINER_DEEP),
])
def test_a_folder_the_rule_watches_is_kept(folder: str, watch: BlobFilter) -> None:
    assert _read([{"deadline": "0 0 6 * * *", "folder": folder}], watch) == ((Freshness(SIX, 1, folder),), [])


@pytest.mark.parametrize(("folder", "watch", "expected"), [
    ("incoming/sales/", INCOMING, FOLDER_EXPECTED),
    ("incoming", INCOMING, FOLDER_EXPECTED),
    ("other/", INCOMING_DEEP, DEEP_FOLDER_EXPECTED),
    ("/incoming/", INCOMING_DEEP, DEEP_FOLDER_EXPECTED),
    ("/sales/", WHOLE_CONTAINER_DEEP, "a folder ending with '/' that the rule watches (under '', at any depth), or "
                                      "'' for the whole rule"),
])
def test_a_folder_the_rule_does_not_watch_is_refused_saying_which_it_does(folder: str, watch: BlobFilter,
                                                                           expected: str) -> None:
    assert _read([{"deadline": "0 0 6 * * *", "folder": folder}], watch) == (
        (Freshness(SIX, 1, folder),), [Problem("freshness[0].folder", folder, expected)])


def test_a_folder_that_is_not_text_is_refused_and_read_as_the_whole_rule() -> None:
    assert _read([{"deadline": "0 0 6 * * *", "folder": 5}]) == (
        (Freshness(SIX, 1, ""),), [Problem("freshness[0].folder", 5, FOLDER_EXPECTED)])


def test_an_expectation_without_a_usable_deadline_is_left_out() -> None:
    assert _read([{"deadline": 6}]) == ((), [Problem(
        "freshness[0].deadline", 6, "a six-field NCRONTAB string such as '0 0 6 * * *' (every day by 06:00 UTC)")])
