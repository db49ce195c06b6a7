"""Backfill's command line and its HTTP twin (POST /api/backfill): what they print and answer, and exit codes."""

from __future__ import annotations

import io
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from cli.__main__ import main
from cli.backfill import Progress
from shared.clients.process.services import build_services
from shared.core.backfill.backfill import BackfillReport
from shared.core.ledger.keys import iso
from shared.flows.blobs.blob_runs import process_blob
from shared.operations.backfill.backfill import workers
from tests.support.harness import upload
from tests.support.http import call
from tests.support.quiet_windows import write_rule
from tests.support.samples import SAMPLE_CSV

SINCE = iso(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1))
"""Yesterday's start: every blob uploaded here, inside the records' horizon (RECORD_RETENTION_DAYS less a day)."""
WINDOW = ["--since", SINCE, "--until", "2100-01-01T00:00:00Z"]


def uploaded(container: str, names: list[str]) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda name: upload(container, name, SAMPLE_CSV), names))


@pytest.mark.integration
def test_the_cli_dry_run_lists_what_would_run_and_sends_nothing_then_run_starts_it(app_env, aml, capsys):
    uploaded(app_env["WATCH_CONTAINER"], ["a.csv", "b.csv"])
    services = build_services(os.environ)
    process_blob(services.watched.get_blob_client("a.csv"), services)

    assert main(["backfill", "--rule", "default", *WINDOW]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert len(aml.accepted) == 1  # a.csv's own event: the dry run sent nothing
    assert dry[0].startswith("would run") and "  b.csv  (" in dry[0] and dry[0].endswith(", never seen)")
    assert dry[1] == (f"backfill default [{SINCE}, 2100-01-01T00:00:00Z): listed 2 blobs in 2 listing "
                      "pages; 2 versions in the window (1 already run: 1 running; 1 never seen); dry run: 1 would run, "
                      "nothing sent")

    assert main(["backfill", "--rule", "default", *WINDOW, "--run", "--progress-every", "1"]) == 0
    ran = capsys.readouterr()
    assert ran.out.rstrip().endswith("1 of 1 processed: 1 submitted; 0 left")
    assert ran.err == ("  listing: 1 pages read, 0 blobs, 0 versions in the window\n"  # the ledger's records
                       "  listing: 2 pages read, 2 blobs, 2 versions in the window\n"
                       "  processed 1/1\n")
    assert len(aml.accepted) == 2


@pytest.mark.integration
def test_the_cli_stops_at_the_cap_with_exit_3_when_told_not_to_wait(app_env, aml, capsys):
    uploaded(app_env["WATCH_CONTAINER"], ["a.csv", "b.csv"])

    assert main(["backfill", "--rule", "default", *WINDOW, "--run", "--max-active", "1", "--no-wait"]) == 3
    assert capsys.readouterr().out.rstrip().endswith(
        "1 of 2 processed: 1 submitted; 1 left; stopped: 1 runs of rule 'default' are active (at most 1: "
        "max_active_runs or --max-active); run the backfill again once runs end")


@pytest.mark.integration
def test_the_rules_own_max_active_runs_caps_the_cli_without_max_active(app_env, aml, tmp_path, monkeypatch, capsys):
    write_rule(aml, tmp_path, monkeypatch, max_active_runs=2)  # the rule "daily", watching incoming/
    uploaded(app_env["WATCH_CONTAINER"], [f"incoming/day-{day}.csv" for day in range(5)])

    assert main(["backfill", "--rule", "daily", *WINDOW, "--run", "--no-wait", "--workers", "3"]) == 3
    assert capsys.readouterr().out.rstrip().endswith(
        "2 of 5 processed: 2 submitted; 3 left; stopped: 2 runs of rule 'daily' are active (at most 2: "
        "max_active_runs or --max-active); run the backfill again once runs end")
    assert len(aml.accepted) == 2


class Terminal(io.StringIO):
    """What a terminal receives: stdout and stderr both, in order."""

    def isatty(self) -> bool:
        return True


@pytest.mark.integration
def test_on_a_terminal_progress_is_redrawn_in_place_and_the_summary_starts_a_line_of_its_own(app_env, aml,
                                                                                            monkeypatch):
    uploaded(app_env["WATCH_CONTAINER"], ["a.csv", "b.csv", "c.csv"])
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["backfill", "--rule", "default", *WINDOW, "--run", "--max-active", "2", "--no-wait",
                 "--workers", "1"]) == 3

    assert terminal.getvalue() == (
        "\r  listing: 1 pages read, 0 blobs, 0 versions in the window"
        "\r  listing: 2 pages read, 3 blobs, 3 versions in the window"
        "\r  processed 1/3 (33%)                                     "  # spaces cover the longer line before
        "\r  processed 2/3 (66%)\n"
        f"backfill default [{SINCE}, 2100-01-01T00:00:00Z): listed 3 blobs in 2 listing pages; 3 versions in the "
        "window (3 never seen); 2 of 3 processed: 2 submitted; 1 left; stopped: 2 runs of rule 'default' are active "
        "(at most 2: max_active_runs or --max-active); run the backfill again once runs end\n")


