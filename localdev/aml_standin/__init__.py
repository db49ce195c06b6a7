"""A local Azure ML stand-in: a real HTTP server enforcing the v1 pipeline submission contract and the v2 batch
endpoint invocation contract.

It checks what the service checks (bearer token audience per API and expiry, content type, PipelineSubmissionInfo
keys and types, pipeline endpoint versions, v2 job inputs and outputs, deployments), answers like the service
(PipelineRunEntity, batch job resources, error bodies) and can misbehave on request: 429 with Retry-After, 5xx,
slow answers, dropped connections. It also answers the two ARM reads azure-ai-ml makes before invoking a batch
endpoint, so the official client can be pointed at it, and the v1 schedule routes (list, get, update) that
azureml-pipeline-core's ``Schedule.list`` / ``get`` / ``disable`` call.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localdev.http_server import LocalServer, QuietHandler
from localdev.tokens import read_token

ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.azure.com/",
                           "https://management.core.windows.net/"})
ML_AUDIENCES = frozenset({"https://ml.azure.com", "https://ml.azure.com/"})
SCORING_PATH = "/jobs"
BATCH_ENDPOINT = "retrain"
DEPLOYMENTS = ("default", "blue")
_ARM_ENDPOINT = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+"
    r"/batchEndpoints/(?P<endpoint>[^/]+)(?P<deployments>/deployments)?$", re.IGNORECASE)
V2_INPUT_TYPES = {"UriFile", "UriFolder", "Literal", "MLTable", "CustomModel", "MLFlowModel", "TritonModel"}
V2_OUTPUT_TYPES = {"UriFile", "UriFolder", "MLTable", "CustomModel", "MLFlowModel", "TritonModel"}
WORKSPACE_PATH = ("/pipelines/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/"
                  "Microsoft.MachineLearningServices/workspaces/{ws}")
_RUNS_QUERY = re.compile(
    r"^/history/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/experiments/(?P<experiment>[^/]+)/runs:query$")
_JOBS = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
                   r"/workspaces/[^/]+/jobs$", re.IGNORECASE)
_RUN_GET = re.compile(
    r"^/history/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/runs/(?P<run>[^/]+)$")
_PIPELINE_RUN_GET = re.compile(
    r"^/pipelines/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/PipelineRuns/(?P<run>[^/]+)$")
_JOB_GET = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
                      r"/workspaces/[^/]+/jobs/(?P<run>[^/]+)$", re.IGNORECASE)
_ADMIN_STATUS = re.compile(r"^/_standin/runs/(?P<run>[^/]+)/status$")
PIPELINE_STATUS_CODES = {"NotStarted": "NotStarted", "Queued": "NotStarted", "Running": "Running",
                         "Finalizing": "Running", "Completed": "Finished", "Failed": "Failed", "Canceled": "Canceled"}
"""A run-history status as the v1 pipeline service's StatusCode says it."""
FAILURE = {"code": "UserError", "message": "train.py exited with code 1: KeyError 'PRP'"}
"""The error a run failed by the stand-in carries, unless a test names another."""
_FILTER_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<string>"[^"]*")|(?P<word>[A-Za-z0-9_./]+))')
_ROUTE = re.compile(
    r"^/pipelines/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/PipelineRuns/(?:PipelineSubmit/(?P<pipeline>[^/]+)"
    r"|PipelineEndpointSubmit/Id/(?P<endpoint>[^/]+)(?:/(?P<version>[^/]+))?)$"
)
_SCHEDULES = re.compile(
    r"^/pipelines/v1\.0/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+/Schedules(?:/(?P<id>[^/]+))?$")
