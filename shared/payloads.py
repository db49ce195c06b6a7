"""Declarative mapping from a trigger (rule + blob version) to the exact request Azure ML receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from shared.config import RunSpec

V1_CONTENT_TYPE = "application/json"
TRIGGERED_BY = "aml-pipeline-trigger"


@dataclass(frozen=True)
class SubmitRequest:
    """One POST to Azure ML: where, with which token scope, what body, and where the run id comes back."""

    url: str
    scope: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": V1_CONTENT_TYPE})
    run_id_field: str = "Id"


def blob_tags(rule: str, *, container: str, blob_name: str, etag: str, key: str) -> dict[str, str]:
    """Labels naming the blob version that triggered a run, so a run can always be traced back to its event."""
    return {
        "triggered_by": TRIGGERED_BY,
        "trigger_rule": rule,
        "trigger_blob": f"{container}/{blob_name}",
        "trigger_etag": etag,
        "trigger_key": key,
    }


def v1_submission(run: RunSpec, *, data_path: str | None, tags: Mapping[str, str]) -> SubmitRequest:
    """The body of a v1 published pipeline / pipeline endpoint submission (PipelineSubmissionInfo).

    ``data_path`` is the blob's path inside the container the run's datastore points at.
    """
    body: dict[str, Any] = {
        "ExperimentName": run.experiment,
        "ParameterAssignments": dict(run.parameters),
        "RunSource": run.run_source,
        "tags": dict(tags),
    }
    if run.data_path is not None and data_path is not None:
        body["DataPathAssignments"] = {
            run.data_path.parameter: {"DataStoreName": run.data_path.datastore, "RelativePath": data_path}
        }
    if run.description:
        body["Description"] = run.description
    if run.continue_on_step_failure is not None:
        body["ContinueRunOnStepFailure"] = run.continue_on_step_failure
    return SubmitRequest(url=run.target.submit_url(), scope=run.target.scope, body=body)
