"""A rule's batch options (``marker``, ``quiet_window``) and a rule's or schedule's run limit
(``max_active_runs``): how many files one run takes, and how many runs may be active at once."""

from __future__ import annotations

import re
from typing import Any

from shared.core.config.config_model import Marker, QuietWindow, RunSpec
from shared.core.config.fields import flag, matching, unknown_keys
from shared.core.config.problems import Problems
from shared.core.ledger.run_limits import POLICIES, QUEUE, RunLimit

BATCH_KEYS = {"marker", "quiet_window"}
LIMIT_KEYS = {"max_active_runs", "max_active_runs_policy"}
MARKER_KEYS = {"file", "manifest"}
MAX_QUIET_SECONDS = 86_400
"""The longest quiet window: a day (a folder quiet for longer is better served by a marker or a schedule)."""
MARKER_FILE = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,255}")
"""A file name: no folder in it, and not '.' or '..' (which name folders, never a blob a folder holds)."""


def run_limit(raw: dict[str, Any], problems: Problems) -> RunLimit | None:
    """A rule's or schedule's ``max_active_runs`` (absent: no limit) and ``max_active_runs_policy``."""
    most = raw.get("max_active_runs")
    policy = raw.get("max_active_runs_policy", QUEUE)
    if policy not in POLICIES:
        problems.at("max_active_runs_policy").add(
            policy, "queue (waiting triggers start in order as runs end) or latest (only the newest waiting one)")
    if most is None:
        if "max_active_runs_policy" in raw:
            problems.at("max_active_runs_policy").add(policy, "only with max_active_runs")
        return None
    if not isinstance(most, int) or isinstance(most, bool) or most < 1:
        problems.at("max_active_runs").add(most, "a positive whole number: how many of its runs may be active at once")
        return None
    return RunLimit(most, policy if policy in POLICIES else QUEUE)


def marker_option(raw: Any, run: RunSpec | None, problems: Problems) -> Marker | None:
    """A rule's marker: the blob whose new versions alone start its runs, one run per folder it completes."""
    if raw is None:
        return None
    expected = '{"file": "_SUCCESS"} or {"file": "manifest.json", "manifest": true}'
    if not isinstance(raw, dict):
        problems.add(raw, expected)
        return None
    unknown_keys(raw, MARKER_KEYS, "marker", problems)
    file = matching(raw.get("file"), MARKER_FILE, problems.at("file"),
                    "a file name without folders, such as '_SUCCESS' or 'manifest.json' (not '.' or '..')")
    manifest = flag(raw, "manifest", False, problems)
    if run is not None and run.data_path is not None and run.data_path.relative_path != "path" and not manifest:
        problems.at("file").add(file, "a marker rule passes its folder: data_path.relative_path must be 'path'")
    return Marker(file=file, manifest=manifest)


def quiet_window_option(rule: dict[str, Any], run: RunSpec | None, problems: Problems) -> QuietWindow | None:
    """A rule's quiet window: one run on a folder once it has had no new file for ``seconds``."""
    raw = rule.get("quiet_window")
    if raw is None:
        return None
    seconds = raw.get("seconds") if isinstance(raw, dict) and set(raw) == {"seconds"} else None
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_QUIET_SECONDS:
        problems.add(raw, f'{{"seconds": N}}, N a whole number of seconds from 1 to {MAX_QUIET_SECONDS:,}')
        return None
    if rule.get("marker") is not None:
        problems.add(raw, "either marker or quiet_window: a marker already says when a folder is complete")
    if run is not None and run.data_path is not None and run.data_path.relative_path != "path":
        problems.add(raw, "a quiet-window rule passes its folder: data_path.relative_path must be 'path'")
    return QuietWindow(seconds)
