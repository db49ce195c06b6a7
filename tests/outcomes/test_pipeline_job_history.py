"""An ended pipeline job's start, end and error, read from run history on the workspace's regional host, which the
workspace's discovery names (ARM's workspace GET, then the discovery document's ``history`` host), as on Azure: the
job's target is ARM's host, and ARM's job resource has neither times nor error. Here the regional host is a second
server, so a history GET that reached it came from discovery, not from the target's host."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from localdev.aml_standin.regional import RegionalHost
from localdev.host import deliver_event
from localdev.http_counter import counting_requests
from localdev.tcp_switch import TcpSwitch
from shared.clients.aml.history_hosts import RETRY_DISCOVERY_AFTER, HistoryHosts
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.clients.process.services import process_services
from shared.core.ledger.keys import blob_version_key, iso_ms, parse_iso
from shared.core.outcomes.record_changes import TIMES_HORIZON
from shared.flows.outcomes.run_outcomes import poll_open_runs
from tests.support.batch import STANDIN_WORKSPACE, pipeline_job_rule, rules_file
from tests.support.decisions import decision_lines, outcome_lines
from tests.support.harness import deliver_blob, ledger_record, run_together, service_client, upload
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
    assert "started_at" not in run and "error" not in run and "times_pending" not in run and run["ended_at"]
    assert "aml_open" not in _record_tags(app_env, "incoming/a.csv", etag)  # final at once: never asked again
    assert f"the ended job's times are unknown: {reason}" in [line.get("problem") for line in decision_lines(caplog)]


def _later_clocks(by: list[float]) -> None:
    """The process's clocks moved ``by[0]`` seconds on, when a test says so: the discovery hold's and the flows'
    (the times horizon)."""
    def now() -> datetime:
        return SYSTEM_CLOCK.now() + timedelta(seconds=by[0])

    def monotonic() -> float:
        return SYSTEM_CLOCK.monotonic() + by[0]

    services = process_services()
    services.history_hosts = HistoryHosts(Clock(monotonic=monotonic))
    services.clock = Clock(now=now)


def _record_tags(app_env, blob: str, etag: str) -> dict[str, str]:
    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], blob, etag)
    container = service_client().get_container_client(app_env["LEDGER_CONTAINER"])
    return container.get_blob_client(f"rules/pjob/{record['key']}.json").get_blob_tags()


def _asked(aml, regional) -> list[str]:
    """Everything the stand-in and the regional host were asked, in one list."""
    return _paths(aml) + _paths(regional)


def test_when_discovery_is_down_the_end_is_recorded_at_once_and_a_later_tick_fills_the_times(
        app_env, aml, regional, tmp_path, monkeypatch, caplog):
    jobs = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv", "incoming/b.csv", "incoming/c.csv")
    later = [0.0]
    _later_clocks(later)
    aml.discovery_down = True
    aml.received.clear()
    caplog.set_level(logging.INFO, logger="aml_trigger")

    def end(blob: str) -> dict:
        job, etag = jobs[blob]
        aml.set_status(job, "Failed", TRAIN_FAILED)
        poll_open_runs(process_services(), budget=60, max_runs=10)
        return _run(app_env, blob, etag)

    first = end("incoming/a.csv")
    asked_while_down = _paths(aml).count("/discovery")
    second = end("incoming/b.csv")  # within the hold: the failure is shared, not asked again

    for blob, run in (("incoming/a.csv", first), ("incoming/b.csv", second)):
        assert (run["status"], run["azure_status"], run.get("ended_at"), run["times_pending"]) == (
            "failed", "Failed", None, True)
        assert run["times_unknown"].startswith("run history's host is unknown: the workspace's discovery failed: ")
        assert "503" in run["times_unknown"]
        tags = _record_tags(app_env, blob, jobs[blob][1])
        assert (tags["aml_open"], tags["aml_state"], tags["aml_since"]) == ("times", "failed", run["observed_at"])
    in_flight = process_services().ledger.active_runs("rules/pjob")  # what the rule's run limit counts
    assert [run.run_id for run in in_flight] == [jobs["incoming/c.csv"][0]]
    assert [line["outcome"] for line in outcome_lines(caplog)].count("run_failed") == 2
    assert asked_while_down >= 1 and _paths(aml).count("/discovery") == asked_while_down

    aml.discovery_down = False
    later[0] = RETRY_DISCOVERY_AFTER
    aml.received.clear()
    third = end("incoming/c.csv")  # the next tick: c's status and times, a's and b's times only

    history = f"/history/v1.0{STANDIN_WORKSPACE}/runs/"
    assert sorted(_paths(regional)) == sorted(history + jobs[blob][0] for blob in jobs)
    assert [path for path in _paths(aml) if path.startswith(f"{STANDIN_WORKSPACE}/jobs/")] == [
        f"{STANDIN_WORKSPACE}/jobs/{jobs['incoming/c.csv'][0]}"]  # no status asked again for a or b
    for blob, etag in ((blob, etag) for blob, (_, etag) in jobs.items()):
        run = _run(app_env, blob, etag)
        assert (run["status"], run["error"], run.get("times_unknown"), run.get("times_pending")) == (
            "failed", TRAIN_FAILED, None, None)
        assert run["started_at"] <= run["ended_at"] and run["duration_seconds"] >= 0
        tags = _record_tags(app_env, blob, etag)
        assert "aml_open" not in tags and tags["aml_state"] == "failed"
    assert third["error"] == TRAIN_FAILED
    assert [line["outcome"] for line in outcome_lines(caplog)].count("run_failed") == 3  # each end logged once

    asked = _asked(aml, regional)
    report = poll_open_runs(process_services(), budget=60, max_runs=10)
    assert _asked(aml, regional) == asked and (report["open"], report["times"]) == (0, 0)  # nothing left to ask


def test_when_run_historys_get_fails_for_now_the_times_are_pending_and_the_next_tick_fills_them(
        app_env, aml, regional, tmp_path, monkeypatch):
    with TcpSwitch(int(urlsplit(regional.url).port or 0)) as switch:
        aml.discovery_history = switch.url  # run history reached through a switch: its host goes down and up
        [(job, etag)] = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv").values()
        switch.down()
        aml.set_status(job, "Failed", TRAIN_FAILED)
        poll_open_runs(process_services(), budget=60, max_runs=10)
        pending = _run(app_env, "incoming/a.csv", etag)
        switch.up()
        report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert pending["times_unknown"].startswith("run history gave none: ") and pending["times_pending"] is True
    assert report["times"] == 1 and _paths(regional) == [f"/history/v1.0{STANDIN_WORKSPACE}/runs/{job}"]
    run = _run(app_env, "incoming/a.csv", etag)
    assert (run["error"], run.get("times_unknown"), run.get("times_pending")) == (TRAIN_FAILED, None, None)
    assert run["started_at"] <= run["ended_at"]


def test_a_limited_rules_slot_is_freed_and_its_waiting_blob_started_while_the_times_are_pending(
        app_env, aml, regional, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml, max_active_runs=1)])
    container = app_env["WATCH_CONTAINER"]
    for blob in ("incoming/a.csv", "incoming/b.csv"):
        upload(container, blob, SAMPLE_CSV)
        deliver_blob(container, blob)
    [first] = aml.accepted  # b waits for a's slot
    aml.discovery_down = True
    aml.set_status(first.run_id, "Failed", TRAIN_FAILED)

    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert (report["ended"], len(aml.accepted)) == (1, 2)  # a's end freed its slot: b started
    [pending] = [run for run in process_services().ledger.active_runs(times_pending=True) if run.times_pending]
    assert pending.run_id == first.run_id
    assert [run.run_id for run in process_services().ledger.active_runs("rules/pjob")] == [aml.accepted[1].run_id]


def test_times_pending_past_the_horizon_are_unknown_for_good_and_asked_no_more(
        app_env, aml, regional, tmp_path, monkeypatch, caplog):
    [(job, etag)] = _jobs(app_env, aml, tmp_path, monkeypatch, "incoming/a.csv").values()
    later = [0.0]
    _later_clocks(later)
    aml.discovery_down = True
    aml.set_status(job, "Failed", TRAIN_FAILED)
    poll_open_runs(process_services(), budget=60, max_runs=10)
    pending = _run(app_env, "incoming/a.csv", etag)
    later[0] = RETRY_DISCOVERY_AFTER  # still down at the next tick: asked again, nothing written
    aml.received.clear()
    report = poll_open_runs(process_services(), budget=60, max_runs=10)
    assert report["times"] == 1 and _paths(aml).count("/discovery") >= 1 and _paths(regional) == []
    assert _run(app_env, "incoming/a.csv", etag) == pending

    aml.discovery_down = False
    later[0] = TIMES_HORIZON.total_seconds()
    aml.received.clear()
    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    until = iso_ms(parse_iso(pending["observed_at"]) + TIMES_HORIZON)
    run = _run(app_env, "incoming/a.csv", etag)
    assert run["times_unknown"] == f"{pending['times_unknown']}; run history was asked again until {until}, in vain"
    assert (run["status"], run.get("times_pending"), run.get("started_at")) == ("failed", None, None)
    assert "aml_open" not in _record_tags(app_env, "incoming/a.csv", etag)
    assert report["times"] == 1 and _asked(aml, regional) == []  # given up without asking
    poll_open_runs(process_services(), budget=60, max_runs=10)
    assert _asked(aml, regional) == [] and _run(app_env, "incoming/a.csv", etag) == run


def test_outcomes_ending_together_wait_for_one_discovery_and_share_its_host(app_env, aml, regional, tmp_path,
                                                                           monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    services = process_services()
    [rule] = services.config.rules
    deadline = services.clock.monotonic() + services.config.retry.deadline

    found = run_together(*[lambda: services.history_hosts.root(services.submitter, rule.run.target, deadline)] * 4)

    assert found == [regional.url] * 4
    assert _paths(aml) == [STANDIN_WORKSPACE, "/discovery"]
