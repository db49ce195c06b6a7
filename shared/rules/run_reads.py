"""Ask Azure ML how one run is doing: the GET for a target's run, and what its answer says, as a ``RunOutcome``.

v1 targets (published pipelines, pipeline endpoints) are asked through run history (``GET /history/v1.0/<workspace>
/runs/<runId>``, azureml-core's ``get_workspace_run``: a pipeline run id is a run-history run id), which answers
status, start, end and error in one ``RunDto``; v2 batch jobs through ARM's ``Jobs - Get``. Every URL is derived
from the validated target (its host and workspace), never taken from an answer or an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from shared.rules.run_lookup import arm_root
from shared.rules.run_status import RunOutcome, moment, observed
from shared.rules.targets import Target

JOB_API_VERSION = "2024-10-01"
"""A stable Jobs API version (azure-ai-ml's MLClient.jobs pins a preview one)."""
_MAX_ERROR_TEXT = 1000


@dataclass(frozen=True)
class StatusRead:
    """The GET that tells one run's status, with the token scope it takes."""

    url: str
    scope: str
    v1: bool

    def outcome(self, document: Any, at: str) -> RunOutcome:
        """What the answer says at ``at``; ValueError if it is not the shape this route answers."""
        return _v1_outcome(document, at) if self.v1 else _v2_outcome(document, at)


def status_read(target: Target, run_id: str) -> StatusRead | None:
    """Where ``run_id``'s status is read for ``target``; None for a batch endpoint without ``workspace``."""
    if target.workspace is None:
        return None
    run = quote(run_id, safe="")
    if target.kind.is_v1:
        parts = urlsplit(target.url)
        return StatusRead(f"{parts.scheme}://{parts.netloc}/history/v1.0{target.workspace.arm_path}/runs/{run}",
                          target.scope, v1=True)
    arm, scope = arm_root(target)
    return StatusRead(f"{arm}{target.workspace.arm_path}/jobs/{run}?api-version={JOB_API_VERSION}", scope, v1=False)


def _v1_outcome(document: Any, at: str) -> RunOutcome:
    if not isinstance(document, Mapping) or not isinstance(document.get("status"), str):
        raise ValueError('expected a run history RunDto with a "status"')
    return observed(document["status"], at, started_at=_time(document.get("startTimeUtc")),
                    ended_at=_time(document.get("endTimeUtc")), error=run_error(document.get("error")))


def _v2_outcome(document: Any, at: str) -> RunOutcome:
    properties = document.get("properties") if isinstance(document, Mapping) else None
    if not isinstance(properties, Mapping) or not isinstance(properties.get("status"), str):
        raise ValueError('expected an ARM job resource with "properties": {"status"}')
    return observed(properties["status"], at)


def run_error(error: Any) -> dict[str, str] | None:
    """Azure ML's error for a failed run, from a RunDto's ``{"error": {"code", "message", ...}, ...}``: its code
    and message only (the rest is correlation noise), cut to a length a record and a log line can carry."""
    inner = error.get("error") if isinstance(error, Mapping) else None
    if not isinstance(inner, Mapping):
        return None
    found = {name: str(inner[name])[:_MAX_ERROR_TEXT] for name in ("code", "message") if inner.get(name)}
    return found or None


def _time(value: Any) -> str | None:
    """A RunDto time (``2026-11-30T10:00:04.123456+00:00`` or ``...Z``) as records write it; absent: None."""
    return moment(value) if value else None
