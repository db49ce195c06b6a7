"""After ``mutmut run``: the score of each mutated module, and every surviving change not judged equivalent.

Run by ``./dev mutate`` in .venv-mutate from the repository root. The score is the usual one, killed / (mutants -
equivalent ones); killed / all is shown beside it. A survivor is named by its function and the
lines it changes (not by mutmut's numbering, which shifts whenever a function changes), so the list of
equivalent survivors in equivalent.txt stays true across unrelated edits. Exits 1 when a survivor, or a mutant
no test reached, is not on that list, or when an entry there no longer matches any survivor (stale).
Given module names (``shared.core.blobs.batches``), it reports those modules only, as ``./dev mutate MODULE...``
ran only their mutants; an entry in equivalent.txt counts only for a module it reports.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

EQUIVALENT = Path(__file__).with_name("equivalent.txt")
MINIMUM_SCORE = 95.0
_ENTRY = re.compile(r"^(?P<function>\S+): `(?P<removed>.*)` -> `(?P<added>.*)`  # (?P<reason>\S.*)$")


@dataclass(frozen=True)
class Change:
    """One mutant as a person reads it: ``module.function: `old line` -> `new line```."""

    function: str
    removed: str
    added: str

    def __str__(self) -> str:
        return f"{self.function}: `{self.removed}` -> `{self.added}`"


def change_of(mutant: str, path: Path) -> Change:
    """The lines ``mutant`` changes in ``path``, whitespace collapsed, as one removed and one added text."""
    diff = get_diff_for_mutant(mutant, path=path).splitlines()[2:]  # past the ---/+++ header

    def joined(sign: str) -> str:
        return " ".join(" ".join(line[1:].split()) for line in diff if line.startswith(sign))

    module, _, name = mutant.rpartition(".")
    # mutmut names a function x_name__mutmut_N, a method xǁClassǁname__mutmut_N
    function = name.removeprefix("x").removeprefix("_").rsplit("__mutmut_", 1)[0].strip("ǁ").replace("ǁ", ".")
    return Change(f"{module}.{function}", joined("-"), joined("+"))


def equivalent_changes(text: str) -> set[Change]:
    """The entries of equivalent.txt; a line that is not an entry, a comment or blank is an error."""
    changes = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        entry = _ENTRY.match(line)
        if entry is None:
            raise SystemExit(f"{EQUIVALENT}:{number}: not 'module.function: `old` -> `new`  # reason': {line}")
        changes.add(Change(entry["function"], entry["removed"], entry["added"]))
    return changes


def module_of(meta: Path) -> str:
    """``shared.core.blobs.batches`` for ``mutants/shared/core/blobs/batches.py.meta``."""
    return ".".join(meta.relative_to("mutants").with_suffix("").with_suffix("").parts)


def main(modules: list[str]) -> int:
    metas = [meta for meta in sorted(Path("mutants").rglob("*.py.meta")) if not modules or module_of(meta) in modules]
    judged = {module_of(meta) for meta in metas}  # an entry for a module not mutated (yet) waits for it
    equivalent = {change for change in equivalent_changes(EQUIVALENT.read_text(encoding="utf-8"))
                  if any(change.function.startswith(f"{module}.") for module in judged)}
    unexplained: list[Change] = []
    matched: set[Change] = set()
    print(f"{'module':44} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'other':>7} {'killed/all':>10} {'score':>7}")
    low = False
    for meta in metas:
        path = meta.relative_to("mutants").with_suffix("")
        data = SourceFileMutationData(path=path)
        data.load()
        counts: Counter[str] = Counter()
        for mutant, exit_code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[exit_code]
            if status in ("killed", "timeout", "caught by type check"):
                counts["killed"] += 1
                continue
            change = change_of(mutant, path)
            if change in equivalent and status in ("survived", "no tests"):
                counts["equivalent"] += 1
                matched.add(change)
            else:
                unexplained.append(change)
                print(f"  {status}: {change}    ({mutant})")
        total = len(data.exit_code_by_key)
        judged = total - counts["equivalent"]
        score = 100.0 * counts["killed"] / judged if judged else 100.0
        low = low or score < MINIMUM_SCORE
        other = judged - counts["killed"]
        print(f"{path!s:44} {total:7} {counts['killed']:7} {counts['equivalent']:7} {other:7} "
              f"{100.0 * counts['killed'] / total if total else 100.0:9.1f}% {score:6.1f}%")
    for stale in sorted(equivalent - matched, key=str):
        print(f"  stale entry in {EQUIVALENT.name} (no such survivor now): {stale}")
    if unexplained:
        print(f"{len(unexplained)} surviving change(s) not in {EQUIVALENT.name}: kill each with a test, or add it "
              "there with the reason it cannot change behaviour")
    if low:
        print(f"a module scored below {MINIMUM_SCORE}% (killed / mutants not judged equivalent)")
    return 1 if unexplained or low or equivalent - matched else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
