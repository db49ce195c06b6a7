"""The stand-in's HTTP server: every request goes through the route table, the fault wrapper and the record."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

from localdev.aml_standin import events, faults, history, v1, v2
from localdev.aml_standin.faults import FaultQueues
from localdev.aml_standin.routes import Route, route_for
from localdev.aml_standin.state import DEFAULT_WORKSPACE, StandInState
from localdev.aml_standin.v2 import SCORING_PATH
from localdev.aml_standin.wire import ARM_AUDIENCES, Answer, Request
from localdev.http_server import LocalServer, QuietHandler

WORKSPACE_PATH = ("/pipelines/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/"
                  "Microsoft.MachineLearningServices/workspaces/{ws}")
_STATUS_READS = frozenset({history.get_run, v1.get_pipeline_run, v2.get_job})


class _Handler(QuietHandler):
    server_owner: AmlStandIn

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        self._serve(self.read_body())

    def do_PUT(self) -> None:
        self._serve(self.read_body())

    def _serve(self, raw: bytes) -> None:
        answer = self.server_owner.answer(self.command, urlsplit(self.path), self.headers, raw)
        if answer is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_json(answer.status, json.dumps(answer.body).encode(), answer.headers)


class AmlStandIn(StandInState, FaultQueues, LocalServer):
    handler_class = _Handler

    def __init__(self, *, audiences: frozenset[str] = ARM_AUDIENCES, announce: bool = False, port: int = 0):
        LocalServer.__init__(self, port)
        FaultQueues.__init__(self)
        StandInState.__init__(self, audiences=audiences, announce=announce)

    def answer(self, method: str, url: SplitResult, headers: Any, raw: bytes) -> Answer | None:
        """The answer to one request (None: close the connection without one), recorded where its route says."""
        route, match = route_for(method, url.path)
        request = Request(method, url, headers, raw, match)
        answer = faults.apply(self._fault_for(route), lambda: route.handler(self, request))
        if route.log:
            self.record(self.queries if route.log == "queries" else self.received, request,
                        None if answer is None else answer.status)
        return answer

    def _fault_for(self, route: Route) -> faults.Fault | None:
        if route.faults == "submissions":
            return self.next_fault()
        return self.next_listing_fault() if route.faults == "listings" else None

    def status_route(self, url: SplitResult, headers: Any) -> tuple[int, Any]:
        """One run's status read (v1 run history, v1 pipeline run, v2 job), answered in each service's own shape."""
        route, match = route_for("GET", url.path)
        assert route.handler in _STATUS_READS, f"{url.path} is no status read"
        answer = route.handler(self, Request("GET", url, headers, b"", match))
        return answer.status, answer.body

    def run_event(self, run_id: str, *, schema: str = "eventgrid", event_type: str = "RunStatusChanged",
                  workspace: str | None = None) -> dict[str, Any]:
        """The event Azure ML's system topic sends about a run now, in the Event Grid or CloudEvents schema."""
        return events.run_event(self, run_id, schema=schema, event_type=event_type, workspace=workspace)

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

    def arm_url(self) -> str:
        """ARM's root as a pipeline_job target names it: this stand-in serves the Jobs API."""
        return self.url

    def published_pipeline_url(self, pipeline_id: str = "5d9e2f4c-0000-4000-8000-00000000a11a") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineSubmit/{pipeline_id}"

    def pipeline_endpoint_url(self, endpoint_id: str = "9a1b2c3d-0000-4000-8000-0000000e1d01") -> str:
        return f"{self.workspace_url()}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"
