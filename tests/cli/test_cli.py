"""The command line (python -m cli) over the same code: every command, its help, its exit code."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from cli.__main__ import main
from tests.support.harness import PROJECT_ROOT, deliver_blob, upload
from tests.support.samples import SAMPLE_CSV
from tests.support.v1_schedules import WORKSPACE as V1_WORKSPACE

COMMANDS = ["submit", "explain", "sweep", "watch", "runs", "blobs", "health"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0 and f"usage: python -m cli {command}" in capsys.readouterr().out


@pytest.mark.integration  # starts a process
def test_the_module_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "cli", "--help"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and all(command in result.stdout for command in COMMANDS)


def test_submit_with_overrides_and_a_request_id(app_env, aml, capsys):
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    argv = ["submit", "default", "--blob", "machines.csv", "--param", "max_trials=7", "--param", "note=hello world",
            "--request-id", "cli-1"]

    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)

    assert (first["outcome"], again["outcome"], again["run_id"]) == ("submitted", "duplicate", first["run_id"])
    assert aml.accepted[0].body["ParameterAssignments"]["max_trials"] == "7"
    assert aml.accepted[0].body["ParameterAssignments"]["note"] == "hello world"


@pytest.mark.parametrize("limit", ["99999", "-1", "0", "ten"])
def test_runs_with_a_limit_out_of_range_says_the_range(app_env, capsys, limit):
    with pytest.raises(SystemExit) as exited:
        main(["runs", "--limit", limit])
    assert exited.value.code == 2
    assert f"limit must be a whole number from 1 to 1000, not {limit!r}" in capsys.readouterr().err


def test_submit_fails_clearly_for_an_unknown_rule(app_env, capsys):
    assert main(["submit", "nope"]) == 1
    assert "no rule named 'nope'" in capsys.readouterr().err


def test_explain_a_blob_and_an_event_file(app_env, aml, tmp_path, capsys):
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    event = {"eventType": "Microsoft.Storage.BlobCreated", "data": {"eTag": etag},
             "subject": f"/blobServices/default/containers/{app_env['WATCH_CONTAINER']}/blobs/machines.csv"}
    (tmp_path / "event.json").write_text(json.dumps([event]))

    assert main(["explain", "--blob", "machines.csv"]) == 0
    by_blob = json.loads(capsys.readouterr().out)
    assert main(["explain", "--event", str(tmp_path / "event.json")]) == 0
    by_event = json.loads(capsys.readouterr().out)

    assert by_blob == by_event and by_blob["rules"][0]["outcome"] == "would submit"
    assert aml.received == []


def test_sweep_reports_progress_and_a_summary(app_env, aml, capsys):
    for day in range(3):
        upload(app_env["WATCH_CONTAINER"], f"day-{day}.csv", SAMPLE_CSV)

    assert main(["sweep", "--progress-every", "2"]) == 0
    out, err = capsys.readouterr()

    assert "processed 2/3" in err and "processed 3/3" in err
    assert "3 missing; processed 3: 3 submitted; 0 left for the next sweep" in out
    assert len(aml.accepted) == 3


def test_watch_sweeps_repeatedly(app_env, aml, capsys):
    upload(app_env["WATCH_CONTAINER"], "a.csv", SAMPLE_CSV)
    assert main(["watch", "--interval", "0", "--iterations", "2"]) == 0
    first, second = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sweep ")]
    assert "1 missing" in first and "0 missing" in second and len(aml.accepted) == 1


def test_runs_lists_records_as_a_table_or_json(app_env, aml, capsys):
    upload(app_env["WATCH_CONTAINER"], "good.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "good.csv")

    assert main(["runs", "--rule", "default"]) == 0
    table = capsys.readouterr().out
    assert main(["runs", "--json", "--state", "submitted"]) == 0
    [run] = json.loads(capsys.readouterr().out)

    assert aml.accepted[0].run_id in table and table.rstrip().endswith("1 record")
    assert run["run_id"] == aml.accepted[0].run_id


def test_runs_unfiltered_says_as_of_when_the_run_index_was_caught_up(app_env, aml, capsys):
    upload(app_env["WATCH_CONTAINER"], "good.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "good.csv")

    assert main(["runs"]) == 0  # no index yet: this view catches it up, and says so

    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert re.fullmatch(r"1 record; runs as of \d\d:\d\d:\d\d UTC, caught up by this view \(the timer had not in "
                        r"120 s\)", last), last
    assert main(["runs"]) == 0  # the index is fresh: served as stored, and the view that caught it up said

    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert re.fullmatch(r"1 record; runs as of \d\d:\d\d:\d\d UTC, caught up by an earlier view", last), last


def test_health_and_a_settings_file(app_env, tmp_path, monkeypatch, capsys):
    assert main(["health"]) == 0
    assert json.loads(capsys.readouterr().out)["configuration"]["ok"] is True

    monkeypatch.delenv("AML_EXPERIMENT")
    assert main(["health"]) == 1  # without it the configuration is incomplete
    assert "AML_EXPERIMENT" in capsys.readouterr().out
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"AML_EXPERIMENT": "from-file"}}))
    assert main(["--settings", str(tmp_path / "local.settings.json"), "health"]) == 0


@pytest.mark.parametrize("argv, message", [
    (["explain", "--event", "/nonexistent/event.json"], "No such file"),
    (["sweep", "--max", "0"], "expected a whole number >= 1"),
    (["sweep", "--progress-every", "0"], "expected a whole number >= 1"),
])
def test_bad_arguments_fail_with_a_message_not_a_traceback(app_env, capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse refuses before running
        code = exited.code
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err


IMPORTERS = [(["import", "logic-app"], "the Logic App workflow"),
             (["import", "v1-schedules", "--workspace-url", V1_WORKSPACE, "--file"], "the v1 schedules file")]


@pytest.mark.integration  # starts a process: no traceback, exactly what a user sees
@pytest.mark.parametrize("command, what", IMPORTERS)
@pytest.mark.parametrize("content, why", [
    ("[" * 20_000 + "]" * 20_000, "[0]" * 64 + " is nested more than 64 levels deep"),
    ('{"definition": {"a": 1e400}}', "definition.a is a number out of range (not finite)"),
    ('[{"Id": ' + "7" * 5_000 + "}]", "[0].Id is a number of 5,000 characters; at most 100 are read"),
])
def test_an_importer_refuses_json_it_cannot_read_in_one_line_naming_the_field(tmp_path, command, what, content, why):
    source = tmp_path / "input.json"
    source.write_text(content, encoding="utf-8")

    result = subprocess.run([sys.executable, "-m", "cli", *command, str(source)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [json.dumps({"error": f"{source}: {what}: {why}"})]


@pytest.mark.parametrize("value, message", [
    ("1e400", "--param x is a number out of range (not finite)"),
    ("7" * 5_000, "--param x is a number of 5,000 characters; at most 100 are read"),
    ("[" * 40 + "]" * 40, "--param x: " + "[0]" * 32 + " is nested more than 32 levels deep"),
])
def test_a_param_json_refuses_is_an_argument_error_not_text_sent_as_is(capsys, value, message):
    with pytest.raises(SystemExit) as exited:
        main(["submit", "default", "--param", f"x={value}"])
    assert exited.value.code == 2 and capsys.readouterr().err.endswith(f"argument --param: {message}\n")
