"""Where operators see a run's outcome: GET /api/runs and `cli runs` show and filter by run status and duration, and
`cli runs --follow` shows one run until it ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cli.__main__ import main
from localdev.host import deliver_event
from shared.clients.process.services import process_services
from shared.operations.http.records import follow
from tests.support.harness import deliver_blob, upload
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV


def _at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _two_runs_one_failed_one_completed(app_env, aml) -> tuple[str, str, datetime]:
    """Two runs, their events stamped from a minute before their submission (the clocks' skew allows it) on."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    for name in ("good.csv", "bad.csv"):
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
        deliver_blob(app_env["WATCH_CONTAINER"], name)
    good, bad = aml.accepted
    for run, status, at in ((good, "Running", _at(start, 0)), (good, "Completed", _at(start, 150)),
                            (bad, "Failed", _at(start, 60))):
        aml.set_status(run.run_id, status)
        event = aml.run_event(run.run_id)
        event["eventTime"] = at
        deliver_event(event)
    return good.run_id, bad.run_id, start


def test_the_runs_api_shows_each_runs_status_and_duration_and_filters_by_run_status(app_env, aml):
    good, bad, start = _two_runs_one_failed_one_completed(app_env, aml)

    code, completed = call("http_list_runs", "GET", params={"run_status": "completed"})
    failed = call("http_list_runs", "GET", params={"run_status": "failed"})[1]["runs"]
    queued = call("http_list_runs", "GET", params={"run_status": "queued"})[1]["runs"]

    [shown] = completed["runs"]
    assert code == 200 and shown["run_id"] == good
    assert shown["run"] == {"status": "completed", "azure_status": "Completed",
                            "observed_at": _at(start, 150), "started_at": _at(start, 0), "ended_at": _at(start, 150),
                            "duration_seconds": 150.0}
    assert [run["run_id"] for run in failed] == [bad] and failed[0]["run"]["error"]["code"] == "UserError"
    assert queued == []


def test_the_runs_api_refuses_a_run_status_it_does_not_know_and_names_the_ones_it_does(app_env):
    code, answer = call("http_list_runs", "GET", params={"run_status": "done"})
    assert code == 400
    assert answer["error"] == ("run_status must be one of queued, running, finalizing, canceling, not_responding, "
                               "paused, unknown, completed, failed, canceled")


def test_cli_runs_prints_run_status_and_duration_and_filters_by_run_status(app_env, aml, capsys):
    good, bad, _ = _two_runs_one_failed_one_completed(app_env, aml)

    assert main(["runs", "--run-status", "completed"]) == 0
    table = capsys.readouterr().out

    header, line, total = table.splitlines()
    assert header.split() == ["updated", "state", "run", "status", "duration", "run", "id", "record"]
    assert line.split()[1:4] == ["submitted", "completed", "150s"] and good in line and bad not in table
    assert total == "1 record"


def test_following_a_record_shows_each_change_until_the_run_ends(app_env, aml):
    upload(app_env["WATCH_CONTAINER"], "good.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "good.csv")
    [run] = aml.accepted
    record = process_services().ledger.active_runs()[0].record
    steps = iter(["Running", "Completed"])
    pauses: list[float] = []

    def sleep(seconds: float) -> None:  # the run moves on while the follower waits
        pauses.append(seconds)
        aml.set_status(run.run_id, next(steps))
        deliver_event(aml.run_event(run.run_id))

    shown = [(step["state"], (step.get("run") or {}).get("status"))
             for step in follow(process_services(), record, interval=5, sleep=sleep)]

    assert shown == [("submitted", None), ("submitted", "running"), ("submitted", "completed")]
    assert pauses == [5, 5]


def test_cli_runs_follow_prints_a_finished_run_once_and_returns(app_env, aml, capsys):
    _two_runs_one_failed_one_completed(app_env, aml)
    record = json.loads((main(["runs", "--json", "--run-status", "failed"]), capsys.readouterr().out)[1])[0]["record"]

    assert main(["runs", "--follow", record]) == 0

    [line] = capsys.readouterr().out.splitlines()
    assert line.split()[1:3] == ["submitted", "failed"] and record in line
