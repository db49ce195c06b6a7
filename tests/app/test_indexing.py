"""The app as the Python worker indexes it: function names, binding JSON, parameters matching bindings."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from azurefunctions.extensions.base import meta as extension_meta

from shared.core.config.problems import ConfigError
from tests.support.harness import (
    BLOB_FUNCTION,
    PROJECT_ROOT,
    assert_parameters_fit_bindings,
    deliver_blob,
    indexed_function,
    indexed_functions,
    upload,
)
from tests.support.indexing import index_in_fresh_process
from tests.support.samples import SAMPLE_CSV

BLOB_BINDING = {"direction": "IN", "type": "blobTrigger", "name": "client", "path": "%WATCH_CONTAINER%/{name}",
                "connection": "WATCH_STORAGE"}


HTTP_ROUTES = {"http_start_run": ("runs", "POST"), "http_list_runs": ("runs", "GET"),
               "http_retry_run": ("runs/retry", "POST"), "http_explain": ("explain", "POST"),
               "http_health": ("health", "GET"), "http_backfill": ("backfill", "POST")}
PAGE_FUNCTIONS = ("http_status_page",)
"""HTTP functions that answer HTML (the status page: GET and POST, tested in tests/status/test_status_page.py)."""
RUN_STATUS_FUNCTIONS = ("record_run_status", "poll_run_status")
"""Each run's status in Azure ML onto its record: the run-event function and its fallback timer."""


NOT_THE_BLOB_PATHS = (
    "shared.operations.", "shared.flows.sweep.", "shared.flows.outcomes.", "shared.flows.run_index.",
    "shared.flows.schedules.", "shared.flows.freshness.", "shared.flows.quiet_windows.", "shared.flows.manual.",
    "shared.flows.backfill.", "shared.flows.dead_letters.", "shared.core.outcomes.", "shared.core.run_index.",
    "shared.core.freshness.", "shared.core.quiet_windows.", "shared.core.dead_letters.", "shared.core.backfill.",
    "shared.core.status.", "shared.core.aml.run_reads", "shared.core.aml.workspace_discovery",
    "shared.core.config.schedule_parser", "shared.core.schedules.recurrence", "difflib")
"""What no blob event needs, imported by the handlers that do on their first call (difflib: by the check of a
name that is nearly a setting's): importing the app (the blob trigger's cold start, one-rule settings) must not pay
for them (docs/benchmarks.md)."""


def test_the_app_has_exactly_the_expected_functions():
    assert sorted(indexed_functions()) == sorted(
        [BLOB_FUNCTION, "sweep_for_missed_blobs", "catch_up_run_index", *HTTP_ROUTES, *PAGE_FUNCTIONS,
         *RUN_STATUS_FUNCTIONS])


def test_the_run_event_function_takes_event_grid_events_in_either_schema():
    assert json.loads(indexed_function("record_run_status").get_function_json()) == {
        "scriptFile": "function_app.py", "bindings": [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]}


@pytest.mark.integration  # starts a process
def test_the_run_status_fallback_runs_every_10_minutes_unless_a_setting_says_otherwise():
    assert json.loads(indexed_function("poll_run_status").get_function_json())["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "0 */10 * * * *",
         "runOnStartup": False, "useMonitor": True}]
    result = index_in_fresh_process(RUN_STATUS_POLL_SCHEDULE="0 0 * * * *")
    assert json.loads(result.stdout.splitlines()[-1])["poll_run_status"]["bindings"][0]["schedule"] == (
        "0 0 * * * *")


@pytest.mark.integration  # starts a process
def test_the_run_index_is_caught_up_every_minute_unless_a_setting_says_otherwise():
    assert json.loads(indexed_function("catch_up_run_index").get_function_json())["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "0 * * * * *",
         "runOnStartup": False, "useMonitor": False}]
    result = index_in_fresh_process(RUN_INDEX_SCHEDULE="30 */5 * * * *")
    assert json.loads(result.stdout.splitlines()[-1])["catch_up_run_index"]["bindings"][0]["schedule"] == (
        "30 */5 * * * *")