_WORKSPACE_RESOURCE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/(?P<ws>[^/]+)$", re.IGNORECASE)
DISCOVERY_PATH = "/discovery"
DEFAULT_WORKSPACE = ("00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws")
SCHEDULE_STATUSES = ("Active", "Deprecated", "Disabled", "0", "1", "2")
"""EntityStatus as the service writes it: names, or the digits older answers carry."""
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
class AcceptThenDelay:
    """Create the run, then wait ``seconds`` before answering: a client that gave up cannot know the run started."""

    seconds: float


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering; then apply ``then`` or handle the request normally."""

    seconds: float
    then: Respond | Drop | None = None


Fault = Respond | Drop | AcceptThenDrop | AcceptThenDelay | Delay


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
    headers: dict[str, str] = field(default_factory=dict)
    """Everything but the Authorization header."""


@dataclass(frozen=True)
class AcceptedRun:
    run_id: str
    pipeline_id: str
    pipeline_version: str | None
    body: dict[str, Any]
    kind: str = "v1"
    deployment: str | None = None
    request_id: str | None = None
    at: float = field(default_factory=time.monotonic)
    """When the run was created; it is listed ``listing_delay`` seconds later."""

    @property
    def experiment(self) -> str | None:
        return self.body.get("ExperimentName") if self.kind == "v1" else self.body["properties"]["properties"].get(
            "experimentName")

    @property
    def labels(self) -> dict[str, str]:
        """v1 tags, or the v2 job's property bag: where the trigger's key rides."""
        return self.body.get("tags") or {} if self.kind == "v1" else self.body["properties"].get("properties") or {}


class _Handler(QuietHandler):
    server_owner: AmlStandIn

    def do_POST(self) -> None:
        owner = self.server_owner
        raw = self.read_body()
        url = urlsplit(self.path)
        admin = _ADMIN_STATUS.match(url.path)
        if admin:  # the admin call that moves a run on: {"status": "Failed", "error": {...}}
            wanted = json.loads(raw or b"{}")
            owner.set_status(unquote(admin["run"]), wanted["status"], wanted.get("error"))
            self.send_json(200, json.dumps(owner.run_life(unquote(admin["run"]))).encode())
            return
        if _RUNS_QUERY.match(url.path):  # listings have faults of their own (inject_into_listings)
            fault = owner._next_listing_fault()
            status, body = (fault.status, _error(fault.code, fault.message)) if fault else owner.query_runs(
                url, self.headers, raw)
            owner.record(url, self.headers, raw, status)
            self.send_json(status, json.dumps(body).encode())
            return
        fault = owner.next_fault()
        if isinstance(fault, Delay):
            time.sleep(fault.seconds)
            fault = fault.then
        if isinstance(fault, AcceptThenDrop):
            owner.handle(url, self.headers, raw)
            fault = Drop()
        if isinstance(fault, AcceptThenDelay):
            status, body, headers = owner.handle(url, self.headers, raw)
            time.sleep(fault.seconds)
            owner.record(url, self.headers, raw, status)
            self.send_json(status, json.dumps(body).encode(), headers)
            return
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

    def do_GET(self) -> None:
        owner = self.server_owner
        if self.path == "/_standin/runs":
            runs = [run.__dict__ for run in owner.accepted]
            self.send_json(200, json.dumps(runs).encode())
            return
        url = urlsplit(self.path)
        if any(route.match(url.path) for route in (_RUN_GET, _PIPELINE_RUN_GET, _JOB_GET)):
            status, body = owner.status_route(url, self.headers)
            owner.record(url, self.headers, b"", status)
            self.send_json(status, json.dumps(body).encode())
            return
        if _SCHEDULES.match(url.path):
            self.do_schedule(url, b"")
            return
        if url.path == DISCOVERY_PATH or _WORKSPACE_RESOURCE.match(url.path):
            status, body = owner.workspace_read(url, self.headers)
            owner.record(url, self.headers, b"", status)
            self.send_json(status, json.dumps(body).encode())
            return
        status, body = owner.list_jobs(url, self.headers) if _JOBS.match(url.path) else owner.arm_read(
            url, self.headers)
        if _JOBS.match(url.path):
            owner.record(url, self.headers, b"", status)
        self.send_json(status, json.dumps(body).encode())


    def do_PUT(self) -> None:
        url = urlsplit(self.path)
        if not _SCHEDULES.match(url.path):
            self.send_json(404, json.dumps(_error("NotFound", f"no route PUT {url.path}")).encode())
            return
        self.do_schedule(url, self.read_body())

    def do_schedule(self, url, raw: bytes) -> None:
        owner = self.server_owner
        status, body = owner.schedule_route(self.command, url, self.headers, raw)
        owner.record(url, self.headers, raw, status)
        self.send_json(status, json.dumps(body).encode())


class AmlStandIn(LocalServer):
    handler_class = _Handler

    def __init__(self, *, audiences: frozenset[str] = ARM_AUDIENCES, announce: bool = False, port: int = 0):
        super().__init__(port)
        self.audiences = audiences
        self.announce = announce
        self.received: list[Received] = []
        """Submissions and ARM reads."""
        self.queries: list[Received] = []
        """Run listings: v1 ``runs:query`` and v2 ``Jobs - List``."""
        self.accepted: list[AcceptedRun] = []
        self.listing_delay = 0.0
        """Seconds after its creation before a run appears in run history's query results (and the jobs list)."""
        self.on_accept: Callable[[], None] | None = None
        """Called once a run or job is created, before the answer is sent (a test stops the ledger there)."""
        self.always: Fault | None = None
        """A fault applied to every submission once the injected ones are used up (every answer slow, say)."""
        self.schedules: dict[str, dict[str, Any]] = {}
        self.workspaces: set[tuple[str, str, str]] = {DEFAULT_WORKSPACE}
        """(subscription, resource group, name) of the workspaces ARM's workspace GET finds; a test adds more."""
        self.discovery_api: str | None = None
        """The ``api`` host the discovery document names (None: this stand-in)."""
        """v1 schedules by id (PipelineScheduleEntity JSON), served on .../Schedules; a test adds them."""
        self.timeline: tuple[tuple[float, str], ...] = ()
        """A run's life after its creation, as (seconds, status) steps, e.g. ((0.2, "Running"), (0.5, "Completed"));
        none: a run stays NotStarted until ``set_status``."""
        self._faults: list[Fault] = []
        self._query_faults: list[Respond] = []
        self._moved: dict[str, tuple[float, str, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self.clock = WallClock.read()
        """Every time the stand-in writes (creation, start, end, event, modification) goes through this one clock."""

    def workspace_url(self, sub: str = DEFAULT_WORKSPACE[0], rg: str = DEFAULT_WORKSPACE[1],
                      ws: str = DEFAULT_WORKSPACE[2]) -> str:
        return self.url + WORKSPACE_PATH.format(sub=sub, rg=rg, ws=ws)

    def workspace_id(self, sub: str = DEFAULT_WORKSPACE[0], rg: str = DEFAULT_WORKSPACE[1],
                     ws: str = DEFAULT_WORKSPACE[2]) -> str:
        """The workspace's ARM resource id; this stand-in serves ARM's workspace GET too."""
        return WORKSPACE_PATH.format(sub=sub, rg=rg, ws=ws).removeprefix("/pipelines/v1.0")

    def batch_endpoint_url(self) -> str:
        """The scoring URI of the one batch endpoint the stand-in serves (``retrain``)."""
        return self.url + SCORING_PATH

    def published_pipeline_url(self, pipeline_id: str = "5d9e2f4c-0000-4000-8000-00000000a11a") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineSubmit/{pipeline_id}"

    def pipeline_endpoint_url(self, endpoint_id: str = "9a1b2c3d-0000-4000-8000-0000000e1d01") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"

    def inject(self, *faults: Fault) -> None:
        """Apply each fault, in order, to one of the next submissions."""
        with self._lock:
            self._faults.extend(faults)

    def inject_into_listings(self, *answers: Respond) -> None:
        """Answer each of the next run listings (``runs:query``, ``Jobs - List``) with one of these instead."""
        with self._lock:
            self._query_faults.extend(answers)

    def _next_listing_fault(self) -> Respond | None:
        with self._lock:
            return self._query_faults.pop(0) if self._query_faults else None

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else self.always

    def _listed(self, kind: str) -> list[AcceptedRun]:
        now = time.monotonic()
        with self._lock:
            return [run for run in self.accepted if run.kind == kind and now - run.at >= self.listing_delay]

    def query_runs(self, url, headers, raw: bytes) -> tuple[int, dict]:
        """Run history's ``runs:query``: the filter grammar azureml-core sends, ``top`` and continuation tokens."""
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        query, refusal = _json_body(headers, raw)
        if refusal:
            return refusal
        unknown = set(query) - {"filter", "continuationToken", "orderby", "top"} if isinstance(query, dict) else {}
        if not isinstance(query, dict) or unknown:
            return 400, _error("BadRequest", f"a QueryParamsDto object was expected (unknown keys {sorted(unknown)})")
        try:
            matches = parse_run_filter(query.get("filter") or "")
        except ValueError as error:
            return 400, _error("BadRequest", f"filter: {error}")
        top, token = query.get("top") or 500, query.get("continuationToken")
        if not isinstance(top, int) or not 1 <= top <= 5000 or not (token is None or str(token).isdigit()):
            return 400, _error("BadRequest", "top must be 1-5000 and continuationToken one this service gave")
        experiment = unquote(_RUNS_QUERY.match(url.path).group("experiment"))
        runs = [run for run in self._listed("v1") if run.experiment == experiment and matches(run.labels)]
        start = int(token or 0)
        page = runs[start:start + top]
        more = start + top < len(runs)
        return 200, {"value": [_run_dto(run, self.clock) for run in page],
                     "continuationToken": str(start + top) if more else None}

    def list_jobs(self, url, headers) -> tuple[int, dict]:
        """ARM ``Jobs - List`` with ``properties=name=value,...`` (user properties), one page of ``nextLink``s."""
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        query = _query(url)
        if not query.get("api-version"):
            return 400, _error("MissingApiVersionParameter", "api-version is required", v2=True)
        wanted = [item.partition("=") for item in query.get("properties", "").split(",") if item]
        jobs = [run for run in self._listed("v2")
                if all(name in run.labels and (not eq or run.labels[name] == value) for name, eq, value in wanted)]
        return 200, {"value": [{"id": f"{url.path}/{run.run_id}", "name": run.run_id,
                                "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                                "properties": {"jobType": "Pipeline", "status": "Running",
                                               "properties": run.labels}} for run in jobs]}

    def record(self, url, headers, raw: bytes, status: int | None) -> None:
        claims = read_token(_bearer(headers) or "") or {}
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        listing = bool(_RUNS_QUERY.match(url.path) or _JOBS.match(url.path))
        with self._lock:
            (self.queries if listing else self.received).append(Received(
                time.monotonic(), unquote(url.path), _query(url), headers.get("Content-Type"), claims.get("aud"), body,
                status, {name: value for name, value in headers.items() if name.lower() != "authorization"}))

    def handle(self, url, headers, raw: bytes) -> tuple[int, dict, dict[str, str]]:
        if url.path == SCORING_PATH:
            return self._invoke_batch_endpoint(headers, raw)
        route = _ROUTE.match(url.path)
        if route is None:
            return 404, _error("NotFound", f"no pipeline route {url.path}"), {}
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused
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
        self._accept(run)
        if self.announce:
            data_paths = body.get("DataPathAssignments") or {}
            print(f"[azure-ml stand-in] accepted run {run.run_id} experiment={body['ExperimentName']} "
                  f"data={json.dumps(data_paths, ensure_ascii=False)}", flush=True)
        return 200, {
            "Id": run.run_id,
            "Status": {"StatusCode": "NotStarted", "StatusDetail": None, "CreationTime": self.clock.iso(run.at),
                       "EndTime": None},
            "RunHistoryExperimentName": body["ExperimentName"],
            "PipelineId": run.pipeline_id,
            "RunSource": body.get("RunSource"),
            "RunType": "HTTP",
            "ParameterAssignments": body.get("ParameterAssignments", {}),
            "DataPathAssignments": body.get("DataPathAssignments", {}),
            "tags": body.get("tags", {}),
            "Properties": {},
            "CreatedDate": self.clock.iso(run.at),
        }, {}


    def _accept(self, run: AcceptedRun) -> None:
        with self._lock:
            self.accepted.append(run)
        if self.on_accept:
            self.on_accept()

    def _invoke_batch_endpoint(self, headers, raw: bytes) -> tuple[int, dict, dict[str, str]]:
        refused = _refused_token(headers, ML_AUDIENCES)
        if refused:
            return refused
        if (headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            return 415, _error("UnsupportedMediaType", "application/json expected", v2=True), {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, _error("BadRequest", "body is not UTF-8 JSON", v2=True), {}
        deployment = headers.get("azureml-model-deployment")
        problems = batch_job_problems(body)
        if deployment is not None and deployment not in DEPLOYMENTS:
            problems.append(f"deployment {deployment!r} does not exist on endpoint {BATCH_ENDPOINT!r}")
        if problems:
            return 400, _error("UserError", "; ".join(problems), v2=True), {}
        name = f"batchjob-{uuid.uuid4()}"
        run = AcceptedRun(name, BATCH_ENDPOINT, None, body, kind="v2", deployment=deployment,
                          request_id=headers.get("repeatability_request-id"))
        self._accept(run)
        if self.announce:
            print(f"[azure-ml stand-in] accepted batch job {name} on {BATCH_ENDPOINT}/{deployment or 'default'}",
                  flush=True)
        return 200, {"id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                           f"workspaces/ws/jobs/{name}", "name": name,
                     "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                     "properties": {"status": "NotStarted", **body["properties"]}}, {}

    def set_status(self, run_id: str, status: str, error: dict[str, Any] | None = None) -> None:
        """Move a run on by hand (the admin call): a run-history status, e.g. Running, Completed, Failed, Canceled."""
        with self._lock:
            self._moved[run_id] = (time.monotonic(), status, error)

    def run_life(self, run_id: str) -> dict[str, Any] | None:
        """A run's status, start, end and error now: the admin call's, else the timeline's; None if no such run."""
        run = next((run for run in self.accepted if run.run_id == run_id), None)
        if run is None:
            return None
        now = time.monotonic()
        steps = [(run.at + offset, status, None) for offset, status in self.timeline if run.at + offset <= now]
        with self._lock:
            moved = self._moved.get(run_id)
        if moved:
            steps.append(moved)
        at, status, error = steps[-1] if steps else (run.at, "NotStarted", None)
        started = next((when for when, word, _ in steps if word not in ("NotStarted", "Queued")), None)
        ended = at if status in ("Completed", "Failed", "Canceled") else None
        return {"status": status, "startTimeUtc": None if started is None else self.clock.iso(started),
                "endTimeUtc": None if ended is None else self.clock.iso(ended),
                "error": {"error": error or FAILURE} if status == "Failed" else None}

    def status_route(self, url, headers) -> tuple[int, dict]:
        """v1 run history ``GET .../runs/<runId>`` (RunDto), v1 ``GET .../PipelineRuns/<id>`` (PipelineRunEntity)
        and v2 ARM ``GET .../jobs/<name>`` (the job resource): one run's status, in each service's own shape."""
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        route = _RUN_GET.match(url.path) or _PIPELINE_RUN_GET.match(url.path) or _JOB_GET.match(url.path)
        run_id = unquote(route["run"])
        run = next((run for run in self.accepted if run.run_id == run_id), None)
        life = self.run_life(run_id)
        if run is None or life is None:
            return 404, _error("RunNotFound" if route.re is not _JOB_GET else "NotFound", f"no run {run_id}",
                               v2=route.re is _JOB_GET)
        if route.re is _RUN_GET:
            experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, run.experiment or ""))
            return 200, {**_run_dto(run, self.clock), **life, "experimentId": experiment_id, "warnings": None}
        if route.re is _PIPELINE_RUN_GET:
            return 200, {"Id": run.run_id, "Status": {"StatusCode": PIPELINE_STATUS_CODES.get(life["status"],
                         life["status"]), "StatusDetail": None, "CreationTime": self.clock.iso(run.at),
                         "EndTime": life["endTimeUtc"]}, "RunHistoryExperimentName": run.experiment,
                         "PipelineId": run.pipeline_id, "tags": run.labels}
        if not _query(url).get("api-version"):
            return 400, _error("MissingApiVersionParameter", "api-version is required", v2=True)
        return 200, {"id": url.path, "name": run.run_id, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                     "properties": {"jobType": "Pipeline", "status": life["status"], "experimentName": run.experiment,
                                    "displayName": run.run_id, "properties": run.labels, "tags": {},
                                    "services": {}},
                     "systemData": {"createdAt": self.clock.iso(run.at)}}

    def run_event(self, run_id: str, *, schema: str = "eventgrid", event_type: str = "RunStatusChanged",
                  workspace: str | None = None) -> dict[str, Any]:
        """The event Azure ML's system topic sends about a run now, in the Event Grid or CloudEvents schema."""
        run = next(run for run in self.accepted if run.run_id == run_id)
        life = self.run_life(run_id) or {}
        experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, run.experiment or ""))
        data: dict[str, Any] = {
            "experimentId": experiment_id, "experimentName": run.experiment, "runId": run.run_id,
            "runType": "azureml.PipelineRun",
            "runTags": run.labels if run.kind == "v1" else {},
            "runProperties": {"azureml.runsource": "azureml.PipelineRun", "runSource": "SDK", "runType": "HTTP",
                              **({} if run.kind == "v1" else run.labels)}}
        if event_type == "RunStatusChanged":
            data["runStatus"] = life.get("status")
        source = workspace or ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
                               "Microsoft.MachineLearningServices/workspaces/ml-ws")
        common = {"id": str(uuid.uuid4()), "subject": f"experiments/{experiment_id}/runs/{run.run_id}", "data": data}
        moment = self.clock.now().replace("+00:00", "Z")
        kind = f"Microsoft.MachineLearningServices.{event_type}"
        if schema == "cloudevents":
            return {**common, "specversion": "1.0", "source": source, "type": kind, "time": moment}
        return {**common, "topic": source, "eventType": kind, "eventTime": moment, "dataVersion": "",
                "metadataVersion": "1"}

    def schedule_route(self, method: str, url, headers, raw: bytes) -> tuple[int, Any]:
        """``GET .../Schedules?activeOnly=``, ``GET .../Schedules/{id}``, ``PUT .../Schedules/{id}`` (the whole
        entity back, as the SDK's ``update_schedule`` sends it): the v1 service's schedule routes."""
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        schedule_id = _SCHEDULES.match(url.path).group("id")
        with self._lock:
            if schedule_id is None:
                active_only = _query(url).get("activeOnly", "true").lower() == "true"
                return 200, [entity for entity in self.schedules.values()
                             if not active_only or entity.get("EntityStatus") in ("Active", "0")]
            current = self.schedules.get(unquote(schedule_id))
            if current is None:
                return 404, _error("EntityNotFound", f"schedule {unquote(schedule_id)} not found")
            if method == "GET":
                return 200, current
            updated, refusal = _json_body(headers, raw)
            if refusal:
                return refusal
            if not isinstance(updated, dict) or updated.get("Id") != current.get("Id"):
                return 400, _error("UserError", "the body must be the schedule (PipelineScheduleEntity) with its Id")
            if updated.get("EntityStatus") not in SCHEDULE_STATUSES:
                return 400, _error("UserError", f"EntityStatus must be one of {', '.join(SCHEDULE_STATUSES[:3])}")
            self.schedules[current["Id"]] = {**updated, "LastModifiedDate": self.clock.now()}
            return 200, self.schedules[current["Id"]]

    def workspace_read(self, url, headers) -> tuple[int, dict]:
        """ARM's workspace GET (its ``properties.discoveryUrl`` points here) and the discovery document, whose
        ``api`` host serves the pipelines API: how azureml-core finds a workspace's regional host. The discovery
        document is read without a token, as azureml-core reads it."""
        if url.path == DISCOVERY_PATH:
            return 200, {"api": self.discovery_api or self.url, "catalog": "https://catalog.cortanaanalytics.com",
                         "experimentation": self.url, "gallery": "https://gallery.cortanaintelligence.com/project",
                         "history": self.url, "hyperdrive": self.url, "labeling": self.url,
                         "modelmanagement": self.url, "pipelines": self.url, "studiocoreservices": self.url}
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        if not _query(url).get("api-version"):
            return 400, _error("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                               "required for all requests.", v2=True)
        route = _WORKSPACE_RESOURCE.match(url.path)
        sub, rg, ws = (unquote(route[name]) for name in ("sub", "rg", "ws"))
        if (sub.lower(), rg.lower(), ws.lower()) not in {tuple(part.lower() for part in w) for w in self.workspaces}:
            return 404, _error("ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/workspaces/{ws}' "
                               f"under resource group '{rg}' was not found. For more details please go to "
                               f"https://aka.ms/ARMResourceNotFoundFix", v2=True)
        resource_group = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
        return 200, {
            "id": url.path, "name": ws, "type": "Microsoft.MachineLearningServices/workspaces", "location": "eastus",
            "tags": {}, "etag": None, "kind": "Default", "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {"type": "SystemAssigned", "principalId": "00000000-0000-0000-0000-0000000000a1",
                         "tenantId": "00000000-0000-0000-0000-0000000000b1"},
            "properties": {
                "friendlyName": ws, "description": "", "hbiWorkspace": False, "provisioningState": "Succeeded",
                "workspaceId": "00000000-0000-0000-0000-0000000000c1", "v1LegacyMode": False,
                "storageAccount": f"{resource_group}/Microsoft.Storage/storageAccounts/{ws.replace('-', '')}store",
                "keyVault": f"{resource_group}/Microsoft.KeyVault/vaults/{ws}-kv",
                "applicationInsights": f"{resource_group}/Microsoft.Insights/components/{ws}-ai",
                "discoveryUrl": self.url + DISCOVERY_PATH, "publicNetworkAccess": "Enabled",
                "mlFlowTrackingUri": f"azureml://{urlsplit(self.url).netloc}/mlflow/v1.0{url.path}"},
        }

    def arm_read(self, url, headers) -> tuple[int, dict]:
        """The ARM reads azure-ai-ml makes before invoking: the endpoint (for its scoring URI) and its deployments."""
        route = _ARM_ENDPOINT.match(url.path)
        if route is None or route.group("endpoint") != BATCH_ENDPOINT:
            return 404, {"error": {"code": "NotFound", "message": f"no such resource {url.path}"}}
        refused = _refused_token(headers, self.audiences)
        if refused:
            return refused[0], refused[1]
        if route.group("deployments"):
            return 200, {"value": [{"name": name, "properties": {}} for name in DEPLOYMENTS]}
        return 200, {"name": BATCH_ENDPOINT, "properties": {"scoringUri": self.batch_endpoint_url(),
                                                            "defaults": {"deploymentName": DEPLOYMENTS[0]}}}


