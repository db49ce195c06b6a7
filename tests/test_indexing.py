"""The app as the Python worker indexes it: function names, binding JSON, parameters matching bindings."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from azurefunctions.extensions.base import meta as extension_meta

from tests.harness import (BLOB_FUNCTION, PROJECT_ROOT, assert_parameters_fit_bindings, indexed_function,
                           indexed_functions)

BLOB_BINDING = {"direction": "IN", "type": "blobTrigger", "name": "client", "path": "%WATCH_CONTAINER%/{name}",
                "connection": "WATCH_STORAGE"}


def index_in_fresh_process(**env: str) -> subprocess.CompletedProcess[str]:
    """Import and index function_app.py in a new interpreter, as the worker does at start-up."""
    code = ("import json, function_app; "
            "print(json.dumps({f.get_function_name(): json.loads(f.get_function_json()) "
            "for f in function_app.app.get_functions()}))")
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


HTTP_ROUTES = {"http_start_run": ("runs", "POST"), "http_list_runs": ("runs", "GET"),
               "http_retry_run": ("runs/retry", "POST"), "http_explain": ("explain", "POST"),
               "http_health": ("health", "GET")}


def test_the_app_has_exactly_the_expected_functions():
    assert sorted(indexed_functions()) == sorted([BLOB_FUNCTION, "sweep_for_missed_blobs", *HTTP_ROUTES])


@pytest.mark.parametrize("name", sorted(HTTP_ROUTES))
def test_http_functions_take_json_with_a_function_key(name):
    route, method = HTTP_ROUTES[name]
    assert json.loads(indexed_function(name).get_function_json()) == {"scriptFile": "function_app.py", "bindings": [
        {"direction": "IN", "type": "httpTrigger", "name": "req", "methods": [method], "authLevel": "FUNCTION",
         "route": route},
        {"direction": "OUT", "type": "http", "name": "$return"}]}


def test_the_sweep_runs_every_15_minutes_unless_a_setting_says_otherwise():
    assert json.loads(indexed_function("sweep_for_missed_blobs").get_function_json())["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "0 */15 * * * *",
         "runOnStartup": False, "useMonitor": True}]
    result = index_in_fresh_process(SWEEP_SCHEDULE="0 0 * * * *")
    assert json.loads(result.stdout.splitlines()[-1])["sweep_for_missed_blobs"]["bindings"][0]["schedule"] == (
        "0 0 * * * *")
    refused = index_in_fresh_process(SWEEP_SCHEDULE="*/5 * * * *")
    assert refused.returncode != 0 and "SWEEP_SCHEDULE = '*/5 * * * *'" in refused.stderr


def test_blob_trigger_binding_json_defaults_to_event_grid():
    assert json.loads(indexed_function(BLOB_FUNCTION).get_function_json()) == {
        "scriptFile": "function_app.py",
        "bindings": [{**BLOB_BINDING, "source": "EventGrid"}],
    }


def test_polling_source_is_chosen_by_app_setting_for_local_azurite():
    result = index_in_fresh_process(BLOB_TRIGGER_SOURCE="LogsAndContainerScan")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])[BLOB_FUNCTION]["bindings"] == [
        {**BLOB_BINDING, "source": "LogsAndContainerScan"}]


def test_an_unknown_trigger_source_stops_indexing_with_a_clear_error():
    result = index_in_fresh_process(BLOB_TRIGGER_SOURCE="Polling")
    assert result.returncode != 0
    assert "BLOB_TRIGGER_SOURCE = 'Polling': one of EventGrid, LogsAndContainerScan" in result.stderr


@pytest.mark.parametrize("name", sorted(indexed_functions()))
def test_parameters_and_annotations_match_the_bindings(name):
    assert_parameters_fit_bindings(indexed_function(name))


def test_blob_trigger_takes_the_sdk_client_so_the_host_never_loads_the_blob():
    annotation = inspect.signature(indexed_function(BLOB_FUNCTION).get_user_function()).parameters["client"].annotation
    assert extension_meta.get_binding_registry().check_supported_type(annotation)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_shared_is_free_of_the_functions_library():
    for path in Path(PROJECT_ROOT, "shared").glob("*.py"):
        forbidden = {m for m in imported_modules(path) if m.startswith(("azure.functions", "azurefunctions"))}
        assert forbidden == set(), path.name
