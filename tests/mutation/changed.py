"""The mutated modules a branch changed, for ``./dev test``: mutation testing of the whole set takes longer than
the rest of the checks together, so ``./dev test`` runs only what a change can have weakened, and CI runs the whole
set after it (``.ci/run``: ``./dev mutate``).

A module counts as changed when its file, or a test in its domain's folder (``tests/<domain>/``: the tests that
kill its mutants live there), differs from where the branch left main, committed or not. A change to what every
module is judged by (the mutation config, the report, its equivalents, the shared test support) counts for every
module, and so does a checkout with no main to compare with. Prints one module name a line
(``shared.core.blobs.batches``), nothing when no module changed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

JUDGED_BY = ("pyproject.toml", "requirements-mutate.txt", "tests/conftest.py", "tests/mutation/", "tests/support/")
"""Files every module's verdict depends on (a prefix ends with '/')."""
MAINS = ("main", "origin/main")


def git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def changed_files() -> set[str] | None:
    """Files that differ from the merge base with main (committed, staged, unstaged or new); None without a main."""
    base = next((found.strip() for main in MAINS if (found := git("merge-base", "HEAD", main))), None)
    if base is None:
        return None
    diff, untracked = git("diff", "--name-only", base), git("ls-files", "--others", "--exclude-standard")
    return set((diff or "").splitlines()) | set((untracked or "").splitlines())


def affected(module_files: list[str], changed: set[str] | None) -> list[str]:
    """The modules of ``module_files`` (``shared/core/<domain>/<name>.py``) that ``changed`` can have weakened."""
    every = changed is None or any(path.startswith(JUDGED_BY) for path in changed)
    found = []
    for file in module_files:
        path = PurePosixPath(file)
        tests = f"tests/{path.parts[2]}/"
        if every or file in (changed or set()) or any(name.startswith(tests) for name in changed or set()):
            found.append(".".join(path.with_suffix("").parts))
    return found


def main() -> int:
    module_files = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]["only_mutate"]
    print("\n".join(affected(module_files, changed_files())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
