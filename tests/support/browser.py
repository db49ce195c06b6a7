"""Headless Chromium driven by Playwright (npm playwright-core) from a Node script: a plan of steps in, what the
browser saw out. Tests skip, saying why, where Chromium or playwright-core is not installed (./dev installs both)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.support.harness import PROJECT_ROOT

DRIVER = PROJECT_ROOT / "tests" / "browser" / "drive.mjs"


def chromium() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or CHROMIUM's path."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def skip_reason() -> str | None:
    if chromium() is None:
        return "no Chromium: apt-get install -y chromium (./dev installs it where it can), or set CHROMIUM"
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        return "no playwright-core in node_modules: npm ci (./dev does)"
    if shutil.which("node") is None:
        return "no Node.js on PATH"
    return None


def drive(steps: list[dict[str, Any]], *, javascript: bool = True, width: int = 1200) -> dict[str, Any]:
    """Run ``steps`` in a fresh headless Chromium page; its results, navigations, console messages and dialogs."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    plan = {"chromium": chromium(), "steps": steps, "javascript": javascript, "width": width}
    done = subprocess.run(["node", str(DRIVER)], input=json.dumps(plan), capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
