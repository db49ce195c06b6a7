"""Headless Chromium driven by Playwright (npm playwright-core) from a Node script (drive_browser.mjs): a plan
of steps in, what the browser saw out (each step's result, navigations with their headers, console messages,
dialogs). For the browser tests and ``./dev screenshots``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from localdev.azurite import PROJECT_ROOT

DRIVER = PROJECT_ROOT / "localdev" / "drive_browser.mjs"


class BrowserMissing(RuntimeError):
    """What is missing to drive a browser here, and the command that installs it."""


def chromium() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or CHROMIUM's path."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    found = chromium()
    if found is None or not os.access(found, os.X_OK):
        return (f"no Chromium{f' at CHROMIUM={found}' if found else ''}: apt-get install -y chromium "
                "(./dev installs it where it can), or set CHROMIUM to its path")
    if shutil.which("node") is None:
        return "no Node.js on PATH"
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        return "no playwright-core in node_modules: npm ci (./dev does)"
    return None


def drive(steps: list[dict[str, Any]], *, javascript: bool = True, width: int = 1200) -> dict[str, Any]:
    """Run ``steps`` in a fresh headless Chromium page (BrowserMissing when it cannot run here)."""
    reason = missing()
    if reason:
        raise BrowserMissing(reason)
    plan = {"chromium": chromium(), "steps": steps, "javascript": javascript, "width": width}
    done = subprocess.run(["node", str(DRIVER)], input=json.dumps(plan), capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the browser script failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
