"""./dev's Python 3.13 stage (the worker check and the suite on 3.13): under CI a missing Python 3.13 fails it, for
CI must run every check; on a machine without one it is skipped, saying so. ./dev is sourced for its functions."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.harness import PROJECT_ROOT

pytestmark = pytest.mark.integration  # a subprocess

ADVICE = "(set PYTHON313=/path/to/python3.13): python -m pytest worker_check"


def on313_without_python(bin_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``on313 pytest worker_check`` on a PATH with no Python (and no pyenv): only ``dirname``, which ./dev uses."""
    (bin_dir / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run([bash, "-c", "source ./dev && on313 pytest worker_check"], cwd=PROJECT_ROOT,
                          env={"PATH": str(bin_dir), **env}, capture_output=True, text=True, timeout=60, check=False)


def test_under_ci_a_missing_python_313_fails_the_stage_naming_what_to_set(tmp_path):
    done = on313_without_python(tmp_path, {"CI": "true"})

    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", f"FAILED on Python 3.13: no Python 3.13 found, and CI (CI is set) runs every check {ADVICE}\n")


def test_elsewhere_a_missing_python_313_skips_the_stage_saying_so(tmp_path):
    done = on313_without_python(tmp_path, {})

    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"skipped on Python 3.13: no Python 3.13 found {ADVICE}\n", "")