def test_on_a_terminal_the_wait_at_the_cap_and_a_failure_start_lines_of_their_own() -> None:
    terminal, slept = Terminal(), []
    shown = Progress(terminal, every=50, sleep=slept.append)
    shown.processed(1, 4)
    shown.wait(30)
    shown.processed(2, 4)
    shown.say("  failed for now: b.csv: Azure ML answered 503")
    shown.say("done")
    assert terminal.getvalue() == ("\r  processed 1/4 (25%)\n"
                                   "  the cap of active runs is reached: counting again in 30 s\n"
                                   "\r  processed 2/4 (50%)\n"
                                   "  failed for now: b.csv: Azure ML answered 503\n"
                                   "done\n")
    assert slept == [30]


def test_off_a_terminal_progress_is_a_line_every_n_pages_or_versions_and_at_the_end() -> None:
    plain = io.StringIO()
    shown = Progress(plain, every=2)
    for pages in (1, 2, 3):
        shown.listed(BackfillReport(rule="r", since="a", until="b", run=True, listing_pages=pages, blobs_listed=pages))
    for done in (1, 2, 3):
        shown.processed(done, 3)
    assert plain.getvalue() == ("  listing: 2 pages read, 2 blobs, 0 versions in the window\n"
                                "  processed 2/3\n"
                                "  processed 3/3\n")


