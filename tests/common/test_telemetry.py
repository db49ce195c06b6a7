"""AZURE_MONITOR_OPENTELEMETRY: on, a real azure-monitor-opentelemetry pipeline posts each decision's fields as
customDimensions to the ingestion endpoint the connection string names (a local one here); off, the app imports
nothing of OpenTelemetry. Each app runs in a fresh interpreter, as the worker starts it: the exporter's set-up is
process-wide."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from localdev.app_insights import INSTRUMENTATION_KEY, QUIET_EXPORTER, IngestionEndpoint
from shared.clients.common.telemetry import setup_telemetry
from tests.support.harness import PROJECT_ROOT

_LOG_A_DECISION = (
    "import function_app\n"
    "from shared.core.ledger.decisions import Decision, Outcome, log_decision\n"
    "log_decision(Decision(Outcome.SUBMITTED, rule='default', container='training-data', blob='incoming/a.csv',\n"
    "                      key='k1', run_id='run-1', attempts=2, past_due=False))\n"
    "log_decision(Decision(Outcome.FAILED, rule='default', blob='incoming/b.csv', status=400,\n"
    "                      error_code='UserError', retryable=False))\n"
)
_TELEMETRY_MODULES = ("import sys, function_app; print(sorted({m.split('.')[0] + '.' + m.split('.')[1] "
                      "if m.startswith('azure.monitor') else m.split('.')[0] for m in sys.modules "
                      "if m.startswith(('opentelemetry', 'azure.monitor'))}))")


_UNUSED_ENDPOINT = f"InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint=http://127.0.0.1:9/"
"""Never posted to: these runs log nothing."""


def run_app(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter at the project root, the telemetry settings cleared then ``env`` applied."""
    base = {name: value for name, value in os.environ.items()
            if name not in ("AZURE_MONITOR_OPENTELEMETRY", "APPLICATIONINSIGHTS_CONNECTION_STRING")}
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**base, **QUIET_EXPORTER, **env}, timeout=120)


@pytest.mark.integration
def test_with_opentelemetry_on_each_decisions_fields_arrive_as_custom_dimensions_of_one_trace():
    with IngestionEndpoint() as ingestion:
        result = run_app(_LOG_A_DECISION, AZURE_MONITOR_OPENTELEMETRY="true",
                         APPLICATIONINSIGHTS_CONNECTION_STRING=ingestion.connection_string)
        assert result.returncode == 0, result.stderr
    traces = [envelope for envelope in ingestion.envelopes
              if envelope["name"] == "Microsoft.ApplicationInsights.Message"]
    assert set(ingestion.paths) == {"/v2.1/track"}
    assert [trace["iKey"] for trace in traces] == [INSTRUMENTATION_KEY] * 2
    submitted, failed = (trace["data"]["baseData"] for trace in traces)
    assert submitted["message"] == (
        'aml_trigger {"outcome": "submitted", "rule": "default", "past_due": false, "container": "training-data", '
        '"blob": "incoming/a.csv", "key": "k1", "run_id": "run-1", "attempts": 2}')
    assert submitted["severityLevel"] == 1  # Information
    assert submitted["properties"] == {  # customDimensions: every value a string
        "aml_outcome": "submitted", "aml_rule": "default", "aml_past_due": "False",
        "aml_container": "training-data", "aml_blob": "incoming/a.csv", "aml_key": "k1", "aml_run_id": "run-1",
        "aml_attempts": "2", "logger_name": "aml_trigger"}
    assert failed["severityLevel"] == 3  # Error
    assert failed["properties"] == {
        "aml_outcome": "failed", "aml_rule": "default", "aml_blob": "incoming/b.csv", "aml_status": "400",
        "aml_error_code": "UserError", "aml_retryable": "False", "logger_name": "aml_trigger"}


@pytest.mark.integration
def test_with_opentelemetry_on_only_the_decision_logger_is_exported():
    code = "import logging, function_app\nlogging.getLogger('azure.core').warning('not a decision')\n" \
           "logging.getLogger().warning('nor this')\n"
    with IngestionEndpoint() as ingestion:
        result = run_app(code, AZURE_MONITOR_OPENTELEMETRY="true",
                         APPLICATIONINSIGHTS_CONNECTION_STRING=ingestion.connection_string)
        assert result.returncode == 0, result.stderr
    assert [envelope for envelope in ingestion.envelopes
            if envelope["name"] == "Microsoft.ApplicationInsights.Message"] == []


@pytest.mark.integration
def test_with_opentelemetry_off_importing_the_app_imports_neither_opentelemetry_nor_azure_monitor():
    off = {"AZURE_MONITOR_OPENTELEMETRY": "false", "APPLICATIONINSIGHTS_CONNECTION_STRING": _UNUSED_ENDPOINT}
    for env in ({}, off):
        result = run_app(_TELEMETRY_MODULES, **env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "[]"
    on = run_app(_TELEMETRY_MODULES, AZURE_MONITOR_OPENTELEMETRY="true",
                 APPLICATIONINSIGHTS_CONNECTION_STRING=_UNUSED_ENDPOINT)
    assert on.returncode == 0, on.stderr
    assert on.stdout.splitlines()[-1] == "['azure.monitor', 'opentelemetry']"  # the probe sees them when they load


def problems_logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(record.getMessage().removeprefix("aml_trigger ")) for record in caplog.records
            if record.name == "aml_trigger"]


def test_an_unreadable_flag_is_reported_under_its_name_and_leaves_telemetry_off(caplog):
    caplog.set_level(logging.ERROR, logger="aml_trigger")
    assert setup_telemetry({"AZURE_MONITOR_OPENTELEMETRY": "sometimes"}) is False
    assert problems_logged(caplog) == [{"problem": "telemetry not exported", "setting": "AZURE_MONITOR_OPENTELEMETRY",
                                        "value": "sometimes", "expected": "true or false"}]


def test_telemetry_on_without_a_connection_string_says_which_setting_is_missing_and_leaves_it_off(caplog):
    caplog.set_level(logging.ERROR, logger="aml_trigger")
    assert setup_telemetry({"AZURE_MONITOR_OPENTELEMETRY": "true", "APPLICATIONINSIGHTS_CONNECTION_STRING": ""}) \
        is False
    assert problems_logged(caplog) == [{
        "problem": "telemetry not exported", "setting": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": "",
        "expected": "the Application Insights connection string"}]


def test_telemetry_off_by_default_configures_nothing_and_says_nothing(caplog):
    caplog.set_level(logging.DEBUG, logger="aml_trigger")
    assert setup_telemetry({}) is False
    assert problems_logged(caplog) == []
