"""v1 run history: ``runs:query`` (the filter grammar azureml-core sends, pages) and ``GET .../runs/<runId>``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from localdev.aml_standin.clock import WallClock
from localdev.aml_standin.state import AcceptedRun
from localdev.aml_standin.wire import Answer, Request, error, json_body, refused_token

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

_FILTER_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<string>"[^"]*")|(?P<word>[A-Za-z0-9_./]+))')
_QUERY_KEYS = {"filter", "continuationToken", "orderby", "top"}


def query_runs(aml: AmlStandIn, request: Request) -> Answer:
    """Run history's ``runs:query``: the filter grammar azureml-core sends, ``top`` and continuation tokens."""
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    query, refusal = json_body(request)
    if refusal:
        return refusal
    unknown = set(query) - _QUERY_KEYS if isinstance(query, dict) else {}
    if not isinstance(query, dict) or unknown:
        expected = f"a QueryParamsDto object was expected (unknown keys {sorted(unknown)})"
        return Answer(400, error("BadRequest", expected))
    try:
        matches = parse_run_filter(query.get("filter") or "")
    except ValueError as problem:
        return Answer(400, error("BadRequest", f"filter: {problem}"))
    top, token = query.get("top") or 500, query.get("continuationToken")
    if not isinstance(top, int) or not 1 <= top <= 5000 or not (token is None or str(token).isdigit()):
        return Answer(400, error("BadRequest", "top must be 1-5000 and continuationToken one this service gave"))
    assert request.match is not None
    experiment = unquote(request.match["experiment"])
    runs = [run for run in aml.listed("v1") if run.experiment == experiment and matches(run.labels)]
    start = int(token or 0)
    more = start + top < len(runs)
    return Answer(200, {"value": [run_dto(run, aml.clock) for run in runs[start:start + top]],
                        "continuationToken": str(start + top) if more else None})


def parse_run_filter(text: str) -> Callable[[dict[str, str]], bool]:
    """A predicate over a run's tags from run history's OData filter, as azureml-core writes it: ``and`` of
    ``(Tags/<name> eq "<value>")``, ``(Tags/<name> ne null or Tags/<name> eq null)`` and ``(ParentRunId eq null)``
    (every run here is top-level). ValueError for anything else."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _FILTER_TOKEN.match(text, position)
        if not match or match.lastgroup is None:
            raise ValueError(f"cannot read {text[position:]!r}")
        tokens.append(match.group(match.lastgroup))
        position = match.end()
    checks = [_check(clause) for clause in " ".join(tokens).split(" and ")]
    if tokens.count("(") != tokens.count(")") or (not any(checks) and text.strip()):
        raise ValueError(f"unbalanced or empty expression {text!r}")
    return lambda tags: all(check(tags) for check in checks if check)


def _check(clause: str) -> Callable[[dict[str, str]], bool] | None:
    """One clause's test of a run's tags; None for ``ParentRunId eq null``, which every run here meets."""
    clause = clause.strip().removeprefix("(").removesuffix(")").strip(" ()")
    eq = re.fullmatch(r'Tags/([A-Za-z0-9_.]+) eq ("[^"]*")', clause)
    exists = re.fullmatch(r"Tags/([A-Za-z0-9_.]+) ne null or Tags/\1 eq null", clause)
    if eq:
        return lambda tags, name=eq[1], value=eq[2][1:-1]: tags.get(name) == value
    if exists:
        return lambda tags, name=exists[1]: name in tags
    if clause != "ParentRunId eq null":
        raise ValueError(f"unsupported expression {clause!r}")
    return None


def run_dto(run: AcceptedRun, clock: WallClock) -> dict[str, Any]:
    """A pipeline run as run history lists it (RunDto)."""
    return {"runId": run.run_id, "parentRunId": None, "status": "NotStarted", "runType": "azureml.PipelineRun",
            "createdUtc": clock.iso(run.at), "tags": run.labels,
            "properties": {"azureml.runsource": "azureml.PipelineRun"}}


def known_run(aml: AmlStandIn, request: Request, *, v2: bool = False
              ) -> tuple[AcceptedRun, dict[str, Any]] | Answer:
    """The run a status read names and its life now, or the 401 / 404 the service answers instead."""
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    assert request.match is not None
    run_id = unquote(request.match["run"])
    run, life = aml.find(run_id), aml.run_life(run_id)
    if run is None or life is None:
        return Answer(404, error("NotFound" if v2 else "RunNotFound", f"no run {run_id}", v2=v2))
    return run, life


def get_run(aml: AmlStandIn, request: Request) -> Answer:
    """``GET .../runs/<runId>``: one run as a RunDto with its status, start, end and error."""
    found = known_run(aml, request)
    if isinstance(found, Answer):
        return found
    run, life = found
    experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, run.experiment or ""))
    return Answer(200, {**run_dto(run, aml.clock), **life, "experimentId": experiment_id, "warnings": None})
