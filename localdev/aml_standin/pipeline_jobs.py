"""v2 pipeline jobs: the registered pipeline component azure-ai-ml reads (``components.get``), and ARM's ``Jobs -
Create Or Update`` PUT that creates a job under a name the client chooses. A second PUT of a name refuses as Azure
ML does (azure-facts-3 section 4: ``UserError`` "A job with this name already exists", inner ``Immutable`` /
``JobPropertyImmutable``; the status, 400, is inferred), or, in the ``identical_reput_updates`` mode, answers an
identical re-PUT 200 with the existing job (inferred from that message's "update"). The jobs it creates are read
and listed by ``v2``'s ``Jobs - Get`` / ``Jobs - List`` like batch jobs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from localdev.aml_standin.state import AcceptedRun
from localdev.aml_standin.wire import Answer, Request, error, refused_token, v2_json_body

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

COMPONENT = ("retrain_pipeline", "3")
"""The one registered pipeline component (name, version) the stand-in's workspaces hold at first; more versions
of it may be registered (``component_versions``)."""
COMPONENT_INPUTS = {"input_data": "uri_file", "model_name": "string", "max_trials": "integer",
                    "learning_rate": "number", "early_stop": "boolean"}
JOB_KEYS = {"jobType", "componentId", "experimentName", "displayName", "inputs", "outputs", "settings", "jobs",
            "isArchived", "tags", "properties", "description"}
PIPELINE_INPUT_TYPES = {"literal", "uri_file", "uri_folder"}
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
_JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"
EXISTS_MESSAGE = ("A job with this name already exists. If you are trying to update the existing job, the existing "
                  "job's Settings, Inputs, Outputs, Jobs, InputBindings, OutputBindings cannot be changed. Only "
                  "description, tags, displayName, properties, and isArchived can be updated.")
"""Azure ML's words for a PUT of an existing job name (MicrosoftDocs/azure-docs #122250, Azure/azure-cli #26857)."""


def read_component(aml: AmlStandIn, request: Request) -> Answer:
    """ARM's component version GET: the registered pipeline component, its inputs and one output."""
    assert request.match is not None
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    name, version = request.match["name"], request.match["version"]
    if name != COMPONENT[0] or version not in aml.component_versions:
        return Answer(404, error("NotFound", f"no such resource {request.url.path}", v2=True))
    return Answer(200, _component_version(request.url.path, version))


def list_component_versions(aml: AmlStandIn, request: Request) -> Answer:
    """ARM's ``ComponentVersions - List``, newest first under ``$orderBy=createdtime desc``, at most ``$top``:
    what azure-ai-ml reads to resolve ``<name>@latest``. A name with no version lists none."""
    assert request.match is not None
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    versions = list(aml.component_versions) if request.match["name"] == COMPONENT[0] else []
    if request.query.get("$orderBy") == "createdtime desc":
        versions.reverse()
    top = request.query.get("$top")
    path = request.url.path
    return Answer(200, {"value": [_component_version(f"{path}/{version}", version)
                                  for version in versions[:int(top) if top else None]]})


def _component_version(path: str, version: str) -> dict[str, Any]:
    """A registered version of the component, as ARM answers it: its spec's inputs and one output."""
    spec = {"name": COMPONENT[0], "version": version, "display_name": "Retrain", "type": "pipeline",
            "inputs": {name: {"type": kind} for name, kind in COMPONENT_INPUTS.items()},
            "outputs": {"scores": {"type": "uri_folder"}}, "jobs": {}}
    return {"id": path, "name": version, "type": "Microsoft.MachineLearningServices/workspaces/components/versions",
            "properties": {"componentSpec": spec, "isAnonymous": False, "properties": {}, "tags": {}}}


def create_job(aml: AmlStandIn, request: Request) -> Answer:
    """``PUT .../jobs/<name>``: a pipeline job from a registered component, once per name."""
    assert request.match is not None
    body, refusal = v2_json_body(request, aml.audiences)
    if refusal:
        return refusal
    name = request.match["run"]
    problems = ([] if _JOB_NAME.fullmatch(name) else [f"job name {name!r} is not a valid name"]) + (
        pipeline_job_problems(body, request.url.path.split("/jobs/")[0], aml.component_versions))
    if problems:
        return Answer(400, error("UserError", "; ".join(problems), v2=True))
    if not aml.accept_new(AcceptedRun(name, COMPONENT[0], None, body, kind="v2")):
        return _existing(aml, request.url.path, name, body)
    if aml.announce:
        print(f"[azure-ml stand-in] created pipeline job {name}", flush=True)
    return Answer(201, _job(request.url.path, name, body))


def _existing(aml: AmlStandIn, path: str, name: str, body: dict[str, Any]) -> Answer:
    """A PUT of an existing name: the cited refusal, or (``identical_reput_updates``, inferred) 200 with the
    existing job when the body is the one that created it."""
    existing = aml.find(name)
    if aml.identical_reput_updates and existing is not None and existing.body == body:
        return Answer(200, _job(path, name, body))
    return Answer(400, {"error": {"code": "UserError", "message": EXISTS_MESSAGE, "details": [],
                                  "innerError": {"code": "Immutable", "innerError": {"code": "JobPropertyImmutable"}}}})


def _job(path: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": path, "name": name, "type": _JOB_TYPE, "properties": {**body["properties"], "status": "NotStarted"}}


def pipeline_job_problems(body: Any, workspace_path: str, versions: Sequence[str] = (COMPONENT[1],)) -> list[str]:
    """What is wrong with a pipeline job's body: its shape, its component (a version registered in this workspace),
    its inputs (the component's, typed as literals or URIs)."""
    properties = body.get("properties") if isinstance(body, dict) and set(body) == {"properties"} else None
    if not isinstance(properties, dict):
        return ['body must be {"properties": {...}}']
    problems = [f"unknown key properties.{key}" for key in properties if key not in JOB_KEYS]
    if properties.get("jobType") != "Pipeline":
        problems.append("properties.jobType must be Pipeline")
    if properties.get("componentId") not in {f"{workspace_path}/components/{COMPONENT[0]}/versions/{version}"
                                             for version in versions}:
        problems.append(f"component {properties.get('componentId')!r} is not registered in this workspace")
    for name, item in (properties.get("inputs") or {}).items():
        kind = item.get("jobInputType") if isinstance(item, dict) else None
        if name not in COMPONENT_INPUTS or kind not in PIPELINE_INPUT_TYPES:
            problems.append(f"input {name!r} is not an input of the component, or has no jobInputType")
        elif kind == "literal" and not isinstance(item.get("value"), str):
            problems.append(f"literal input {name!r} must carry its value as a string")
    bag = properties.get("properties") or {}
    if not isinstance(bag, dict) or not all(isinstance(value, str) for value in bag.values()):
        problems.append("properties.properties must map names to strings")
    return problems
