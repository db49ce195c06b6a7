"""Cold start: importing function_app (telemetry off and on) against importing its runtime dependencies alone."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from bench.common import Row, ms, seconds
from localdev.app_insights import QUIET_EXPORTER, IngestionEndpoint
from localdev.azurite import PROJECT_ROOT

RUNTIME_DEPENDENCIES = ("azure.functions", "azurefunctions.extensions.bindings.blob", "azure.identity",
                        "azure.storage.blob", "requests")
COLD_START_TARGET = 1.15
"""Issue 28: importing the app costs at most 15% over its dependencies alone."""


def cold_start(rounds: int = 30) -> list[Row]:
    """Importing function_app with telemetry off and on, against importing its runtime dependencies alone; the
    three alternate, so all see the same machine load. "On" points at a local ingestion endpoint (nothing is
    logged at import, so nothing is posted). A ratio is the median of the rounds' own ratios: a slow stretch of a
    shared machine slows one round's three commands alike, and moves that less than it moves either median."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "function_app.py", "shared", "triggers"],
                   cwd=PROJECT_ROOT, check=True)
    off = {name: value for name, value in os.environ.items()
           if name not in ("TRIGGER_RULES_FILE", "AZURE_MONITOR_OPENTELEMETRY")}
    dependencies = "import " + ", ".join(RUNTIME_DEPENDENCIES)

    def timed(code: str, env: dict[str, str]) -> float:
        return seconds(lambda: subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True))

    times: dict[str, list[float]] = {"bare": [], "off": [], "on": []}
    with IngestionEndpoint() as ingestion:
        on = {**off, **QUIET_EXPORTER, "AZURE_MONITOR_OPENTELEMETRY": "true",
              "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string}
        for _ in range(rounds):
            times["bare"].append(timed(dependencies, off))
            times["off"].append(timed("import function_app", off))
            times["on"].append(timed("import function_app", on))
    baseline = f"{ms(statistics.median(times['bare']))} (dependencies alone)"
    off_ratio, on_ratio = (statistics.median(app / bare for app, bare in zip(times[mode], times["bare"], strict=True))
                           for mode in ("off", "on"))
    return [Row("cold start: import function_app", ms(statistics.median(times["off"])), baseline, off_ratio,
                f"ratio <= {COLD_START_TARGET}", off_ratio <= COLD_START_TARGET),
            Row("cold start: telemetry on", ms(statistics.median(times["on"])), baseline, on_ratio,
                "- (opt-in)", None)]
