"""The v2 batch endpoint: the two ARM reads azure-ai-ml makes before invoking (the endpoint, its deployments), the
invocation itself, and the jobs it creates (``Jobs - List``, ``Jobs - Get``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from localdev.aml_standin.history import known_run
from localdev.aml_standin.state import AcceptedRun
from localdev.aml_standin.wire import ML_AUDIENCES, Answer, Request, error, refused_token, v2_json_body

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

SCORING_PATH = "/jobs"
BATCH_ENDPOINT = "retrain"
DEPLOYMENTS = ("default", "blue")
V2_INPUT_TYPES = {"UriFile", "UriFolder", "Literal", "MLTable", "CustomModel", "MLFlowModel", "TritonModel"}
V2_OUTPUT_TYPES = {"UriFile", "UriFolder", "MLTable", "CustomModel", "MLFlowModel", "TritonModel"}
_JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"


def read_endpoint(aml: AmlStandIn, request: Request) -> Answer:
    """ARM's batch endpoint GET (for its scoring URI) and its deployments list."""
    assert request.match is not None
    if request.match["endpoint"] != BATCH_ENDPOINT:
        return Answer(404, error("NotFound", f"no such resource {request.url.path}", v2=True))
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    if request.match["deployments"]:
        return Answer(200, {"value": [{"name": name, "properties": {}} for name in DEPLOYMENTS]})
    return Answer(200, {"name": BATCH_ENDPOINT, "properties": {"scoringUri": aml.batch_endpoint_url(),
                                                               "defaults": {"deploymentName": DEPLOYMENTS[0]}}})


def invoke(aml: AmlStandIn, request: Request) -> Answer:
    """``POST <scoring URI>``: a batch job from its inputs, outputs and property bag, on a deployment."""
    body, refusal = v2_json_body(request, ML_AUDIENCES)
    if refusal:
        return refusal
    deployment = request.headers.get("azureml-model-deployment")
    problems = batch_job_problems(body)
    if deployment is not None and deployment not in DEPLOYMENTS:
        problems.append(f"deployment {deployment!r} does not exist on endpoint {BATCH_ENDPOINT!r}")
    if problems:
        return Answer(400, error("UserError", "; ".join(problems), v2=True))
    name = f"batchjob-{uuid.uuid4()}"
    aml.accept(AcceptedRun(name, BATCH_ENDPOINT, None, body, kind="v2", deployment=deployment,
                           request_id=request.headers.get("repeatability_request-id")))
    if aml.announce:
        print(f"[azure-ml stand-in] accepted batch job {name} on {BATCH_ENDPOINT}/{deployment or 'default'}",
              flush=True)
    return Answer(200, {"id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                              f"workspaces/ws/jobs/{name}", "name": name, "type": _JOB_TYPE,
                        "properties": {"status": "NotStarted", **body["properties"]}})


def list_jobs(aml: AmlStandIn, request: Request) -> Answer:
    """ARM ``Jobs - List`` with ``properties=name=value,...`` (user properties), one page of ``nextLink``s."""
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    query = request.query
    if not query.get("api-version"):
        return Answer(400, error("MissingApiVersionParameter", "api-version is required", v2=True))
    wanted = [item.partition("=") for item in query.get("properties", "").split(",") if item]
    jobs = [run for run in aml.listed("v2")
            if all(name in run.labels and (not eq or run.labels[name] == value) for name, eq, value in wanted)]
    return Answer(200, {"value": [{"id": f"{request.url.path}/{run.run_id}", "name": run.run_id, "type": _JOB_TYPE,
                                   "properties": {"jobType": "Pipeline", "status": "Running",
                                                  "properties": run.labels}} for run in jobs]})


def get_job(aml: AmlStandIn, request: Request) -> Answer:
    """ARM ``Jobs - Get``: one job's resource with its status now (a pipeline job's with its ``componentId``)."""
    found = known_run(aml, request, v2=True)
    if isinstance(found, Answer):
        return found
    run, life = found
    if not request.query.get("api-version"):
        return Answer(400, error("MissingApiVersionParameter", "api-version is required", v2=True))
    component = {key: value for key, value in run.body["properties"].items() if key == "componentId"}
    return Answer(200, {"id": request.url.path, "name": run.run_id, "type": _JOB_TYPE,
                        "properties": {"jobType": "Pipeline", "status": life["status"],
                                       "experimentName": run.experiment, "displayName": run.run_id,
                                       "properties": run.labels, "tags": {}, "services": {}, **component},
                        "systemData": {"createdAt": aml.clock.iso(run.at)}})


def batch_job_problems(body: Any) -> list[str]:
    """What is wrong with a batch endpoint invocation body (documented PascalCase or the SDK's camelCase)."""
    body = _camel(body)
    if not isinstance(body, dict) or set(body) != {"properties"} or not isinstance(body["properties"], dict):
        return ['body must be {"properties": {...}}']
    properties = body["properties"]
    problems = [f"unknown key properties.{key}" for key in properties
                if key not in ("inputData", "outputData", "properties")]
    for name, item in (properties.get("inputData") or {}).items():
        problems.extend(_input_problems(name, item))
    for name, item in (properties.get("outputData") or {}).items():
        if (not isinstance(item, dict) or item.get("jobOutputType") not in V2_OUTPUT_TYPES
                or set(item) - {"jobOutputType", "uri", "mode"} or not _is_uri(item.get("uri"))):
            problems.append(f"output {name!r} must be {{jobOutputType, uri}}")
    bag = properties.get("properties") or {}
    if not isinstance(bag, dict) or not all(isinstance(value, str) for value in bag.values()):
        problems.append("properties.properties must map names to strings")
    return problems


def _input_problems(name: str, item: Any) -> list[str]:
    kind = item.get("jobInputType") if isinstance(item, dict) else None
    if kind not in V2_INPUT_TYPES:
        return [f"input {name!r} needs a jobInputType of {', '.join(sorted(V2_INPUT_TYPES))}"]
    if kind == "Literal" and (set(item) != {"jobInputType", "value"}
                              or not isinstance(item["value"], (str, int, float, bool))):
        return [f"literal input {name!r} must be {{jobInputType, value}} with a scalar value"]
    if kind != "Literal" and (set(item) - {"jobInputType", "uri", "mode"} or not _is_uri(item.get("uri"))):
        return [f"input {name!r} must be {{jobInputType, uri}} with an azureml:// or https:// uri"]
    return []


def _camel(value: Any) -> Any:
    """Keys as the SDK writes them: the service takes PascalCase (documented) and camelCase alike."""
    if isinstance(value, dict):
        return {(key[:1].lower() + key[1:]): _camel(item) for key, item in value.items()}
    return value


def _is_uri(value: Any) -> bool:
    # Loopback http too: without a datastore the app passes the blob's URL, which is Azurite's locally.
    return isinstance(value, str) and value.startswith(("azureml://", "https://", "http://127.0.0.1"))
