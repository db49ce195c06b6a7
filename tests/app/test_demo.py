"""The quick start's first command: the demo runs the main job end to end, on the bundled sample."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localdev.demo import SAMPLE, sample_csv
from shared.core.blobs.csv_head import csv_head_problem
from tests.support.harness import PROJECT_ROOT


def test_the_bundled_sample_is_the_generated_one_and_a_valid_csv():
    assert SAMPLE.read_bytes() == sample_csv()  # regenerate with: python -m localdev.demo write-sample
    assert csv_head_problem(SAMPLE.read_bytes(), SAMPLE.stat().st_size, ["MYCT", "PRP"]) is None


@pytest.mark.integration  # starts a process
def test_the_demo_submits_once_records_it_and_ignores_the_duplicate():
    result = subprocess.run([sys.executable, "-m", "localdev.demo"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.count("[azure-ml stand-in] accepted run") == 1
    assert '"outcome": "submitted"' in out and '"outcome": "duplicate"' in out
    assert "state=submitted" in out and "accepted 1 run(s) for 2 deliveries" in out
    assert '"outcome": "run_completed"' in out and out.count('"outcome": "run_completed"') == 1
    assert "run status=completed" in out
    assert out.rstrip().endswith("done")
