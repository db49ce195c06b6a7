"""The app's structured log lines read back in tests: one parser, so every test reads them the same way."""

from __future__ import annotations

import json

import pytest

_LOGGER = "aml_trigger"
_PREFIX = "aml_trigger "


def decision_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    """Every structured line logged so far (decisions, problems, sweep reports), parsed from ``aml_trigger {json}``."""
    return [json.loads(record.getMessage()[len(_PREFIX):]) for record in caplog.records
            if record.name == _LOGGER and record.getMessage().startswith(_PREFIX)]


def outcome_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    """Only the lines that carry an outcome: one per decision."""
    return [line for line in decision_lines(caplog) if "outcome" in line]


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each decision's outcome from its log record's ``aml_outcome`` field, the one Application Insights indexes."""
    return [record.aml_outcome for record in caplog.records if hasattr(record, "aml_outcome")]
