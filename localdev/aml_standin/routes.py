"""The route table: each route the stand-in serves, in one place, with the fault queue it draws from and the log it
is recorded in. A request takes the first route of its method whose pattern matches its whole path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

from localdev.aml_standin import history, pipeline_jobs, schedules, v1, v2, workspace
from localdev.aml_standin.wire import Answer, Request, error

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

Handler = Callable[["AmlStandIn", Request], Answer]
Faults = Literal["submissions", "listings"]
Log = Literal["received", "queries"]

_WORKSPACE = (r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
              r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    faults: Faults | None = None
    """The injected faults that apply (``inject`` or ``inject_into_listings``); None: none do."""
    log: Log | None = None
    """Where the request is recorded (``received`` or ``queries``); None: nowhere."""


def _arm(tail: str) -> re.Pattern[str]:
    """An ARM path below a workspace (case-insensitive, as ARM is)."""
    return re.compile(f"^{_WORKSPACE}{tail}$", re.IGNORECASE)


def _service(service: str, tail: str) -> re.Pattern[str]:
    """A path of one of the workspace's v1 services (``pipelines``, ``history``) below the workspace."""
    return re.compile(f"^/{service}/v1\\.0{_WORKSPACE}{tail}$")


def _exact(path: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(path)}$")


def _move_run(aml: AmlStandIn, request: Request) -> Answer:
    """The admin call that moves a run on: ``{"status": "Failed", "error": {...}}``."""
    assert request.match is not None
    wanted = json.loads(request.raw or b"{}")
    run_id = unquote(request.match["run"])
    aml.set_status(run_id, wanted["status"], wanted.get("error"))
    return Answer(200, aml.run_life(run_id))


def _list_accepted(aml: AmlStandIn, request: Request) -> Answer:
    """The admin call listing every run and job created."""
    return Answer(200, [run.__dict__ for run in aml.accepted])


def _no_pipeline_route(aml: AmlStandIn, request: Request) -> Answer:
    return Answer(404, error("NotFound", f"no pipeline route {request.url.path}"))


def _no_resource(aml: AmlStandIn, request: Request) -> Answer:
    return Answer(404, error("NotFound", f"no such resource {request.url.path}", v2=True))


def _no_route(aml: AmlStandIn, request: Request) -> Answer:
    return Answer(404, error("NotFound", f"no route {request.method} {request.url.path}"))


_PIPELINE_SUBMIT = (r"/PipelineRuns/(?:PipelineSubmit/(?P<pipeline>[^/]+)"
                    r"|PipelineEndpointSubmit/Id/(?P<endpoint>[^/]+)(?:/(?P<version>[^/]+))?)")
_SCHEDULES = _service("pipelines", r"/Schedules(?:/(?P<id>[^/]+))?")
_ANY = re.compile(".*", re.DOTALL)

ROUTES: tuple[Route, ...] = (
    Route("POST", re.compile(r"^/_standin/runs/(?P<run>[^/]+)/status$"), _move_run),
    Route("POST", _service("history", r"/experiments/(?P<experiment>[^/]+)/runs:query"), history.query_runs,
          "listings", "queries"),
    Route("POST", _exact(v2.SCORING_PATH), v2.invoke, "submissions", "received"),
    Route("POST", _service("pipelines", _PIPELINE_SUBMIT), v1.submit, "submissions", "received"),
    Route("POST", _ANY, _no_pipeline_route, "submissions", "received"),
    Route("GET", _exact("/_standin/runs"), _list_accepted),
    Route("GET", _service("history", r"/runs/(?P<run>[^/]+)"), history.get_run, log="received"),
    Route("GET", _service("pipelines", r"/PipelineRuns/(?P<run>[^/]+)"), v1.get_pipeline_run, log="received"),
    Route("GET", _arm(r"/jobs/(?P<run>[^/]+)"), v2.get_job, log="received"),
    Route("GET", _SCHEDULES, schedules.schedules, log="received"),
    Route("GET", _exact(workspace.DISCOVERY_PATH), workspace.discovery, log="received"),
    Route("GET", _arm(""), workspace.read_workspace, log="received"),
    Route("GET", _arm("/jobs"), v2.list_jobs, log="queries"),
    Route("GET", _arm(r"/components/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"), pipeline_jobs.read_component,
          log="received"),
    Route("GET", _arm(r"/components/(?P<name>[^/]+)/versions"), pipeline_jobs.list_component_versions,
          log="received"),
    Route("GET", _arm(r"/batchEndpoints/(?P<endpoint>[^/]+)(?P<deployments>/deployments)?"), v2.read_endpoint),
    Route("GET", _ANY, _no_resource),
    Route("PUT", _SCHEDULES, schedules.schedules, log="received"),
    Route("PUT", _arm(r"/jobs/(?P<run>[^/]+)"), pipeline_jobs.create_job, "submissions", "received"),
    Route("PUT", _ANY, _no_route),
)


def route_for(method: str, path: str) -> tuple[Route, re.Match[str]]:
    """The first route of ``method`` matching ``path`` (every method the server serves ends with a catch-all)."""
    for route in ROUTES:
        match = route.pattern.match(path) if route.method == method else None
        if match:
            return route, match
    raise LookupError(f"no route {method} {path}")
