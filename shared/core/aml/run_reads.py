"""Ask Azure ML how one run is doing: the GET for a target's run, and what its answer says, as a ``RunOutcome``.

v1 targets (published pipelines, pipeline endpoints) are asked through run history (``GET /history/v1.0/<workspace>
/runs/<runId>``, azureml-core's ``get_workspace_run``: a pipeline run id is a run-history run id), which answers
status, start, end and error in one ``RunDto``; v2 batch jobs through ARM's ``Jobs - Get``, whose job resource has
no start or end time: once it says the job ended, run history is asked for the same job (a v2 job is a run-history
run, as azure-ai-ml's own job streaming reads it) for its times and error. Run history's host is the workspace's
regional one: a batch endpoint's scoring host names its region; otherwise (a pipeline job, whose target is ARM's
host) the caller finds it by the workspace's discovery (``workspace_discovery.history_root``). Every URL is derived
from the validated target (its host and workspace) or a discovered host held to the allowlist, never taken from an
answer or an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from shared.core.aml.run_lookup import arm_root
from shared.core.aml.targets import JOB_API_VERSION, Target, TargetKind, is_loopback
from shared.core.ledger.run_status import RunOutcome, moment, observed

_MAX_ERROR_TEXT = 1000
HISTORY_FOR_SCORING_HOST = {".inference.ml.azure.com": ".api.azureml.ms", ".inference.ml.azure.cn": ".api.ml.azure.cn",
                            ".inference.ml.azure.us": ".api.ml.azure.us"}
"""A batch endpoint's cloud (``<endpoint>.<region>.inference...``) -> that cloud's run-history host suffix, after the
region (``<region>.api.azureml.ms``: the workspace's discovery ``history`` service in the public cloud)."""


@dataclass(frozen=True)
class StatusRead:
    """The GET that tells one run's status, with the token scope it takes."""

    url: str
    scope: str
    v1: bool
    times_path: str | None = None
    """v2: run history's path of the same job, asked (same scope) only once the job resource says it ended."""
    history_root: str | None = None
    """v2: run history's root when the target names it (a batch endpoint's region); None: the workspace's
    discovery finds it."""

    def times_url(self, history_root: str) -> str:
        """Run history's GET of the same v2 job on ``history_root`` (this read's own, or a discovered one)."""
        return f"{history_root}{self.times_path}"

    def outcome(self, document: Any, at: str) -> RunOutcome:
        """What the answer says at ``at``; ValueError if it is not the shape this route answers."""
        return _v1_outcome(document, at) if self.v1 else _v2_outcome(document, at)

    @staticmethod
    def with_times(outcome: RunOutcome, document: Any, at: str) -> RunOutcome:
        """``outcome`` (the job resource's status) with run history's start, end and error for the job; ValueError
        if ``document`` is not a RunDto. A time run history does not know yet stays unknown."""
        history = _v1_outcome(document, at)
        return outcome._replace(started_at=history.started_at, ended_at=history.ended_at,
                       error=outcome.error or history.error)


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
    url = f"{arm}{target.workspace.arm_path}/jobs/{run}?api-version={JOB_API_VERSION}"
    return StatusRead(url, scope, v1=False, times_path=f"/history/v1.0{target.workspace.arm_path}/runs/{run}",
                      history_root=_history_root(target))


def _history_root(target: Target) -> str | None:
    """Run history's root for a batch endpoint's workspace, from its validated scoring host's region and cloud; on a
    loopback host, the local stand-in (which serves run history too). None (found by discovery) for a pipeline job,
    whose target is ARM's host, and for a scoring host that names no region."""
    if target.kind is TargetKind.PIPELINE_JOB:
        return None
    parts = urlsplit(target.url)
    host = (parts.hostname or "").lower()
    if is_loopback(host):
        return f"{parts.scheme}://{parts.netloc}"
    cloud = next(key for key in HISTORY_FOR_SCORING_HOST if host.endswith(key))  # validated: it has one
    labels = host.removesuffix(cloud).split(".")  # <endpoint>.<region>
    if len(labels) != 2 or not labels[1].isalnum():
        return None
    return f"https://{labels[1]}{HISTORY_FOR_SCORING_HOST[cloud]}"


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
