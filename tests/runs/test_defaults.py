"""The main flows on the declared defaults, unchanged: only the endpoints point at the local stand-ins (Azurite, the
Azure ML stand-in, the identity endpoint). No timing or retry setting is set here, so a default that cannot work
(a path whose deadline leaves no room for one attempt) fails here, counted in runs at the stand-in. A quiet
window's tick reads a moved wall clock; nothing waits out a window."""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cli.__main__ import main
from localdev.aml_standin import AcceptThenDrop
from localdev.host import deliver_blob, deliver_event, fire_timer
from shared.clients.process.services import process_services
from shared.core.config.config_model import RetrySettings
from shared.core.config.settings import CLAIM_EXPIRY, SETTINGS
from shared.core.ledger.keys import blob_version_key, iso
from shared.flows.quiet_windows.quiet_windows import fire_due
from tests.support.batch import expected_job_name, pipeline_job_rule, rules_file
from tests.support.decisions import outcome_lines
from tests.support.harness import ledger_record, service_client, upload
from tests.support.http import event
from tests.support.markers import FOLDER, v1_marker_rule
from tests.support.quiet_windows import WINDOW, arrive, services_at, write_rule
from tests.support.run_limits import NAMES, capped_rule, end_run, trigger_blob, triggered_blobs
from tests.support.samples import SAMPLE_CSV
from tests.support.schedules import DAILY, fire_at, schedule, write_rules

ERROR = {"code": "UserError", "message": "input_datapath: no such folder"}


def test_no_number_setting_is_set_and_the_app_runs_on_the_declared_defaults(default_env):
    numbers = {setting.name for setting in SETTINGS if setting.minimum is not None}
    assert numbers & set(os.environ) == set()
    config = process_services().config
    assert (config.retry, config.claim_expiry) == (RetrySettings(), float(CLAIM_EXPIRY.default or 0))


def test_a_blob_starts_one_run_and_its_repeat_none(default_env, aml):
    container = default_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)

    deliver_blob(container, "machines.csv")
    deliver_blob(container, "machines.csv")

    assert len(aml.accepted) == 1


def test_a_schedule_occurrence_starts_one_run(default_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY)])

    assert [fire_at("daily", 0).outcome.value for _ in range(2)] == ["submitted", "duplicate"]
    assert len(aml.accepted) == 1


def test_a_marker_starts_one_run_on_its_folder(default_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [v1_marker_rule(aml, {"file": "_SUCCESS"})])
    container = default_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    upload(container, FOLDER + "_SUCCESS", b"")

    for name in ("part-1.csv", "_SUCCESS", "_SUCCESS"):
        deliver_blob(container, FOLDER + name)

    [run] = aml.accepted
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == FOLDER


def test_a_quiet_window_starts_one_run_on_its_folder(default_env, aml, tmp_path, monkeypatch):
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW})
    arrive(default_env["WATCH_CONTAINER"], "part-1.csv", "part-2.csv")

    assert fire_due(services_at(WINDOW - 5)) == []
    [decision] = fire_due(services_at(WINDOW + 1))

    assert (decision.outcome.value, decision.folder, decision.files) == ("submitted", FOLDER, 2)
    assert fire_due(services_at(2 * WINDOW + 2)) == [] and len(aml.accepted) == 1


def _ended_by_the_fallback(aml, index: int) -> None:
    """The stand-in's run ``index`` ends and no event comes: the fallback's timer finds it, as the host ticks it."""
    aml.set_status(aml.accepted[index].run_id, "Completed")
    fire_timer("poll_run_status")


def _ended_by_its_event(aml, index: int) -> None:
    end_run(aml, index)


RUN_ENDS = {"event": _ended_by_its_event, "fallback": _ended_by_the_fallback}


