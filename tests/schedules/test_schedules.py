"""Timed retraining end to end: timer functions indexed from the rules file, fired as the host fires them,
against Azurite and the Azure ML stand-in."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from localdev.host import fire_timer, restart_app
from shared.clients.blobs.blob_data import newest_blob
from shared.clients.process.services import build_services
from shared.core.config.config_model import BlobFilter
from shared.core.ledger.keys import record_name, schedule_namespace, schedule_occurrence_key
from shared.flows.schedules.schedule_runs import fire_schedule
from tests.support.decisions import outcome_lines
from tests.support.harness import assert_parameters_fit_bindings, run_together, service_client, upload
from tests.support.indexing import index_in_fresh_process
from tests.support.samples import SAMPLE_CSV
from tests.support.schedules import DAILY, fire_at, schedule, with_data, write_rules

AZURE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
             "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")


def timer_binding(expression: str) -> dict:
    return {"scriptFile": "function_app.py", "bindings": [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": expression, "runOnStartup": False,
         "useMonitor": True}],
        "retry": {"setting_name": "retry_policy", "strategy": "exponential_backoff", "max_retry_count": "5",
                  "minimum_interval": "00:00:10", "maximum_interval": "00:05:00"}}


@pytest.mark.integration  # starts a process
def test_one_timer_function_per_enabled_schedule_with_stable_names(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"schedules": [
        {**schedule("nightly"), "cron": "0 0 2 * * *", "target": {"url": AZURE_URL}},
        {**schedule("weekly"), "cron": None, "target": {"url": AZURE_URL},
         "recurrence": {"frequency": "Week", "interval": 1, "week_days": ["Monday"], "time_of_day": "06:00"}},
        {**schedule("hourly"), "cron": "%HOURLY_CRON%", "target": {"url": AZURE_URL}},
        {**schedule("paused"), "enabled": False, "target": {"url": AZURE_URL}},
    ]}).replace('"cron": null, ', ""))
    env = {**os.environ, "TRIGGER_RULES_FILE": str(rules), "HOURLY_CRON": "0 15 * * * *"}

    first, second = index_in_fresh_process(**env), index_in_fresh_process(**env)  # two "restarts"

    assert first.returncode == 0, first.stderr
    functions = json.loads(first.stdout.splitlines()[-1])
    assert sorted(name for name in functions if name.startswith("schedule_")) == [
        "schedule_hourly", "schedule_nightly", "schedule_weekly"]  # "paused" is disabled: no function
    assert functions["schedule_nightly"] == timer_binding("0 0 2 * * *")
    assert functions["schedule_weekly"] == timer_binding("0 0 6 * * 1")  # converted from the v1 recurrence
    assert functions["schedule_hourly"] == timer_binding("0 15 * * * *")  # read from an app setting
    assert json.loads(second.stdout.splitlines()[-1]) == functions


@pytest.mark.integration  # starts a process
@pytest.mark.parametrize("bad, message", [
    ({"cron": "0 2 * * *"}, "schedules[0].cron = '0 2 * * *': '0 2 * * *' must have six fields"),
    ({"cron": None, "recurrence": {"frequency": "Minute", "interval": 7}},
     "nearest: every 6 minutes, '0 */6 * * * *'"),
])
def test_an_invalid_schedule_registers_no_timer_and_logs_a_clear_error_while_the_rest_indexes(tmp_path, bad,
                                                                                                 message):
    rules = tmp_path / "rules.json"
    entry = {**schedule("broken"), "target": {"url": AZURE_URL}, **bad}
    rules.write_text(json.dumps({"schedules": [{k: v for k, v in entry.items() if v is not None}]}))

    result = index_in_fresh_process(TRIGGER_RULES_FILE=str(rules))

    assert result.returncode == 0 and message in result.stderr
    functions = json.loads(result.stdout.splitlines()[-1])
    assert "http_health" in functions and not any(name.startswith("schedule_") for name in functions)


@pytest.fixture
def restart(monkeypatch):
    """restart_app for a test, and afterwards the app as other tests expect it: no schedules."""
    yield restart_app
    monkeypatch.delenv("TRIGGER_RULES_FILE", raising=False)
    restart_app()


def ledger_record_for(name: str, occurrence: datetime) -> dict:
    ledger = service_client().get_container_client(os.environ["LEDGER_CONTAINER"])
    blob = ledger.get_blob_client(record_name(schedule_namespace(name), schedule_occurrence_key(name, occurrence)))
    return json.loads(blob.download_blob().readall())


def start_of_year() -> datetime:
    return datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)


def test_the_same_occurrence_fired_twice_concurrently_posts_once(app_env, aml, tmp_path, monkeypatch, caplog,
                                                                restart):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    write_rules(tmp_path, monkeypatch, [schedule("yearly")])
    assert_parameters_fit_bindings(restart()["schedule_yearly"])

    results = run_together(lambda: fire_timer("schedule_yearly"), lambda: fire_timer("schedule_yearly"))

    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == [] and len(aml.received) == 1
    assert sorted(line["outcome"] for line in outcome_lines(caplog)) == ["duplicate", "submitted"]
    [run] = aml.accepted
    occurrence = start_of_year()
    assert run.body == {
        "ExperimentName": "timed-retrain", "ParameterAssignments": {"model_name": "m1"}, "RunSource": "SDK",
        "tags": {"triggered_by": "aml-pipeline-trigger", "trigger_schedule": "yearly",
                 "trigger_occurrence": occurrence.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "trigger_key": schedule_occurrence_key("yearly", occurrence)},
    }
    assert ledger_record_for("yearly", occurrence)["run_id"] == run.run_id


def test_a_past_due_tick_submits_once_for_its_missed_occurrence_and_says_so(app_env, aml, tmp_path, monkeypatch,
                                                                          caplog, restart):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    write_rules(tmp_path, monkeypatch, [schedule("yearly")])
    restart()

    fire_timer("schedule_yearly", past_due=True)
    fire_timer("schedule_yearly", past_due=True)

    assert len(aml.accepted) == 1
    first, second = outcome_lines(caplog)
    assert (first["outcome"], first["past_due"], first["occurrence"]) == (
        "submitted", True, start_of_year().strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert second["outcome"] == "duplicate"
    assert ledger_record_for("yearly", start_of_year())["subject"]["past_due"] is True


def relative_paths(aml) -> list[str]:
    return [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted]


def test_the_newest_csv_under_the_prefix_is_passed_at_fire_time(app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY)])
    container = app_env["WATCH_CONTAINER"]
    upload(container, "incoming/2026-11-01.csv", SAMPLE_CSV)
    time.sleep(1.1)  # Last-Modified has whole seconds
    newest_etag = upload(container, "incoming/2026-11-02.csv", SAMPLE_CSV)
    upload(container, "incoming/archive/later.csv", SAMPLE_CSV)  # a subfolder: not watched
    upload(container, "incoming/notes.txt", b"not a csv")
    upload(container, "incoming/empty.csv", b"")  # zero bytes: not data

    decision = fire_at("daily", 0)

    assert decision.outcome == "submitted" and decision.occurrence == "2026-11-02T02:00:00Z"
    assert relative_paths(aml) == ["incoming/2026-11-02.csv"]
    assert aml.accepted[0].body["tags"]["trigger_etag"] == newest_etag


@dataclass
class Listed:
    name: str
    last_modified: datetime
    size: int = 10


def test_newest_ties_on_last_modified_go_to_the_greatest_name():
    same = datetime(2026, 11, 2, tzinfo=UTC)
    blobs = [Listed("in/b.csv", same), Listed("in/c.csv", same), Listed("in/a.csv", same),
             Listed("in/z.csv", same - timedelta(seconds=1)), Listed("in/zz.csv", same + timedelta(seconds=1), 0)]
    assert newest_blob(blobs, BlobFilter(prefix="in/")).name == "in/c.csv"
    assert newest_blob([], BlobFilter(prefix="in/")) is None


def test_only_if_new_data_skips_until_a_new_version_arrives(app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    container = app_env["WATCH_CONTAINER"]
    upload(container, "incoming/a.csv", SAMPLE_CSV)

    first, second = fire_at("daily", 0), fire_at("daily", 1)
    time.sleep(1.1)
    upload(container, "incoming/a.csv", SAMPLE_CSV + b"1,2,3,4,5,6,7\n")  # a new version of the same file
    third = fire_at("daily", 2)

    assert [d.outcome for d in (first, second, third)] == ["submitted", "skipped", "submitted"]
    assert second.reason.startswith("no new data: incoming/a.csv") and "2026-11-02T02:00:00Z" in second.reason
    assert relative_paths(aml) == ["incoming/a.csv", "incoming/a.csv"]
    assert ledger_record_for("daily", datetime(2026, 11, 3, 2, tzinfo=UTC))["state"] == "skipped"


def test_an_only_if_new_data_skip_in_the_same_process_names_the_run_that_used_the_data(app_env, aml, tmp_path,
                                                                                       monkeypatch):
    """The second tick reads the data version's record from storage even where this process remembers it: another
    instance may have released the data since (its run failed in Azure ML)."""
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    etag = upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    services = build_services(os.environ)
    first, second = (fire_schedule("daily", fired_at=datetime(2026, 11, 2 + day, 2, 0, 0, 300_000, UTC),
                                   past_due=False, services=services) for day in (0, 1))

    assert (first.outcome, second.outcome) == ("submitted", "skipped")
    assert second.reason == (f"no new data: incoming/a.csv ({etag}) was used by the run of 2026-11-02T02:00:00Z "
                             f"(run {first.run_id})")
    assert len(aml.accepted) == 1


def test_two_occurrences_racing_on_the_same_data_submit_once(app_env, aml, tmp_path, monkeypatch):
    from localdev.aml_standin import Delay

    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    aml.inject(Delay(1.0))  # the first occurrence is slow to POST while the next one fires

    decisions = run_together(lambda: fire_at("daily", 0), lambda: fire_at("daily", 1))

    assert sorted(decision.outcome for decision in decisions) == ["skipped", "submitted"]
    assert len(aml.accepted) == 1


def test_an_only_if_new_data_occurrence_whose_answer_was_lost_keeps_its_data_from_the_next_occurrence(
        app_env, aml, tmp_path, monkeypatch):
    """Azure ML started the first occurrence's run, the answer was lost: the next occurrence finds that run on
    the same data and skips, instead of posting a second run on data already used."""
    from localdev.aml_standin import AcceptThenDrop
    from shared.clients.aml.aml_client import TransientSubmitError

    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  only_if_new_data=True)])
    etag = upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)
    aml.inject(AcceptThenDrop())

    with pytest.raises(TransientSubmitError):
        fire_at("daily", 0)
    second = fire_at("daily", 1)

    [run] = aml.accepted
    assert (second.outcome, second.reason) == (
        "skipped", f"no new data: incoming/a.csv ({etag}) was used by the run of 2026-11-02T02:00:00Z "
                   f"(run {run.run_id})")
    assert len(aml.received) == 1


def test_a_fixed_path_is_passed_and_a_missing_one_is_skipped(app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [with_data("full", {"blob": "reference/full data.csv"}, cron=DAILY)])

    missing = fire_at("full", 0)
    upload(app_env["WATCH_CONTAINER"], "reference/full data.csv", SAMPLE_CSV)
    present = fire_at("full", 1)

    assert (missing.outcome, missing.reason) == ("skipped", "reference/full data.csv: blob no longer exists")
    assert present.outcome == "submitted" and relative_paths(aml) == ["reference/full data.csv"]


def test_no_data_under_the_prefix_is_skipped_and_invalid_data_rejected(app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [with_data("daily", {"newest": {"prefix": "incoming/"}}, cron=DAILY,
                                                  required_columns=["PRP"])])

    nothing = fire_at("daily", 0)
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", b"MYCT\n125\n")
    invalid = fire_at("daily", 1)

    assert (nothing.outcome, nothing.reason) == (
        "skipped", "no data: no non-empty blob under 'incoming/' ending with '.csv' (subfolders not included)")
    assert (invalid.outcome, invalid.reason) == ("rejected", "missing required columns: PRP (header has: MYCT)")
    assert aml.received == []


def test_a_transient_failure_is_recorded_and_raised_for_the_hosts_retry(app_env, aml, tmp_path, monkeypatch):
    from localdev.aml_standin import Respond
    from shared.clients.aml.aml_client import TransientSubmitError

    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "2")
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY)])
    aml.inject(Respond(503), Respond(503))

    with pytest.raises(TransientSubmitError):
        fire_at("daily", 0)
    retried = fire_at("daily", 0)  # the host's retry of the same tick

    assert retried.outcome == "submitted" and retried.took_over is True and len(aml.accepted) == 1


def test_a_tick_a_hair_early_stands_for_its_own_occurrence():
    from shared.core.config.config_model import Schedule
    from shared.core.schedules.ncrontab import parse_ncrontab
    from shared.flows.schedules.schedule_runs import occurrence_for

    daily = Schedule(name="daily", cron=parse_ncrontab(DAILY), run=None)  # only the expression matters here
    due = datetime(2026, 11, 2, 2, 0, 0, tzinfo=UTC)
    assert occurrence_for(daily, due - timedelta(milliseconds=300)) == due  # not the day before
    assert occurrence_for(daily, due + timedelta(seconds=59)) == due


def test_retrying_a_schedule_record_reruns_its_own_occurrence(app_env, aml, tmp_path, monkeypatch):
    from localdev.aml_standin import Respond
    from tests.support.http import call

    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY)])
    aml.inject(Respond(404, code="PipelineNotFound", message="not published yet"))
    assert fire_at("daily", 0).outcome == "failed"
    [record] = call("http_list_runs", "GET", params={"schedule": "daily"})[1]["runs"]

    code, answer = call("http_retry_run", body={"record": record["record"]})

    assert (code, answer["occurrence"]) == (201, "2026-11-02T02:00:00Z")  # the record's occurrence, not today's
    assert aml.accepted[0].body["tags"]["trigger_occurrence"] == "2026-11-02T02:00:00Z"
    assert ledger_record_for("daily", datetime(2026, 11, 2, 2, tzinfo=UTC))["state"] == "submitted"
