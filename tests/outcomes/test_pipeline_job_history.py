"""An ended pipeline job's start, end and error, read from run history on the workspace's regional host, which the
workspace's discovery names (ARM's workspace GET, then the discovery document's ``history`` host), as on Azure: the
job's target is ARM's host, and ARM's job resource has neither times nor error. Here the regional host is a second
server, so a history GET that reached it came from discovery, not from the target's host."""

from __future__ import annotations

import logging

import pytest

from localdev.aml_standin.regional import RegionalHost
from localdev.host import deliver_event
from localdev.http_counter import counting_requests
from shared.clients.aml.history_hosts import RETRY_DISCOVERY_AFTER, HistoryHosts
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.clients.process.services import process_services
from shared.core.ledger.keys import blob_version_key
from shared.flows.outcomes.run_outcomes import poll_open_runs
from tests.support.batch import STANDIN_WORKSPACE, pipeline_job_rule, rules_file
from tests.support.decisions import decision_lines
from tests.support.harness import deliver_blob, ledger_record, run_together, upload
from tests.support.samples import SAMPLE_CSV

ARM_AUDIENCE = "https://management.azure.com"
TRAIN_FAILED = {"code": "UserError", "message": "train step failed"}


@pytest.fixture
def regional(aml):
    """The workspace's regional host, named by the stand-in's discovery document as run history's."""
    with RegionalHost(aml) as server:
        aml.discovery_history = server.url
        yield server


def _jobs(app_env, aml, tmp_path, monkeypatch, *blobs: str) -> dict[str, tuple[str, str]]:
    """One pipeline job per blob, started as the host starts it: blob -> (job name, ETag)."""
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    container = app_env["WATCH_CONTAINER"]
    etags = {blob: upload(container, blob, SAMPLE_CSV) for blob in blobs}
    for blob in blobs:
        deliver_blob(container, blob)
    names = {run.body["properties"]["properties"]["trigger_key"]: run.run_id for run in aml.accepted}
    return {blob: (names[blob_version_key(container, blob, etag)], etag) for blob, etag in etags.items()}


def _run(app_env, blob: str, etag: str) -> dict:
    return ledger_record("pjob", app_env["WATCH_CONTAINER"], blob, etag)["run"]


def _paths(server) -> list[str]:
    return [request.path for request in server.received]


def test_an_ended_job_gets_its_times_and_error_from_the_discovered_host_and_discovery_is_asked_once(
        app_env, aml, regional, tmp_path, monkeypatch):
    jobs = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv", "incoming/b.csv")
    (first, first_etag), (second, second_etag) = jobs["incoming/a.csv"], jobs["incoming/b.csv"]
    for job in (first, second):
        aml.set_status(job, "Failed", TRAIN_FAILED)
    aml.received.clear()

    deliver_event(aml.run_event(first))  # a failed run's event
    report = poll_open_runs(process_services(), budget=60, max_runs=10)  # the fallback GET for the other

    assert (report["asked"], report["ended"]) == (1, 1)
    workspace_get, discovery = [request for request in aml.received if not request.path.startswith(
        f"{STANDIN_WORKSPACE}/jobs/")]
    assert (workspace_get.path, workspace_get.query, workspace_get.audience) == (
        STANDIN_WORKSPACE, {"api-version": "2024-10-01"}, ARM_AUDIENCE)
    assert (discovery.path, discovery.audience) == ("/discovery", None)  # read without a token
    assert not any(path.startswith("/history/") for path in _paths(aml))
    assert _paths(regional) == [f"/history/v1.0{STANDIN_WORKSPACE}/runs/{job}" for job in (first, second)]
    assert {request.audience for request in regional.received} == {ARM_AUDIENCE}
    for blob, etag in (("incoming/a.csv", first_etag), ("incoming/b.csv", second_etag)):
        run = _run(app_env, blob, etag)
        assert (run["status"], run["error"], run.get("times_unknown")) == ("failed", TRAIN_FAILED, None)
        assert run["started_at"] <= run["ended_at"] and run["duration_seconds"] >= 0


def test_a_history_host_outside_the_allowlist_gets_no_token_and_the_record_says_why(
        app_env, aml, tmp_path, monkeypatch, caplog):
    [(job, etag)] = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv").values()
    aml.discovery_history = "https://eastus.api.example.com"
    aml.set_status(job, "Failed", TRAIN_FAILED)
    caplog.set_level(logging.INFO, logger="aml_trigger")

    with counting_requests() as sent:
        deliver_event(aml.run_event(job))  # a failed run's event: its time is the job's end

    reason = ("run history's host is unknown: the workspace's discovery failed: the workspace's discovery document "
              "names run history at 'https://eastus.api.example.com', not an Azure ML run-history host (expected "
              "https://<region>.api.azureml.ms, https://<region>.api.ml.azure.cn, https://<region>.api.ml.azure.us)"
              ": no token is sent there")
    assert "eastus.api.example.com" not in sent
    run = _run(app_env, "incoming/a.csv", etag)
    assert (run["status"], run["azure_status"], run["times_unknown"]) == ("failed", "Failed", reason)
    assert "started_at" not in run and "error" not in run and run["ended_at"]
    assert f"the ended job's times are unknown: {reason}" in [line.get("problem") for line in decision_lines(caplog)]


def test_when_discovery_is_down_the_status_is_recorded_the_failure_shared_and_a_later_outcome_asks_again(
        app_env, aml, regional, tmp_path, monkeypatch):
    jobs = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv", "incoming/b.csv", "incoming/c.csv")
    later = [0.0]
    process_services().history_hosts = HistoryHosts(Clock(monotonic=lambda: SYSTEM_CLOCK.monotonic() + later[0]))
    aml.discovery_down = True
    aml.received.clear()

    def end(blob: str) -> dict:
        job, etag = jobs[blob]
        aml.set_status(job, "Failed", TRAIN_FAILED)
        poll_open_runs(process_services(), budget=60, max_runs=10)
        return _run(app_env, blob, etag)

    first = end("incoming/a.csv")
    asked_while_down = _paths(aml).count("/discovery")
    second = end("incoming/b.csv")  # within the hold: the failure is shared, not asked again
    aml.discovery_down = False
    later[0] = RETRY_DISCOVERY_AFTER
    third = end("incoming/c.csv")

    for run in (first, second):
        assert (run["status"], run["azure_status"], run.get("ended_at")) == ("failed", "Failed", None)
        assert run["times_unknown"].startswith("run history's host is unknown: the workspace's discovery failed: ")
        assert "503" in run["times_unknown"]
    assert asked_while_down >= 1 and _paths(aml).count("/discovery") == asked_while_down + 1
    assert (third["error"], third.get("times_unknown")) == (TRAIN_FAILED, None)
    assert third["started_at"] <= third["ended_at"]
    assert _paths(regional) == [f"/history/v1.0{STANDIN_WORKSPACE}/runs/{jobs['incoming/c.csv'][0]}"]


def test_outcomes_ending_together_wait_for_one_discovery_and_share_its_host(app_env, aml, regional, tmp_path,
                                                                           monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    services = process_services()
    [rule] = services.config.rules
    deadline = services.clock.monotonic() + services.config.retry.deadline

    found = run_together(*[lambda: services.history_hosts.root(services.submitter, rule.run.target, deadline)] * 4)

    assert found == [regional.url] * 4
    assert _paths(aml) == [STANDIN_WORKSPACE, "/discovery"]
