"""localdev.browser for tests: a test skips, saying why, where Chromium or playwright-core is not installed."""

from __future__ import annotations

from typing import Any

import pytest

from localdev import browser


def drive(steps: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    try:
        return browser.drive(steps, **options)
    except browser.BrowserMissing as reason:
        pytest.skip(str(reason))
