"""Declarative mapping from a trigger (rule + blob version) to the exact request Azure ML receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from shared.config import Rule

V1_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class SubmitRequest:
    """One POST to Azure ML: where, with which token scope, what body, and where the run id comes back."""

    url: str
    scope: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": V1_CONTENT_TYPE})
    run_id_field: str = "Id"


def trigger_tags(rule: Rule, *, container: str, blob_name: str, etag: str, key: str) -> dict[str, str]:
    """Labels on the run naming what triggered it, so a run can always be traced back to its event."""
    return {
        "triggered_by": "aml-pipeline-trigger",
        "trigger_rule": rule.name,
        "trigger_blob": f"{container}/{blob_name}",
        "trigger_etag": etag,
        "trigger_key": key,
    }


def v1_submission(rule: Rule, *, container: str, blob_name: str, etag: str, key: str) -> SubmitRequest:
    """The body of a v1 published pipeline / pipeline endpoint submission (PipelineSubmissionInfo)."""
    body: dict[str, Any] = {
        "ExperimentName": rule.experiment,
        "ParameterAssignments": dict(rule.parameters),
        "RunSource": rule.run_source,
        "tags": trigger_tags(rule, container=container, blob_name=blob_name, etag=etag, key=key),
    }
    if rule.data_path is not None:
        body["DataPathAssignments"] = {
            rule.data_path.parameter: {"DataStoreName": rule.data_path.datastore, "RelativePath": blob_name}
        }
    if rule.description:
        body["Description"] = rule.description
    if rule.continue_on_step_failure is not None:
        body["ContinueRunOnStepFailure"] = rule.continue_on_step_failure
    return SubmitRequest(url=rule.target.submit_url(), scope=rule.target.scope, body=body)