@pytest.mark.parametrize("argv, message", [
    (["--since", "yesterday", "--until", "2026-01-01"], "--since must be an ISO 8601 time"),
    (["--since", "2026-02-01", "--until", "2026-01-01"],
     "--since (2026-02-01T00:00:00Z) must be before --until (2026-01-01T00:00:00Z)"),
    (["--since", "2026-01-01", "--until", "2026-01-01T00:00:00Z"],
     "--since (2026-01-01T00:00:00Z) must be before --until (2026-01-01T00:00:00Z)"),
])
def test_the_cli_refuses_a_bad_window_naming_it(app_env, capsys, argv, message):
    assert main(["backfill", "--rule", "default", *argv]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.integration
def test_the_cli_and_the_http_twin_refuse_a_window_before_the_records_horizon_naming_their_field(app_env, aml,
                                                                                                 capsys):
    horizon = "before the backfill horizon "
    retention = "run records are deleted after RECORD_RETENTION_DAYS (90 days)"

    assert main(["backfill", "--rule", "default", "--since", "2000-01-01", "--until", "2100-01-01", "--run"]) == 1
    code, answer = call("http_backfill", body={"rule": "default", "since": "2000-01-01", "until": "2100-01-01"})

    assert json.loads(capsys.readouterr().err)["error"].startswith(f"--since 2000-01-01T00:00:00Z is {horizon}")
    assert code == 400 and answer["error"].startswith(f"since 2000-01-01T00:00:00Z is {horizon}")
    assert retention in answer["error"] and aml.received == []


def test_the_cli_refuses_rerun_outcomes_without_a_rerun_label_naming_both_flags(app_env, capsys):
    assert main(["backfill", "--rule", "default", *WINDOW, "--rerun-outcomes", "rejected"]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == (
        "--rerun-outcomes limits a rerun: give --rerun-completed too (the rerun's label)")


@pytest.mark.parametrize("argv, message", [
    (["--rerun-completed", "has space"], "rerun label 'has space' must be 1 to 40 letters"),
    (["--max-active", "0"], "--max-active must be a whole number >= 1, not 0"),
    (["--workers", "33"], "--workers must be a whole number from 1 to 32, not 33"),
    (["--workers", "0"], "--workers must be a whole number from 1 to 32, not 0"),
    (["--workers", "four"], "--workers must be a whole number from 1 to 32, not 'four'"),
    (["--rerun-completed", "fix", "--rerun-outcomes", "rejected,faild"],
     "--rerun-outcomes names 'faild': name what became of the versions to run again, some of canceled, completed, "
     "failed, rejected, running, skipped, waiting (the status page's outcomes of a run that already ran)"),
])
def test_the_cli_refuses_a_bad_label_cap_or_workers_as_a_bad_argument(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(["backfill", "--rule", "default", *WINDOW, *argv])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_workers_from_1_to_32_are_taken():
    assert [workers(1, "--workers"), workers(32, "--workers")] == [1, 32]


@pytest.mark.integration
def test_the_http_twin_answers_a_dry_run_then_runs_and_a_second_call_starts_nothing(app_env, aml):
    uploaded(app_env["WATCH_CONTAINER"], ["a.csv", "b.csv"])
    body = {"rule": "default", "since": SINCE, "until": "2100-01-01T00:00:00Z"}

    dry_status, dry = call("http_backfill", body=body)
    run_status, ran = call("http_backfill", body={**body, "run": True})
    _, again = call("http_backfill", body={**body, "run": True})

    assert (dry_status, dry["report"]["to_run"], len(dry["versions"])) == (200, 2, 2)
    assert dry["summary"].endswith("dry run: 2 would run, nothing sent")
    assert (run_status, ran["report"]["outcomes"], again["report"]["to_run"]) == (200, {"submitted": 2}, 0)
    assert len(aml.accepted) == 2


@pytest.mark.parametrize("body, status, message", [
    ({"rule": "default", "since": "2026-01-01"}, 400, "until is required"),
    ({"rule": "default", "since": "x", "until": "2026-01-01"}, 400, "since must be an ISO 8601 time"),
    ({"rule": "nope", "since": "2026-01-01", "until": "2026-02-01"}, 404, "no rule named 'nope'"),
    ({"rule": "default", "since": "2026-01-01", "until": "2026-01-01"}, 400,
     "since (2026-01-01T00:00:00Z) must be before until (2026-01-01T00:00:00Z)"),
    ({"rule": "default", "since": "2026-01-01", "until": "2026-02-01", "max_active": True}, 400,
     "max_active must be a whole number >= 1, not True"),
    ({"rule": "default", "since": "2026-01-01", "until": "2026-02-01", "rerun_outcomes": ["rejected"]}, 400,
     "rerun_outcomes limits a rerun: give rerun_completed too (the rerun's label)"),
    ({"rule": "default", "since": "2026-01-01", "until": "2026-02-01", "rerun_completed": "fix",
      "rerun_outcomes": ["rejected", {"x": 1}]}, 400, "rerun_outcomes names {'x': 1}: name what became of"),
    ({"rule": "default", "since": "2026-01-01", "until": "2026-02-01", "rerun_outcomes": "rejected"}, 400,
     "rerun_outcomes must be"),
])
def test_the_http_twin_refuses_a_bad_body_naming_the_field(app_env, aml, body, status, message):
    code, answer = call("http_backfill", body=body)
    assert code == status and message in answer["error"], answer
    assert aml.received == []
