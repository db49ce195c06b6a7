"""The fallback asks Azure ML (v1 run history, v2 ARM jobs) about runs in flight only, and brings their records to a
terminal status; a failed or canceled run of an only_if_new_data schedule releases its data for a later occurrence."""

from __future__ import annotations

import logging
import os
import time

import pytest
import requests

from localdev.host import deliver_event
from localdev.http_counter import counting_requests
from shared.clients.process.services import build_services, process_services
from shared.flows.outcomes.run_outcomes import poll_open_runs
from tests.support.batch import batch_rule, rules_file
from tests.support.decisions import decision_lines, outcome_lines
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV
from tests.support.schedules import DAILY, fire_at, with_data, write_rules
from tests.support.storage import storage_netloc


def _submit(container: str, *names: str) -> dict[str, str]:
    """Each blob's run started as the host starts it: blob name -> ETag."""
    etags = {name: upload(container, name, SAMPLE_CSV) for name in names}
    for name in names:
        deliver_blob(container, name)
    return etags


def test_the_fallback_asks_only_about_runs_in_flight_and_brings_a_v1_run_to_completed(app_env, aml, azurite,
                                                                                      caplog):
    container = app_env["WATCH_CONTAINER"]
    etags = _submit(container, "a.csv", "b.csv", "c.csv")
    first, second, third = aml.accepted
    for run in (first, second):  # their events arrived: not in flight any more
        aml.set_status(run.run_id, "Completed")
        deliver_event(aml.run_event(run.run_id))
    aml.set_status(third.run_id, "Running")
    time.sleep(0.01)
    aml.set_status(third.run_id, "Completed")
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    aml.received.clear()

    with counting_requests() as requests:
        report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert report == {"open": 1, "times": 0, "asked": 1, "ended": 1, "unanswered": 0, "left": 0}
    [asked] = aml.received
    assert asked.path == ("/history/v1.0/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/"
                          f"providers/Microsoft.MachineLearningServices/workspaces/ml-ws/runs/{third.run_id}")
    assert asked.audience == "https://management.azure.com"
    # one Find Blobs by Tags, one read and one write of the record, one listing of the gates (there are none):
    # none for the settled records
    assert requests[storage_netloc(azurite)] == 4
    run = ledger_record("default", container, "c.csv", etags["c.csv"])["run"]
    assert (run["status"], run["azure_status"]) == ("completed", "Completed")
    assert run["started_at"] <= run["ended_at"] and run["duration_seconds"] >= 0
    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["run_id"]) == ("run_completed", third.run_id)
    assert poll_open_runs(process_services(), budget=60, max_runs=10)["open"] == 0


def test_the_fallback_brings_a_v2_batch_job_to_failed_through_arm(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml)])
    etags = _submit(app_env["WATCH_CONTAINER"], "incoming/machines.csv")
    [job] = aml.accepted
    aml.set_status(job.run_id, "Failed")

    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert (report["asked"], report["ended"]) == (1, 1)
    [asked] = [request for request in aml.received if request.path.endswith(f"/jobs/{job.run_id}")]
    assert asked.path == ("/subscriptions/sub-1/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/"
                          f"workspaces/ml-ws/jobs/{job.run_id}")
    assert asked.query == {"api-version": "2024-10-01"} and asked.audience == "https://management.azure.com"
    record = ledger_record("v2", app_env["WATCH_CONTAINER"], "incoming/machines.csv", etags["incoming/machines.csv"])
    assert (record["run"]["status"], record["run"]["azure_status"]) == ("failed", "Failed")


def test_a_v2_job_the_fallback_sees_end_gets_its_times_and_error_from_run_history_in_one_more_get(
        app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml)])
    etags = _submit(app_env["WATCH_CONTAINER"], "incoming/machines.csv")
    [job] = aml.accepted
    aml.set_status(job.run_id, "Running")
    poll_open_runs(process_services(), budget=60, max_runs=10)  # still running: ARM alone
    running = [request.path for request in aml.received if job.run_id in request.path]
    aml.set_status(job.run_id, "Failed", {"code": "UserError", "message": "the scoring script raised"})
    aml.received.clear()

    poll_open_runs(process_services(), budget=60, max_runs=10)

    assert running == [("/subscriptions/sub-1/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/"
                        f"workspaces/ml-ws/jobs/{job.run_id}")]
    [arm, history] = aml.received
    assert arm.path.endswith(f"/jobs/{job.run_id}")
    assert history.path == ("/history/v1.0/subscriptions/sub-1/resourceGroups/ml-rg/providers/"
                            f"Microsoft.MachineLearningServices/workspaces/ml-ws/runs/{job.run_id}")
    assert history.audience == "https://management.azure.com"
    run = ledger_record("v2", app_env["WATCH_CONTAINER"], "incoming/machines.csv",
                        etags["incoming/machines.csv"])["run"]
    assert run["status"] == "failed" and run["started_at"] <= run["ended_at"]
    assert run["duration_seconds"] >= 0
    assert run["error"] == {"code": "UserError", "message": "the scoring script raised"}