@pytest.mark.parametrize("name", sorted(HTTP_ROUTES))
def test_http_functions_take_json_with_a_function_key(name):
    route, method = HTTP_ROUTES[name]
    assert json.loads(indexed_function(name).get_function_json()) == {"scriptFile": "function_app.py", "bindings": [
        {"direction": "IN", "type": "httpTrigger", "name": "req", "methods": [method], "authLevel": "FUNCTION",
         "route": route},
        {"direction": "OUT", "type": "http", "name": "$return"}]}


@pytest.mark.integration  # starts a process
def test_the_sweep_runs_every_15_minutes_unless_a_setting_says_otherwise():
    assert json.loads(indexed_function("sweep_for_missed_blobs").get_function_json())["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "0 */15 * * * *",
         "runOnStartup": False, "useMonitor": True}]
    result = index_in_fresh_process(SWEEP_SCHEDULE="0 0 * * * *")
    assert json.loads(result.stdout.splitlines()[-1])["sweep_for_missed_blobs"]["bindings"][0]["schedule"] == (
        "0 0 * * * *")


def test_blob_trigger_binding_json_defaults_to_event_grid():
    assert json.loads(indexed_function(BLOB_FUNCTION).get_function_json()) == {
        "scriptFile": "function_app.py",
        "bindings": [{**BLOB_BINDING, "source": "EventGrid"}],
    }


@pytest.mark.integration  # starts a process
def test_polling_source_is_chosen_by_app_setting_for_local_azurite():
    result = index_in_fresh_process(BLOB_TRIGGER_SOURCE="LogsAndContainerScan")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])[BLOB_FUNCTION]["bindings"] == [
        {**BLOB_BINDING, "source": "LogsAndContainerScan"}]


