"""Separate processes delivering one blob event at the same instant: exactly once across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.support.harness import PROJECT_ROOT


def run_workers(container: str, blob_name: str, count: int, *extra: str) -> list[dict]:
    """Start ``count`` processes that deliver the same event at the same instant; their reports."""
    start_at = time.time() + 4.0  # time for every process to import and index the app first
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.support.deliver_worker", container, blob_name, str(start_at),
                          *extra], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    reports = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=90)
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        reports.append({"returncode": process.returncode, "stderr": stderr,
                        **(json.loads(lines[-1]) if lines else {})})
    return reports