def test_the_fallback_stops_at_its_cap_oldest_first_and_leaves_the_rest_for_the_next_tick(app_env, aml):
    _submit(app_env["WATCH_CONTAINER"], "a.csv", "b.csv", "c.csv")
    for run in aml.accepted:
        aml.set_status(run.run_id, "Completed")

    report = poll_open_runs(process_services(), budget=60, max_runs=2)

    assert report == {"open": 3, "times": 0, "asked": 2, "ended": 2, "unanswered": 0, "left": 1}
    asked = [request.path.rsplit("/", 1)[-1] for request in aml.received if "/runs/" in request.path]
    assert asked == [run.run_id for run in aml.accepted[:2]]


def test_a_run_azure_ml_will_not_answer_for_is_logged_and_stays_in_flight(app_env, aml, caplog):
    _submit(app_env["WATCH_CONTAINER"], "a.csv")
    aml.accepted.clear()  # the service forgot it: 404
    caplog.set_level(logging.INFO, logger="aml_trigger")

    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert (report["open"], report["unanswered"]) == (1, 1)
    assert any("Azure ML gave no status" in line.get("problem", "") for line in decision_lines(caplog))
    assert len(process_services().ledger.active_runs()) == 1


@pytest.mark.parametrize("ended", ["Failed", "Canceled"])
def test_a_failed_or_canceled_run_releases_its_only_if_new_data_data_for_the_next_occurrence(
        app_env, aml, tmp_path, monkeypatch, ended):
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    timer_instance = build_services(os.environ)  # remembers the data used; the event lands on another instance
    first = fire_at("daily", 0, services=timer_instance)
    aml.set_status(first.run_id, ended)
    deliver_event(aml.run_event(first.run_id))

    second = fire_at("daily", 1, services=timer_instance)

    assert (first.outcome, second.outcome) == ("submitted", "submitted")
    assert [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted] == [
        "incoming/a.csv", "incoming/a.csv"]


def _completed_only_if_new_data_run(app_env, aml, tmp_path, monkeypatch) -> None:
    """A daily only_if_new_data schedule's first run, on incoming/a.csv, completed and its event delivered."""
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    first = fire_at("daily", 0)
    aml.set_status(first.run_id, "Completed")
    deliver_event(aml.run_event(first.run_id))


def test_a_completed_run_keeps_its_only_if_new_data_data_used(app_env, aml, tmp_path, monkeypatch):
    _completed_only_if_new_data_run(app_env, aml, tmp_path, monkeypatch)

    second = fire_at("daily", 1)

    assert (second.outcome, len(aml.accepted)) == ("skipped", 1)


def test_a_run_canceled_by_the_stand_ins_admin_call_is_found_canceled_by_the_fallback(app_env, aml):
    etags = _submit(app_env["WATCH_CONTAINER"], "a.csv")
    [run] = aml.accepted

    answer = requests.post(f"{aml.url}/_standin/runs/{run.run_id}/status", json={"status": "Canceled"}, timeout=10)
    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    assert answer.status_code == 200 and answer.json()["status"] == "Canceled"
    assert report["ended"] == 1
    outcome = ledger_record("default", app_env["WATCH_CONTAINER"], "a.csv", etags["a.csv"])["run"]
    assert (outcome["status"], outcome["azure_status"]) == ("canceled", "Canceled")


def test_a_completed_only_if_new_data_run_leaves_no_record_open_for_the_fallback_to_ask_about(
        app_env, aml, tmp_path, monkeypatch, caplog):
    _completed_only_if_new_data_run(app_env, aml, tmp_path, monkeypatch)
    caplog.set_level(logging.INFO, logger="aml_trigger")
    caplog.clear()
    aml.received.clear()

    report = poll_open_runs(process_services(), budget=60, max_runs=10)

    # the data's own claim names the run too, but it is not a run: only the occurrence's record was ever open
    assert process_services().ledger.active_runs() == []
    assert report == {"open": 0, "times": 0, "asked": 0, "ended": 0, "unanswered": 0, "left": 0}
    assert aml.received == []
    assert not [line for line in decision_lines(caplog) if "problem" in line]
