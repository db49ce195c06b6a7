"""The documentation holds together: every relative link in README.md, CONTRIBUTING.md and docs/ names a file that
exists and, with an anchor, a heading that file has; every test file (or test) they and infra/ cite exists; the
README stays a page a newcomer reads whole."""

from __future__ import annotations

import pytest

from tests.support.docs import anchors, broken_links, citing_files, documentation_pages, stale_test_citations
from tests.support.harness import PROJECT_ROOT

README_MOST_LINES = 200


@pytest.mark.parametrize("page", documentation_pages(), ids=lambda page: page.name)
def test_every_relative_link_points_to_a_file_and_heading_that_exist(page):
    assert broken_links(page, page.read_text(encoding="utf-8")) == []


def test_a_link_to_a_missing_file_or_heading_is_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Run outcomes\n", encoding="utf-8")
    page = tmp_path / "page.md"
    markdown = ("# Page\n\n## Exactly once\n\n[a](other.md#run-outcomes) [b](#exactly-once) [c](https://x.test/y)\n"
                "[d](gone.md) [e](other.md#nowhere) [f](#nowhere) ![g](missing.png)\n"
                "```\n[h](inside-a-code-block.md)\n```\n")
    assert broken_links(page, markdown) == [
        "gone.md: no file gone.md", "other.md#nowhere: no heading #nowhere in other.md",
        "#nowhere: no heading #nowhere in page.md", "missing.png: no file missing.png"]


@pytest.mark.parametrize("cites", citing_files(), ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix())
def test_every_cited_test_file_and_test_exists(cites):
    where = cites.relative_to(PROJECT_ROOT).as_posix()
    assert stale_test_citations(where, cites.read_text(encoding="utf-8")) == []


def test_a_cited_test_file_or_test_that_does_not_exist_is_named(tmp_path):
    (tmp_path / "tests" / "runs").mkdir(parents=True)
    (tmp_path / "tests" / "runs" / "test_exactly_once.py").write_text(
        "class TestRedelivery:\n    def test_twice(self): ...\n\n\nasync def test_once(): ...\n", encoding="utf-8")
    text = ("Shown by tests/runs/test_exactly_once.py (`tests/runs/test_exactly_once.py::test_once`,\n"
            "tests/runs/test_exactly_once.py::TestRedelivery) and [a link](../tests/test_gone.py).\n"
            "// tests/test_exactly_once.py, tests/runs/test_exactly_once.py::test_thrice; oracle/tests/x.py\n")
    assert stale_test_citations("docs/concepts.md", text, root=tmp_path) == [
        "docs/concepts.md:3: tests/test_exactly_once.py: no file tests/test_exactly_once.py",
        "docs/concepts.md:3: tests/runs/test_exactly_once.py::test_thrice: no test test_thrice in "
        "tests/runs/test_exactly_once.py",
    ]


def test_anchors_are_githubs():
    markdown = ("# From a file to its run (blob index tags)\n## Migrating SDK v1 `ScheduleRecurrence`\n"
                "## One watched prefix -> one pipeline\n## Notes\n## Notes\n```\n# not a heading\n```\n")
    assert anchors(markdown) == {"from-a-file-to-its-run-blob-index-tags", "migrating-sdk-v1-schedulerecurrence",
                                 "one-watched-prefix---one-pipeline", "notes", "notes-1"}


def test_the_readme_fits_a_screen_or_two():
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES
