"""The v1 pipeline service: submitting a published pipeline or a pipeline endpoint (PipelineSubmissionInfo) and
reading a pipeline run back (PipelineRunEntity)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from localdev.aml_standin.history import known_run
from localdev.aml_standin.state import AcceptedRun
from localdev.aml_standin.wire import Answer, Request, error, json_body, refused_token

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

PIPELINE_STATUS_CODES = {"NotStarted": "NotStarted", "Queued": "NotStarted", "Running": "Running",
                         "Finalizing": "Running", "Completed": "Finished", "Failed": "Failed", "Canceled": "Canceled"}
"""A run-history status as the v1 pipeline service's StatusCode says it."""
# PipelineSubmissionInfo as azureml-pipeline-core's REST client serialises it: key -> expected JSON shape.
SUBMISSION_KEYS = {
    "ExperimentName": "str", "Description": "str", "RunSource": "str", "RunType": "str", "ScheduleId": "str",
    "ParameterAssignments": "dict[str,str]", "DataPathAssignments": "datapaths",
    "DataSetDefinitionValueAssignments": "dict", "ContinueRunOnStepFailure": "bool", "EnableNotification": "bool",
    "tags": "dict[str,str]", "Properties": "dict[str,str]",
}


def submit(aml: AmlStandIn, request: Request) -> Answer:
    """``POST .../PipelineRuns/PipelineSubmit/<id>`` or ``.../PipelineEndpointSubmit/Id/<id>[/<version>]``."""
    refused = refused_token(request.headers, aml.audiences)
    if refused:
        return refused
    body, refusal = json_body(request)
    if refusal:
        return refusal
    assert request.match is not None
    pipeline, endpoint, version = request.match["pipeline"], request.match["endpoint"], request.match["version"]
    problems = submission_problems(body)
    query_version = request.query.get("pipelineVersion")
    if endpoint and version != query_version:
        problems.append(f"pipeline version in path ({version}) and pipelineVersion ({query_version}) differ")
    if pipeline and query_version:
        problems.append("pipelineVersion applies to pipeline endpoints only")
    if problems:
        return Answer(400, error("UserError", "; ".join(problems)))
    run = AcceptedRun(str(uuid.uuid4()), pipeline or endpoint, version, body)
    aml.accept(run)
    if aml.announce:
        data_paths = body.get("DataPathAssignments") or {}
        print(f"[azure-ml stand-in] accepted run {run.run_id} experiment={body['ExperimentName']} "
              f"data={json.dumps(data_paths, ensure_ascii=False)}", flush=True)
    created = aml.clock.iso(run.at)
    return Answer(200, {
        "Id": run.run_id,
        "Status": {"StatusCode": "NotStarted", "StatusDetail": None, "CreationTime": created, "EndTime": None},
        "RunHistoryExperimentName": body["ExperimentName"],
        "PipelineId": run.pipeline_id,
        "RunSource": body.get("RunSource"),
        "RunType": "HTTP",
        "ParameterAssignments": body.get("ParameterAssignments", {}),
        "DataPathAssignments": body.get("DataPathAssignments", {}),
        "tags": body.get("tags", {}),
        "Properties": {},
        "CreatedDate": created,
    })


def get_pipeline_run(aml: AmlStandIn, request: Request) -> Answer:
    """``GET .../PipelineRuns/<id>``: one run as a PipelineRunEntity."""
    found = known_run(aml, request)
    if isinstance(found, Answer):
        return found
    run, life = found
    status = {"StatusCode": PIPELINE_STATUS_CODES.get(life["status"], life["status"]), "StatusDetail": None,
              "CreationTime": aml.clock.iso(run.at), "EndTime": life["endTimeUtc"]}
    return Answer(200, {"Id": run.run_id, "Status": status, "RunHistoryExperimentName": run.experiment,
                        "PipelineId": run.pipeline_id, "tags": run.labels})


def submission_problems(body: Any) -> list[str]:
    """What is wrong with a PipelineSubmissionInfo body: unknown keys, wrong types, a missing experiment."""
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    problems = [f"unknown key {key!r}" for key in body if key not in SUBMISSION_KEYS]
    if not isinstance(body.get("ExperimentName"), str) or not body.get("ExperimentName"):
        problems.append("ExperimentName is required")
    for key, shape in SUBMISSION_KEYS.items():
        if key in body and body[key] is not None and not _fits(body[key], shape):
            problems.append(f"{key} must be {shape}")
    return problems


def _fits(value: Any, shape: str) -> bool:
    if shape == "str":
        return isinstance(value, str)
    if shape == "bool":
        return isinstance(value, bool)
    if shape == "dict":
        return isinstance(value, dict)
    if shape == "dict[str,str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if shape == "datapaths":
        return isinstance(value, dict) and all(
            isinstance(v, dict) and set(v) == {"DataStoreName", "RelativePath"}
            and all(isinstance(item, str) for item in v.values())
            for v in value.values()
        )
    raise ValueError(shape)
