"""The Azure Monitor alert on overdue deadlines (infra/app/monitoring.bicep) reads the decision line the app
writes, and docs/freshness.md shows the same query: checked against a line logged by the app's own writer."""

from __future__ import annotations

import json
import logging
import re

import pytest

from shared.core.ledger.decisions import Decision, Outcome, log_decision
from tests.support.docs import DOCS
from tests.support.infra import parsed

pytestmark = pytest.mark.unit
TEMPLATE = parsed("app/monitoring.bicep")
QUERY = TEMPLATE["variables"]["overdueQuery"]["value"]
PREFIX = "aml_trigger "


def test_the_alert_query_selects_the_overdue_line_and_projects_fields_it_carries(caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    log_decision(Decision(Outcome.OVERDUE, reason="only 0 new file(s)", rule="daily", folder="incoming/",
                          deadline="2026-12-02T06:00:00Z", since="2026-12-01T06:00:00Z", files=0, expected=1))
    [message] = [record.getMessage() for record in caplog.records]
    assert f'where message startswith "{PREFIX}"' in QUERY and message.startswith(PREFIX)
    assert f'substring(message, strlen("{PREFIX}"))' in QUERY
    line = json.loads(message[len(PREFIX):])
    [(field, value)] = re.findall(r'where tostring\(d\.(\w+)\) == "(\w+)"', QUERY)
    assert line[field] == value == Outcome.OVERDUE.value
    projected = dict(re.findall(r"(\w+) = to(?:string|int)\(d\.(\w+)\)", QUERY))
    assert projected == {"rule": "rule", "folder": "folder", "deadline": "deadline", "files": "files",
                         "expected": "expected"}
    assert set(projected.values()) <= set(line)


def test_the_alert_rule_fires_per_rule_and_folder_on_app_insights_and_the_docs_show_its_query():
    alert = TEMPLATE["resources"]["freshnessOverdue"]
    properties = alert["config"]["properties"]
    assert alert["type"] == "Microsoft.Insights/scheduledQueryRules"
    [scope] = properties["scopes"]
    assert scope["operator"]["operands"] == {"operand_1": "applicationInsights", "operand_2": "id"}
    [criterion] = properties["criteria"]["allOf"]
    assert (criterion["query"], criterion["timeAggregation"], criterion["operator"], criterion["threshold"]) == (
        "overdueQuery", "Count", "GreaterThan", 0)
    assert [dimension["name"] for dimension in criterion["dimensions"]] == ["rule", "folder"]
    assert QUERY.strip() in (DOCS / "freshness.md").read_text(encoding="utf-8")


def minutes(duration: str) -> int:
    """An ISO 8601 duration of the forms the alert uses (PT5M, PT1H, P1D) in minutes."""
    found = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", duration)
    assert found is not None, duration
    days, hours, mins = (int(part or 0) for part in found.groups())
    return days * 1440 + hours * 60 + mins


MUTE_MINUTES_ALLOWED = (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880)
"""The service's answer to any other value: 'MuteActionsDuration of 0 minutes is not supported. Supported values
are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880' (Azure/azure-cli#22055)."""


def test_the_alert_notifies_once_per_overdue_line_though_three_evaluations_see_it():
    properties = TEMPLATE["resources"]["freshnessOverdue"]["config"]["properties"]
    frequency, window = minutes(properties["evaluationFrequency"]), minutes(properties["windowSize"])
    mute = minutes(properties["muteActionsDuration"])
    assert (frequency, window, mute) == (5, 15, 15)
    # Every evaluation whose window holds a line comes within the window's length after the first that fires on it.
    assert mute > window - frequency and mute in MUTE_MINUTES_ALLOWED
    assert mute >= frequency  # else 'EvaluationFrequency cannot be greater than MuteActionsDuration'
    assert properties["autoMitigate"] is False  # else 'Auto mitigation must be disabled when action suppression is set'
