"""Decision lines to Application Insights with their fields as customDimensions, when AZURE_MONITOR_OPENTELEMETRY
is on.

In the host's classic pipeline the Python worker forwards only a record's message and level, so the ``aml_*``
attributes that ``log_event`` puts on each record are lost; azure-monitor-opentelemetry's exporter keeps them.
It is imported here and only when the setting is on: with it off (the default) nothing of OpenTelemetry is
loaded, so the blob path's cold start is the classic one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.core.config.settings import APPLICATIONINSIGHTS_CONNECTION_STRING, AZURE_MONITOR_OPENTELEMETRY, flag
from shared.core.ledger.decisions import LOGGER, log_event


def setup_telemetry(env: Mapping[str, str]) -> bool:
    """Attach Azure Monitor's exporter to the decision logger when the setting says so; True when it did.

    Called once at import of function_app.py. A problem (an unreadable flag, no connection string) is logged and
    leaves telemetry off rather than raising, so it cannot stop the indexing of every function."""
    problems: list[tuple[str, Any, str]] = []
    enabled = flag(env, AZURE_MONITOR_OPENTELEMETRY, lambda *problem: problems.append(problem))
    connection_string = APPLICATIONINSIGHTS_CONNECTION_STRING.read(env)
    if enabled and not connection_string:
        problems.append((APPLICATIONINSIGHTS_CONNECTION_STRING.name, "", "the Application Insights connection string"))
    for where, value, expected in problems:
        log_event(logging.ERROR, problem="telemetry not exported", setting=where, value=value, expected=expected)
    if problems or not enabled:
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Only the decision logger: the host already records invocations, and the worker the other log lines.
    # Managed-identity ingestion comes from APPLICATIONINSIGHTS_AUTHENTICATION_STRING, which the exporter reads.
    configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER.name, disable_tracing=True,
                            disable_metrics=True, enable_live_metrics=False, enable_performance_counters=False)
    # Decisions are INFO; the exporter must see them whatever level the worker gives the root logger.
    LOGGER.setLevel(logging.INFO)
    return True