def parse_run_filter(text: str):
    """A predicate over a run's tags from run history's OData filter, as azureml-core writes it: ``and`` of
    ``(Tags/<name> eq "<value>")``, ``(Tags/<name> ne null or Tags/<name> eq null)`` and ``(ParentRunId eq null)``
    (every run here is top-level). ValueError for anything else."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _FILTER_TOKEN.match(text, position)
        if not match:
            raise ValueError(f"cannot read {text[position:]!r}")
        tokens.append(match.group(match.lastgroup))
        position = match.end()
    checks = []
    for clause in " ".join(tokens).split(" and "):
        clause = clause.strip().removeprefix("(").removesuffix(")").strip(" ()")
        eq = re.fullmatch(r'Tags/([A-Za-z0-9_.]+) eq ("[^"]*")', clause)
        exists = re.fullmatch(r"Tags/([A-Za-z0-9_.]+) ne null or Tags/\1 eq null", clause)
        if eq:
            checks.append(lambda tags, name=eq[1], value=eq[2][1:-1]: tags.get(name) == value)
        elif exists:
            checks.append(lambda tags, name=exists[1]: name in tags)
        elif clause != "ParentRunId eq null":
            raise ValueError(f"unsupported expression {clause!r}")
    if tokens.count("(") != tokens.count(")") or (not checks and text.strip()):
        raise ValueError(f"unbalanced or empty expression {text!r}")
    return lambda tags: all(check(tags) for check in checks)


def _run_dto(run: AcceptedRun, clock: WallClock) -> dict[str, Any]:
    """A pipeline run as run history lists it (RunDto)."""
    return {"runId": run.run_id, "parentRunId": None, "status": "NotStarted", "runType": "azureml.PipelineRun",
            "createdUtc": clock.iso(run.at), "tags": run.labels,
            "properties": {"azureml.runsource": "azureml.PipelineRun"}}


@dataclass(frozen=True)
class WallClock:
    """Monotonic moments of this process as the wall-clock times a service writes, through one offset read once.

    Reading both clocks afresh for each moment drifts by microseconds between calls, which once wrote a run's start
    after its end; through one offset the same moment is always the same time and a later moment never earlier."""

    offset: float
    """Wall-clock seconds minus monotonic seconds, read together once."""

    @classmethod
    def read(cls) -> WallClock:
        return cls(time.time() - time.monotonic())

    def iso(self, moment: float) -> str:
        return datetime.fromtimestamp(moment + self.offset, UTC).isoformat()

    def now(self) -> str:
        return self.iso(time.monotonic())


def _json_body(headers, raw: bytes) -> tuple[Any, tuple[int, dict] | None]:
    """The JSON body of a v1 request, or the 415 / 400 the service answers for another content type or bad JSON."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/json-patch+json"):
        return None, (415, _error("UnsupportedMediaType", f"content type {content_type!r}"))
    try:
        return json.loads(raw.decode("utf-8")), None
    except ValueError:
        return None, (400, _error("BadRequest", "body is not UTF-8 JSON"))


