"""Indexing the app in a new interpreter, as the worker does at start-up, for tests of what import-time code does."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.harness import PROJECT_ROOT

_INDEX = ("import json, function_app; print(json.dumps({f.get_function_name(): "
          "{**json.loads(f.get_function_json()), 'retry': f.get_settings_dict('retry_policy')} "
          "for f in function_app.app.get_functions()}))")


def index_in_fresh_process(**env: str) -> subprocess.CompletedProcess[str]:
    """Import and index function_app.py with ``env`` over this process's environment; stdout's last line is each
    function's binding JSON, plus its retry setting where it has one."""
    return subprocess.run([sys.executable, "-c", _INDEX], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