@pytest.mark.parametrize("heard", RUN_ENDS)
@pytest.mark.parametrize(("policy", "started"), [
    pytest.param("queue", ["incoming/a.csv", "incoming/b.csv", "incoming/c.csv"], id="queue"),
    pytest.param("latest", ["incoming/a.csv", "incoming/c.csv"], id="latest"),
])
def test_max_active_runs_1_starts_the_waiting_triggers_as_runs_end(default_env, aml, tmp_path, monkeypatch, caplog,
                                                                   policy, started, heard):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1, max_active_runs_policy=policy)
    for name in NAMES:
        upload(default_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
    assert [trigger_blob(name).outcome.value for name in NAMES] == ["submitted", "waiting", "waiting"]
    caplog.set_level(logging.WARNING, logger="aml_trigger")

    ended = 0
    while ended < len(aml.accepted):  # each run ends once it started; the last one's end starts nothing more
        RUN_ENDS[heard](aml, ended)
        ended += 1

    assert triggered_blobs(aml) == started
    assert "could not start" not in caplog.text


def test_a_failed_runs_event_fetches_azure_mls_error_onto_its_record_and_into_run_failed(default_env, aml, caplog):
    container = default_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    deliver_blob(container, "machines.csv")
    [run] = aml.accepted
    aml.set_status(run.run_id, "Failed", ERROR)
    caplog.set_level(logging.INFO, logger="aml_trigger")

    deliver_event(aml.run_event(run.run_id))

    assert ledger_record("default", container, "machines.csv", etag)["run"]["error"] == ERROR
    [line] = outcome_lines(caplog)
    assert (line["outcome"], line["error_code"], line["reason"]) == ("run_failed", "UserError", ERROR["message"])
    assert [request.status for request in aml.received if request.path.endswith(f"/runs/{run.run_id}")] == [200]


def test_a_pipeline_job_is_created_once_with_its_templated_input_when_its_answer_is_lost_and_the_blob_comes_again(
        default_env, aml, tmp_path, monkeypatch):
    aml.inject(AcceptThenDrop())
    rules_file(tmp_path, monkeypatch,
               [pipeline_job_rule(aml, parameters={"model_name": "m-{blob.last_modified:%Y-%m-%d}"})])
    container, blob = default_env["WATCH_CONTAINER"], "incoming/machines.csv"
    etag = upload(container, blob, SAMPLE_CSV)
    day = service_client().get_blob_client(container, blob).get_blob_properties().last_modified.strftime("%Y-%m-%d")

    deliver_blob(container, blob)
    deliver_blob(container, blob)

    [job] = aml.accepted  # the PUT's answer lost, the PUT again refused as existing, one GET adopts the job
    assert [request.status for request in aml.received] == [None, 400, 200]
    assert job.run_id == expected_job_name("rules/pjob", blob_version_key(container, blob, etag))
    assert job.body["properties"]["inputs"]["model_name"] == {"jobInputType": "literal", "value": f"m-{day}"}
    assert ledger_record("pjob", container, blob, etag)["state"] == "submitted"


def test_a_backfill_dry_run_sends_nothing_and_its_run_starts_what_never_ran_once(default_env, aml, capsys):
    container = default_env["WATCH_CONTAINER"]
    for name in ("a.csv", "b.csv", "c.csv"):
        upload(container, name, SAMPLE_CSV)
    deliver_blob(container, "a.csv")
    now = datetime.now(UTC)
    argv = ["backfill", "--rule", "default", "--since", iso(now - timedelta(hours=1)),
            "--until", iso(now + timedelta(hours=1))]

    assert (main(argv), len(aml.accepted)) == (0, 1)
    assert (main([*argv, "--run"]), main([*argv, "--run"])) == (0, 0)

    assert sorted(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted) == [
        "a.csv", "b.csv", "c.csv"]
    assert capsys.readouterr().out.rstrip().endswith("0 of 0 processed: nothing; 0 left")


def test_a_dead_lettered_blob_event_is_replayed_once(default_env, aml, monkeypatch):
    container = default_env["WATCH_CONTAINER"]
    etag = upload(container, "a.csv", SAMPLE_CSV)
    dead_letters = service_client().create_container(f"deadletter-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("DEAD_LETTER_CONTAINER", dead_letters.container_name)
    try:
        dead_letters.upload_blob("AML-TRIGGER-BLOBS/2026/12/7/2/lost.json", json.dumps([{
            **event(container, "a.csv", etag), "eventTime": iso(datetime.now(UTC) - timedelta(hours=1)),
            "deadLetterReason": "MaxDeliveryAttemptsExceeded", "deliveryAttempts": 30}]).encode())

        assert (main(["replay-dead-letters"]), main(["replay-dead-letters"])) == (0, 0)

        assert len(aml.accepted) == 1
        assert [blob.name for blob in dead_letters.list_blobs()] == ["replayed/AML-TRIGGER-BLOBS/2026/12/7/2/lost.json"]
    finally:
        dead_letters.delete_container()
