"""What the stand-in remembers: the requests it saw, the runs it created and how each run's life goes on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from localdev.aml_standin import clock
from localdev.aml_standin.wire import ARM_AUDIENCES, Request, bearer
from localdev.tokens import read_token

FAILURE = {"code": "UserError", "message": "train.py exited with code 1: KeyError 'PRP'"}
"""The error a run failed by the stand-in carries, unless a test names another."""
DEFAULT_WORKSPACE = ("00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws")
_ENDED = ("Completed", "Failed", "Canceled")


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
    method: str = ""


@dataclass(frozen=True)
class AcceptedRun:
    run_id: str
    pipeline_id: str
    pipeline_version: str | None
    body: dict[str, Any]
    kind: str = "v1"
    deployment: str | None = None
    request_id: str | None = None
    at: float = field(default_factory=clock.monotonic)
    """When the run was created; it is listed ``listing_delay`` seconds later."""

    @property
    def experiment(self) -> str | None:
        """v1's ExperimentName, a pipeline job's experimentName, or the one a batch job's property bag carries."""
        if self.kind == "v1":
            return self.body.get("ExperimentName")
        properties = self.body["properties"]
        return properties.get("experimentName") or (properties.get("properties") or {}).get("experimentName")

    @property
    def labels(self) -> dict[str, str]:
        """v1 tags, or the v2 job's property bag: where the trigger's key rides."""
        return self.body.get("tags") or {} if self.kind == "v1" else self.body["properties"].get("properties") or {}


class StandInState:
    """The requests seen, the runs created and the settings a test turns; shared by every route."""

    def __init__(self, *, audiences: frozenset[str] = ARM_AUDIENCES, announce: bool = False) -> None:
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
        self.schedules: dict[str, dict[str, Any]] = {}
        """v1 schedules by id (PipelineScheduleEntity JSON), served on .../Schedules; a test adds them."""
        self.workspaces: set[tuple[str, str, str]] = {DEFAULT_WORKSPACE}
        """(subscription, resource group, name) of the workspaces ARM's workspace GET finds; a test adds more."""
        self.component_versions: list[str] = ["3"]
        """The registered versions of the one pipeline component (``pipeline_jobs.COMPONENT``'s name), oldest
        first; a test registers another (``append``) or none (``clear``)."""
        self.identical_reput_updates = False
        """An identical re-PUT of a pipeline job's name answers 200 with the existing job (Azure ML's "already
        exists" message suggests it may be taken as an update: inferred), instead of the cited refusal."""
        self.discovery_api: str | None = None
        """The ``api`` host the discovery document names (None: this stand-in)."""
        self.discovery_history: str | None = None
        """The ``history`` host the discovery document names (None: this stand-in), e.g. a ``RegionalHost``."""
        self.discovery_down = False
        """The discovery document answers 503, as a regional host that is down."""
        self.timeline: tuple[tuple[float, str], ...] = ()
        """A run's life after its creation, as (seconds, status) steps, e.g. ((0.2, "Running"), (0.5, "Completed"));
        none: a run stays NotStarted until ``set_status``."""
        self._moved: dict[str, tuple[float, str, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self.clock = clock.WallClock.read()
        """Every time the stand-in writes (creation, start, end, event, modification) goes through this one clock."""

    def record(self, log: list[Received], request: Request, status: int | None) -> None:
        claims = read_token(bearer(request.headers) or "") or {}
        try:
            body = json.loads(request.raw)
        except ValueError:
            body = request.raw.decode("utf-8", "replace")
        headers = {name: value for name, value in request.headers.items() if name.lower() != "authorization"}
        seen = Received(clock.monotonic(), unquote(request.url.path), request.query,
                        request.headers.get("Content-Type"), claims.get("aud"), body, status, headers, request.method)
        with self._lock:
            log.append(seen)

    def accept(self, run: AcceptedRun) -> None:
        with self._lock:
            self.accepted.append(run)
        if self.on_accept:
            self.on_accept()

    def accept_new(self, run: AcceptedRun) -> bool:
        """Create ``run`` unless a run of its id exists (a pipeline job's name is the client's): False then."""
        with self._lock:
            if any(known.run_id == run.run_id for known in self.accepted):
                return False
            self.accepted.append(run)
        if self.on_accept:
            self.on_accept()
        return True

    def find(self, run_id: str) -> AcceptedRun | None:
        return next((run for run in self.accepted if run.run_id == run_id), None)

    def listed(self, kind: str) -> list[AcceptedRun]:
        """The runs of ``kind`` (v1, v2) old enough to be listed."""
        now = clock.monotonic()
        with self._lock:
            return [run for run in self.accepted if run.kind == kind and now - run.at >= self.listing_delay]

    def set_status(self, run_id: str, status: str, error: dict[str, Any] | None = None) -> None:
        """Move a run on by hand (the admin call): a run-history status, e.g. Running, Completed, Failed, Canceled."""
        with self._lock:
            self._moved[run_id] = (clock.monotonic(), status, error)

    def run_life(self, run_id: str) -> dict[str, Any] | None:
        """A run's status, start, end and error now: the admin call's, else the timeline's; None if no such run."""
        run = self.find(run_id)
        if run is None:
            return None
        now = clock.monotonic()
        steps = [(run.at + offset, status, None) for offset, status in self.timeline if run.at + offset <= now]
        with self._lock:
            moved = self._moved.get(run_id)
        if moved:
            steps.append(moved)
        at, status, error = steps[-1] if steps else (run.at, "NotStarted", None)
        started = next((when for when, word, _ in steps if word not in ("NotStarted", "Queued")), None)
        ended = at if status in _ENDED else None
        return {"status": status, "startTimeUtc": None if started is None else self.clock.iso(started),
                "endTimeUtc": None if ended is None else self.clock.iso(ended),
                "error": {"error": error or FAILURE} if status == "Failed" else None}