def index_and_ask_health(**env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Index in a new interpreter, then call the indexed health function there: what the host would answer."""
    code = ("import json, function_app, azure.functions as func; "
            "functions = {f.get_function_name(): f for f in function_app.app.get_functions()}; "
            "response = functions['http_health'].get_user_function()("
            "func.HttpRequest(method='GET', url='https://app/api/health', body=b'')); "
            "print(json.dumps({'functions': sorted(functions), 'status': response.status_code, "
            "'health': json.loads(response.get_body())}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result, json.loads(result.stdout.splitlines()[-1])


def bad_schedule_file(tmp_path: Path) -> str:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"schedules": [{"name": "broken", "cron": "0 2 * * *", "experiment": "e",
                                                "target": {"url": "https://example.invalid/pipeline"}}]}))
    return str(rules)


@pytest.mark.integration  # starts a process
@pytest.mark.parametrize("setting, value, problem", [
    ("BLOB_TRIGGER_SOURCE", "Polling", "BLOB_TRIGGER_SOURCE = 'Polling': one of EventGrid, LogsAndContainerScan"),
    ("SWEEP_SCHEDULE", "*/5 * * * *", "SWEEP_SCHEDULE = '*/5 * * * *': "),
    ("SWEEP_MAX_BLOBS", "0", "SWEEP_MAX_BLOBS = '0': a whole number from 1 to 100000"),
    ("RUN_STATUS_POLL_SCHEDULE", "*/5 * * * *", "RUN_STATUS_POLL_SCHEDULE = '*/5 * * * *': "),
    ("RUN_STATUS_POLL_MAX_RUNS", "many", "RUN_STATUS_POLL_MAX_RUNS = 'many': a whole number from 1 to 10000"),
    ("RUN_INDEX_SCHEDULE", "*/5 * * * *", "RUN_INDEX_SCHEDULE = '*/5 * * * *': "),
    ("TRIGGER_RULES_FILE", bad_schedule_file,
     "schedules[0].cron = '0 2 * * *': '0 2 * * *' must have six fields"),
])
def test_a_bad_setting_or_schedule_still_indexes_every_other_function_and_health_reports_it(
        tmp_path, setting, value, problem):
    result, answer = index_and_ask_health(**{setting: value(tmp_path) if callable(value) else value})

    assert answer["functions"] == sorted([BLOB_FUNCTION, "sweep_for_missed_blobs", "catch_up_run_index", *HTTP_ROUTES,
                                          *PAGE_FUNCTIONS, *RUN_STATUS_FUNCTIONS])
    assert answer["status"] == 503 and answer["health"]["configuration"]["ok"] is False
    assert any(problem in line for line in answer["health"]["configuration"]["problems"]), answer["health"]
    assert problem in result.stderr  # logged at indexing too


def test_a_bad_trigger_source_indexes_the_blob_function_on_event_grid_and_each_invocation_fails_with_it(
        app_env, aml, monkeypatch):
    result = index_in_fresh_process(BLOB_TRIGGER_SOURCE="Polling")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])[BLOB_FUNCTION]["bindings"] == [
        {**BLOB_BINDING, "source": "EventGrid"}]

    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    monkeypatch.setenv("BLOB_TRIGGER_SOURCE", "Polling")
    with pytest.raises(ConfigError, match="BLOB_TRIGGER_SOURCE = 'Polling'"):  # the host retries, then poisons
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    assert aml.received == []


@pytest.mark.parametrize("name", sorted(indexed_functions()))
def test_parameters_and_annotations_match_the_bindings(name):
    assert_parameters_fit_bindings(indexed_function(name))


def test_blob_trigger_takes_the_sdk_client_so_the_host_never_loads_the_blob():
    annotation = inspect.signature(indexed_function(BLOB_FUNCTION).get_user_function()).parameters["client"].annotation
    assert extension_meta.get_binding_registry().check_supported_type(annotation)


@pytest.mark.integration  # starts a process
def test_importing_the_app_leaves_what_no_blob_event_needs_unimported():
    code = "import sys, function_app; print(*sorted(sys.modules))"
    env = {name: value for name, value in os.environ.items() if name != "TRIGGER_RULES_FILE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env,
                          check=True, timeout=60)
    imported = done.stdout.split()
    assert "shared.flows.blobs.blob_runs" in imported
    assert [module for module in imported if module.startswith(NOT_THE_BLOB_PATHS)] == []


AZURE_PIPELINE = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
                  "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
COUNT_RULES_FILE_READS = (
    "import shared.core.config.rules_file as rules_file; reads = []; read = rules_file.read_json_file; "
    "rules_file.read_json_file = lambda *args, **kwargs: reads.append(args[0]) or read(*args, **kwargs); "
    "import function_app; print(len(reads), *sorted(f.get_function_name() for f in function_app.app.get_functions()))")
"""Indexing with each read of the rules file counted: the count, then the names of the functions indexed."""


@pytest.mark.integration  # starts a process
def test_indexing_reads_and_parses_the_rules_file_once_for_every_timer_it_registers(tmp_path):
    rule = {"name": "daily", "prefix": "incoming/", "include_subfolders": True, "target": {"url": AZURE_PIPELINE},
            "experiment": "retrain", "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"},
            "quiet_window": {"seconds": 60}, "freshness": [{"deadline": "0 0 6 * * *"}]}
    nightly = {"name": "nightly", "cron": "0 0 2 * * *", "target": {"url": AZURE_PIPELINE}, "experiment": "nightly"}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule], "schedules": [nightly]}), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", COUNT_RULES_FILE_READS], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env={**os.environ, "TRIGGER_RULES_FILE": str(tmp_path / "rules.json")},
                          check=True, timeout=60)
    reads, *functions = done.stdout.split()
    assert {"schedule_nightly", "fire_quiet_windows", "check_freshness"} <= set(functions)
    assert reads == "1"
