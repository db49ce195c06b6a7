"""The smallest valid app settings, for tests of configuration that need a valid base to change one thing in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

WORKSPACE = (
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/PipelineRuns"
)
PIPELINE_URL = f"https://eastus.api.azureml.ms/pipelines/v1.0{WORKSPACE}/PipelineSubmit/pipe-1"
NO_APP_ROOT = Path("/nonexistent-app-root")
LOADED_AT = datetime(2026, 12, 1, tzinfo=UTC)
"""The time a test loads its configuration at: a recurrence's start_time after it is in the future."""


def minimal_env(**overrides: str | None) -> dict[str, str]:
    """The smallest valid simple-case settings; an override of None removes the setting."""
    env = {
        "WATCH_CONTAINER": "training-data",
        "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
        "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5",
        "AML_PIPELINE_URL": PIPELINE_URL,
        "AML_EXPERIMENT": "retrain",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}
