"""The documentation holds together: every relative link in README.md, CONTRIBUTING.md and docs/ names a file that
exists and, with an anchor, a heading that file has; the README stays a page a newcomer reads whole."""

from __future__ import annotations

import pytest

from tests.support.docs import anchors, broken_links, documentation_pages
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


def test_anchors_are_githubs():
    markdown = ("# From a file to its run (blob index tags)\n## Migrating SDK v1 `ScheduleRecurrence`\n"
                "## One watched prefix -> one pipeline\n## Notes\n## Notes\n```\n# not a heading\n```\n")
    assert anchors(markdown) == {"from-a-file-to-its-run-blob-index-tags", "migrating-sdk-v1-schedulerecurrence",
                                 "one-watched-prefix---one-pipeline", "notes", "notes-1"}


def test_the_readme_fits_a_screen_or_two():
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES
