"""The documentation as the tests read it: README.md, CONTRIBUTING.md and the pages under docs/, and the links
between them as GitHub resolves them (relative paths, heading anchors)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.harness import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
INFRA = PROJECT_ROOT / "infra"

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"#{1,6} (.+)")
_EXTERNAL = re.compile(r"[a-z][a-z0-9+.-]*:", re.I)
"""A link with a scheme (https:, mailto:) leaves the repository: not checked here."""
_TEST_CITATION = re.compile(r"(?<![\w./-])(tests/[\w/.-]+\.py)\b(?:::(\w+))?")
"""A test file cited by its path from the project's root, and maybe one test in it (``tests/x/test_y.py::test_z``);
not a relative link's tail (``../tests/...``: ``broken_links`` checks those)."""


def documentation_pages() -> list[Path]:
    return [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]


def citing_files() -> list[Path]:
    """What cites test files for a reader: the documentation pages and infra/'s templates (their comments)."""
    return [*documentation_pages(), *sorted(path for path in INFRA.rglob("*") if path.is_file())]


def documentation_text() -> str:
    """Every page, one after another: what a reader can find anywhere in the documentation."""
    return "\n".join(page.read_text(encoding="utf-8") for page in documentation_pages())


def _prose(markdown: str) -> list[str]:
    """The lines outside fenced code blocks (a ``#`` or a ``](`` inside one is code, not a heading or a link)."""
    lines, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor; a repeated heading's later anchors get -1, -2, ... as on GitHub."""
    found: set[str] = set()
    for line in _prose(markdown):
        match = _HEADING.fullmatch(line)
        if match:
            base = anchor(match.group(1))
            name, repeat = base, 0
            while name in found:
                repeat += 1
                name = f"{base}-{repeat}"
            found.add(name)
    return found


def broken_links(page: Path, markdown: str) -> list[str]:
    """Each relative link of ``markdown`` (read from ``page``) whose file or heading anchor does not exist."""
    broken = []
    for line in _prose(markdown):
        for link in _LINK.findall(line):
            if _EXTERNAL.match(link):
                continue
            path, _, fragment = link.partition("#")
            target = page.parent / path
            if path and not target.exists():
                broken.append(f"{link}: no file {path}")
                continue
            if fragment and fragment not in anchors(target.read_text(encoding="utf-8") if path else markdown):
                broken.append(f"{link}: no heading #{fragment} in {target.name if path else page.name}")
    return broken


def stale_test_citations(where: str, text: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Each ``tests/...py`` path (or ``tests/...py::name`` test id) in ``text`` (the file ``where``) whose file, or
    test or class of that name, does not exist under ``root``: tests move, and a citation left behind misleads."""
    stale = []
    for number, line in enumerate(text.splitlines(), start=1):
        for found in _TEST_CITATION.finditer(line):
            path, name = found[1], found[2]
            cited = root / path
            if not cited.is_file():
                stale.append(f"{where}:{number}: {found[0]}: no file {path}")
            elif name and not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b",
                                        cited.read_text(encoding="utf-8"), re.MULTILINE):
                stale.append(f"{where}:{number}: {found[0]}: no test {name} in {path}")
    return stale