def _refused_token(headers, audiences: frozenset[str]) -> tuple[int, dict, dict[str, str]] | None:
    """The 401 the service answers for a missing, expired or wrong-audience token; None when it is fine."""
    claims = read_token(_bearer(headers) or "")
    challenge = {"WWW-Authenticate": "Bearer"}
    if claims is None:
        return 401, _error("Unauthorized", "a bearer token is required"), challenge
    if claims.get("aud") not in audiences:
        return 401, _error("InvalidAudience", f"token audience {claims.get('aud')!r} is not accepted"), challenge
    if claims.get("exp", 0) <= time.time():
        return 401, _error("ExpiredToken", "the token has expired"), challenge
    return None


def batch_job_problems(body: Any) -> list[str]:
    """What is wrong with a batch endpoint invocation body (documented PascalCase or the SDK's camelCase)."""
    body = _camel(body)
    if not isinstance(body, dict) or set(body) != {"properties"} or not isinstance(body["properties"], dict):
        return ['body must be {"properties": {...}}']
    properties = body["properties"]
    problems = [f"unknown key properties.{key}" for key in properties
                if key not in ("inputData", "outputData", "properties")]
    for name, item in (properties.get("inputData") or {}).items():
        kind = item.get("jobInputType") if isinstance(item, dict) else None
        if kind not in V2_INPUT_TYPES:
            problems.append(f"input {name!r} needs a jobInputType of {', '.join(sorted(V2_INPUT_TYPES))}")
        elif kind == "Literal" and (set(item) != {"jobInputType", "value"}
                                    or not isinstance(item["value"], (str, int, float, bool))):
            problems.append(f"literal input {name!r} must be {{jobInputType, value}} with a scalar value")
        elif kind != "Literal" and (set(item) - {"jobInputType", "uri", "mode"} or not _is_uri(item.get("uri"))):
            problems.append(f"input {name!r} must be {{jobInputType, uri}} with an azureml:// or https:// uri")
    for name, item in (properties.get("outputData") or {}).items():
        if (not isinstance(item, dict) or item.get("jobOutputType") not in V2_OUTPUT_TYPES
                or set(item) - {"jobOutputType", "uri", "mode"} or not _is_uri(item.get("uri"))):
            problems.append(f"output {name!r} must be {{jobOutputType, uri}}")
    bag = properties.get("properties") or {}
    if not isinstance(bag, dict) or not all(isinstance(value, str) for value in bag.values()):
        problems.append("properties.properties must map names to strings")
    return problems


def _camel(value: Any) -> Any:
    """Keys as the SDK writes them: the service takes PascalCase (documented) and camelCase alike."""
    if isinstance(value, dict):
        return {(key[:1].lower() + key[1:]): _camel(item) for key, item in value.items()}
    return value


def _is_uri(value: Any) -> bool:
    # Loopback http too: without a datastore the app passes the blob's URL, which is Azurite's locally.
    return isinstance(value, str) and value.startswith(("azureml://", "https://", "http://127.0.0.1"))


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


def _error(code: str, message: str, v2: bool = False) -> dict:
    if v2:  # the v2 APIs answer with ARM-style errors
        return {"error": {"code": code, "message": message}}
    return {"Error": {"Code": code, "Message": message, "Target": None, "Details": []},
            "Correlation": {"RequestId": uuid.uuid4().hex}}


def _bearer(headers) -> str | None:
    value = headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


def _query(url) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(url.query).items()}
