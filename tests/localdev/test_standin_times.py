"""The times the Azure ML stand-in writes keep the order of the moments they stand for, however busy the machine:
a run's creation, start and end read alike in every answer and never out of order (a fresh pair of clock reads per
conversion once wrote a failed run's start a microsecond after its end, and failed the oracle)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from localdev.aml_standin import AcceptedRun, AmlStandIn, clock
from localdev.tokens import make_token


def _busy_clocks() -> SimpleNamespace:
    """The ``time`` module as a loaded machine reads it: between any two monotonic reads the thread loses a
    millisecond that the wall clock, read separately, does not see."""
    lost = iter(range(1, 1_000_000))
    return SimpleNamespace(time=time.time, sleep=time.sleep,
                           monotonic=lambda: time.monotonic() + next(lost) / 1000)


def _failed_run(aml: AmlStandIn) -> AcceptedRun:
    """A run created now and failed straight away, so its start and its end are one moment."""
    run = AcceptedRun("run-1", "5d9e2f4c-0000-4000-8000-00000000a11a", None, {"ExperimentName": "training"})
    aml.accepted.append(run)
    aml.set_status(run.run_id, "Failed")
    return run


def _get(aml: AmlStandIn, service: str, route: str) -> dict:
    """One run read the way the app reads it: ``history`` (RunDto) or ``pipelines`` (PipelineRunEntity)."""
    token, _ = make_token("https://management.azure.com", "app")
    status, body = aml.status_route(urlsplit(f"/{service}/v1.0{aml.workspace_id()}/{route}"),
                                    {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    return body


def test_one_moment_is_one_time_in_every_read_so_a_failed_runs_start_never_follows_its_end(monkeypatch):
    aml = AmlStandIn()
    run = _failed_run(aml)
    monkeypatch.setattr(clock, "time", _busy_clocks())

    first, second = aml.run_life(run.run_id), aml.run_life(run.run_id)

    assert first is not None and second is not None
    assert first["startTimeUtc"] == first["endTimeUtc"] == second["startTimeUtc"] == second["endTimeUtc"]


def test_a_runs_creation_is_one_time_in_every_answer_and_comes_before_its_start(monkeypatch):
    aml = AmlStandIn()
    run = _failed_run(aml)
    monkeypatch.setattr(clock, "time", _busy_clocks())

    history = _get(aml, "history", f"runs/{run.run_id}")
    pipeline = _get(aml, "pipelines", f"PipelineRuns/{run.run_id}")

    assert history["createdUtc"] == pipeline["Status"]["CreationTime"]
    assert history["createdUtc"] <= history["startTimeUtc"] == history["endTimeUtc"] == pipeline["Status"]["EndTime"]
