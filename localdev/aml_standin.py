"""A local Azure ML stand-in: a real HTTP server enforcing the v1 pipeline submission contract.

It checks what the service checks (bearer token audience and expiry, content type, PipelineSubmissionInfo keys
and types, pipeline endpoint versions), answers like the service (PipelineRunEntity, error bodies) and can
misbehave on request: 429 with Retry-After, 5xx, slow answers, dropped connections.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localdev.http_server import LocalServer, QuietHandler
from localdev.tokens import read_token

ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.azure.com/",
                           "https://management.core.windows.net/"})
WORKSPACE_PATH = ("/pipelines/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/"
                  "Microsoft.MachineLearningServices/workspaces/{ws}")
_ROUTE = re.compile(
    r"^/pipelines/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/PipelineRuns/(?:PipelineSubmit/(?P<pipeline>[^/]+)"
    r"|PipelineEndpointSubmit/Id/(?P<endpoint>[^/]+)(?:/(?P<version>[^/]+))?)$"
)
# PipelineSubmissionInfo as azureml-pipeline-core's REST client serialises it: key -> expected JSON shape.
SUBMISSION_KEYS = {
    "ExperimentName": "str", "Description": "str", "RunSource": "str", "RunType": "str", "ScheduleId": "str",
    "ParameterAssignments": "dict[str,str]", "DataPathAssignments": "datapaths",
    "DataSetDefinitionValueAssignments": "dict", "ContinueRunOnStepFailure": "bool", "EnableNotification": "bool",
    "tags": "dict[str,str]", "Properties": "dict[str,str]",
}


@dataclass(frozen=True)
class Respond:
    """Answer the next submission with this status instead of handling it."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "ServiceError"
    message: str = "injected by the stand-in"


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer, before any run is created."""


@dataclass(frozen=True)
class AcceptThenDrop:
    """Create the run, then close the connection before answering: the client cannot know the run started."""


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering; then apply ``then`` or handle the request normally."""

    seconds: float
    then: Respond | Drop | None = None


Fault = Respond | Drop | AcceptThenDrop | Delay


@dataclass(frozen=True)
class Received:
    """One request as the stand-in saw it, and what it answered."""

    at: float
    path: str
    query: dict[str, str]
    content_type: str | None
    audience: str | None
    body: Any
    status: int | None


@dataclass(frozen=True)
class AcceptedRun:
    run_id: str
    pipeline_id: str
    pipeline_version: str | None
    body: dict[str, Any]


class _Handler(QuietHandler):
    server_owner: "AmlStandIn"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        owner = self.server_owner
        raw = self.read_body()
        url = urlsplit(self.path)
        fault = owner.next_fault()
        if isinstance(fault, Delay):
            time.sleep(fault.seconds)
            fault = fault.then
        if isinstance(fault, AcceptThenDrop):
            owner.handle(url, self.headers, raw)
            fault = Drop()
        if isinstance(fault, Drop):
            owner.record(url, self.headers, raw, None)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(fault, Respond):
            status, body, headers = fault.status, _error(fault.code, fault.message), fault.headers
        else:
            status, body, headers = owner.handle(url, self.headers, raw)
        owner.record(url, self.headers, raw, status)
        self.send_json(status, json.dumps(body).encode(), headers)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_standin/runs":
            runs = [run.__dict__ for run in self.server_owner.accepted]
            self.send_json(200, json.dumps(runs).encode())
        else:
            self.send_json(404, json.dumps(_error("NotFound", "no such route")).encode())


class AmlStandIn(LocalServer):
    handler_class = _Handler

    def __init__(self, *, audiences: frozenset[str] = ARM_AUDIENCES, announce: bool = False, port: int = 0):
        super().__init__(port)
        self.audiences = audiences
        self.announce = announce
        self.received: list[Received] = []
        self.accepted: list[AcceptedRun] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def workspace_url(self, sub: str = "00000000-0000-0000-0000-000000000001", rg: str = "ml-rg",
                      ws: str = "ml-ws") -> str:
        return self.url + WORKSPACE_PATH.format(sub=sub, rg=rg, ws=ws)

    def published_pipeline_url(self, pipeline_id: str = "5d9e2f4c-0000-4000-8000-00000000a11a") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineSubmit/{pipeline_id}"

    def pipeline_endpoint_url(self, endpoint_id: str = "9a1b2c3d-0000-4000-8000-0000000e1d01") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"

    def inject(self, *faults: Fault) -> None:
        """Apply each fault, in order, to one of the next submissions."""
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def record(self, url, headers, raw: bytes, status: int | None) -> None:
        claims = read_token(_bearer(headers) or "") or {}
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.received.append(Received(time.monotonic(), unquote(url.path), _query(url), headers.get("Content-Type"),
                                          claims.get("aud"), body, status))

    def handle(self, url, headers, raw: bytes) -> tuple[int, dict, dict[str, str]]:
        route = _ROUTE.match(url.path)
        if route is None:
            return 404, _error("NotFound", f"no pipeline route {url.path}"), {}
        claims = read_token(_bearer(headers) or "")
        if claims is None:
            return 401, _error("Unauthorized", "a bearer token is required"), {"WWW-Authenticate": "Bearer"}
        if claims.get("aud") not in self.audiences:
            return 401, _error("InvalidAudience", f"token audience {claims.get('aud')!r} is not accepted"), {
                "WWW-Authenticate": "Bearer"}
        if claims.get("exp", 0) <= time.time():
            return 401, _error("ExpiredToken", "the token has expired"), {"WWW-Authenticate": "Bearer"}
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/json-patch+json"):
            return 415, _error("UnsupportedMediaType", f"content type {content_type!r}"), {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, _error("BadRequest", "body is not UTF-8 JSON"), {}
        problems = submission_problems(body)
        version = route.group("version")
        query_version = _query(url).get("pipelineVersion")
        if route.group("endpoint") and version != query_version:
            problems.append(f"pipeline version in path ({version}) and pipelineVersion ({query_version}) differ")
        if route.group("pipeline") and query_version:
            problems.append("pipelineVersion applies to pipeline endpoints only")
        if problems:
            return 400, _error("UserError", "; ".join(problems)), {}
        run = AcceptedRun(str(uuid.uuid4()), route.group("pipeline") or route.group("endpoint"), version, body)
        with self._lock:
            self.accepted.append(run)
        if self.announce:
            data_paths = body.get("DataPathAssignments") or {}
            print(f"[azure-ml stand-in] accepted run {run.run_id} experiment={body['ExperimentName']} "
                  f"data={json.dumps(data_paths, ensure_ascii=False)}", flush=True)
        now = datetime.now(timezone.utc).isoformat()
        return 200, {
            "Id": run.run_id,
            "Status": {"StatusCode": "NotStarted", "StatusDetail": None, "CreationTime": now, "EndTime": None},
            "RunHistoryExperimentName": body["ExperimentName"],
            "PipelineId": run.pipeline_id,
            "RunSource": body.get("RunSource"),
            "RunType": "HTTP",
            "ParameterAssignments": body.get("ParameterAssignments", {}),
            "DataPathAssignments": body.get("DataPathAssignments", {}),
            "tags": body.get("tags", {}),
            "Properties": {},
            "CreatedDate": now,
        }, {}


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


def _error(code: str, message: str) -> dict:
    return {"Error": {"Code": code, "Message": message, "Target": None, "Details": []},
            "Correlation": {"RequestId": uuid.uuid4().hex}}


def _bearer(headers) -> str | None:
    value = headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


def _query(url) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(url.query).items()}
