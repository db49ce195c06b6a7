"""Backfill on Azurite and the Azure ML stand-in: what a window holds, what the ledger says of it, runs counted at
the stand-in, a backfill interrupted and started again, a dry run, a deliberate rerun, the cap of active runs."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from cli.__main__ import main
from shared.clients.common.clock import Clock
from shared.clients.process.services import build_services
from shared.core.backfill.backfill import Rerun, Window
from shared.core.common.errors import Conflict, InvalidInput, Unprocessable
from shared.core.ledger.keys import blob_version_key, iso, manual_key
from shared.flows.backfill.backfill import Pace, backfill
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.outcomes.run_outcomes import poll_open_runs
from tests.support.harness import PROJECT_ROOT, ledger_record, upload
from tests.support.http import call
from tests.support.samples import SAMPLE_CSV

WORKERS = 4
WIDE = Window(datetime.now(UTC) - timedelta(days=1), datetime(2100, 1, 1, tzinfo=UTC))
"""Every version uploaded here, and inside the records' horizon (RECORD_RETENTION_DAYS 90 less a day)."""


class Interrupted(Exception):
    """What a kill at the progress hook looks like to the backfill: nothing after it runs."""


def services():
    return build_services(os.environ)


def uploaded(container: str, names: list[str]) -> dict[str, str]:
    with ThreadPoolExecutor(8) as pool:
        return dict(zip(names, pool.map(lambda name: upload(container, name, SAMPLE_CSV), names), strict=True))


def run_already(names: list[str]) -> None:
    """These versions' events came: their runs started through the live path."""
    shared = services()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: process_blob(shared.watched.get_blob_client(name), shared), names))


def sent_paths(aml) -> Counter[str]:
    return Counter(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted)


def kill_after(count: int):
    def progress(done: int, _total: int) -> None:
        if done == count:
            raise Interrupted(f"killed after {count}")
    return progress


@pytest.mark.integration
@pytest.mark.timeout(480)  # 1,000 runs through the live path: about 7,000 storage requests and 1,000 POSTs; took
# 65 to 127 s on a shared 2-core machine (118 s at load 16 on 2026-12-07): 480 s keeps about 4x that for worse load
def test_a_thousand_versions_of_which_400_ran_give_600_runs_even_when_killed_after_300(app_env, aml):
    names = [f"day-{number:04}.csv" for number in range(1000)]
    uploaded(app_env["WATCH_CONTAINER"], names)
    run_already(names[:400])
    assert len(aml.accepted) == 400

    dry, candidates = backfill(services(), rule="default", window=WIDE)
    assert len(aml.accepted) == 400  # the dry run sent nothing
    assert (dry.in_window, dict(dry.standings), dry.to_run) == (1000, {"already run": 400, "never seen": 600}, 600)
    assert dry.summary().endswith("; dry run: 600 would run, nothing sent")
    assert sorted(c.blob for c in candidates if c.standing.would_run) == names[400:]
    assert [c.last_modified for c in candidates] == sorted(c.last_modified for c in candidates)  # oldest first

    with pytest.raises(Interrupted):
        backfill(services(), rule="default", window=WIDE, run=True,
                 pace=Pace(progress=kill_after(300), workers=WORKERS))
    in_flight = len(aml.accepted) - 700  # the versions other workers held when the 300th finished
    assert 0 <= in_flight < WORKERS
    again, _ = backfill(services(), rule="default", window=WIDE, run=True, pace=Pace(workers=WORKERS))

    left = 300 - in_flight
    assert (again.to_run, again.processed, dict(again.outcomes)) == (left, left, {"submitted": left})
    assert len(aml.accepted) == 1000 and set(sent_paths(aml).values()) == {1}  # 600 new runs, none twice
    last, _ = backfill(services(), rule="default", window=WIDE, run=True, pace=Pace(workers=WORKERS))
    assert (last.to_run, dict(last.standings), len(aml.accepted)) == (0, {"already run": 1000}, 1000)


@pytest.mark.integration
@pytest.mark.integration
@pytest.mark.timeout(240)  # it waits CLAIM_EXPIRY_SECONDS (60 here) for the killed process's claims to expire
def test_a_backfill_killed_holding_claims_leaves_them_for_a_rerun_after_their_expiry_which_runs_them_once(
        app_env, aml, capsys):
    names = [f"day-{number:02}.csv" for number in range(20)]
    uploaded(app_env["WATCH_CONTAINER"], names)
    argv = ["backfill", "--rule", "default", "--since", iso(WIDE.since), "--until", iso(WIDE.until), "--run",
            "--workers", str(WORKERS)]
    started = datetime.now(UTC)
    killed = subprocess.Popen([sys.executable, "-m", "tests.support.backfill_worker", "10", *argv],
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert [killed.stdout.readline() for _ in range(WORKERS)] == ["holding\n"] * WORKERS
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    expiry = timedelta(seconds=services().config.claim_expiry + 5)  # CLAIM_EXPIRY_SECONDS + the clock margin
    claimed_between = (started, datetime.now(UTC))
    assert len(aml.accepted) == 10  # 10 ran, 4 claimed and never sent, 6 not reached
    capsys.readouterr()

    assert main(argv) == 3  # the restart runs the 6, and says the 4 in hand are left, until when
    restarted = capsys.readouterr().out.strip()
    assert re.search(r"; 6 of 6 processed: 6 submitted; 4 left \(4 in hand: claimed by another owner, or by a "
                     r"backfill that was killed; run again after (\S+) to finish them\)$", restarted), restarted
    retry_after = datetime.fromisoformat(restarted.rsplit("run again after ", 1)[1].split()[0].replace("Z", "+00:00"))
    assert claimed_between[0] + expiry - timedelta(seconds=1) <= retry_after <= claimed_between[1] + expiry
    assert len(aml.accepted) == 16

    time.sleep((retry_after - datetime.now(UTC)).total_seconds() + 1)  # the storage server judges the claims' age
    assert main(argv) == 0  # after their expiry, a rerun takes the 4 over (no run of theirs found) and runs them
    assert capsys.readouterr().out.rstrip().endswith("4 of 4 processed: 4 submitted; 0 left")
    assert len(aml.accepted) == 20 and set(sent_paths(aml).values()) == {1}  # each version's run once
    assert main(argv) == 0 and capsys.readouterr().out.rstrip().endswith("0 of 0 processed: nothing; 0 left")


def test_the_window_holds_its_since_and_not_its_until(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    uploaded(container, ["before.csv"])
    time.sleep(1.1)  # Last-Modified is to the second
    uploaded(container, ["inside.csv", "notes.txt"])
    inside = services().watched.get_blob_client("inside.csv").get_blob_properties().last_modified

    report, candidates = backfill(services(), rule="default", window=Window(inside, inside + timedelta(seconds=1)))
    _, earlier = backfill(services(), rule="default", window=Window(WIDE.since, inside))

    assert [c.blob for c in candidates] == ["inside.csv"]  # not the one before, nor notes.txt (not watched)
    assert [c.blob for c in earlier] == ["before.csv"]  # not the one at until
    assert (report.blobs_listed, report.in_window, report.listing_pages) == (3, 1, 2)  # blobs + records: 2 pages
    assert aml.accepted == []


@pytest.mark.integration
def test_rerunning_what_already_ran_takes_a_key_of_its_own_once_per_label(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etags = uploaded(container, ["a.csv", "b.csv"])
    run_already(["a.csv", "b.csv"])

    plain, _ = backfill(services(), rule="default", window=WIDE, run=True)
    first, candidates = backfill(services(), rule="default", window=WIDE, run=True, rerun=Rerun("fix-1"))
    again, _ = backfill(services(), rule="default", window=WIDE, run=True, rerun=Rerun("fix-1"))

    assert (plain.to_run, first.to_run, dict(first.outcomes), again.to_run) == (0, 2, {"submitted": 2}, 0)
    assert [c.line().split()[:2] for c in candidates] == [["would", "rerun"]] * 2
    assert sent_paths(aml) == {"a.csv": 2, "b.csv": 2}
    live_key = blob_version_key(container, "a.csv", etags["a.csv"])
    rerun = services().ledger.read(f"manual/default/{manual_key('default', f'backfill:fix-1:{live_key}')}.json")
    assert rerun is not None and rerun[0]["subject"]["rerun_of"] == live_key
    assert rerun[0]["state"] == "submitted" and rerun[0]["key"] != live_key
    assert ledger_record("default", container, "a.csv", etags["a.csv"])["run_id"] != rerun[0]["run_id"]


def ran_four_ways(container: str, aml, monkeypatch) -> None:
    """ok.csv's run completed, failed.csv's failed in Azure ML, bad.csv's was rejected by a broken rule (a column
    misspelt, since fixed), new.csv's event never came."""
    uploaded(container, ["ok.csv", "failed.csv", "bad.csv", "new.csv"])
    run_already(["ok.csv", "failed.csv"])
    monkeypatch.setenv("CSV_REQUIRED_COLUMNS", "PRICE")
    run_already(["bad.csv"])
    monkeypatch.delenv("CSV_REQUIRED_COLUMNS")
    ended = {"ok.csv": "Completed", "failed.csv": "Failed"}
    for run in aml.accepted:
        aml.set_status(run.run_id, ended[run.body["DataPathAssignments"]["input_datapath"]["RelativePath"]])
    poll_open_runs(services(), budget=60, max_runs=10)


def described(lines: list[str]) -> dict[str, str]:
    """Each listed version's blob and how the listing describes it: ``{"bad.csv": "would run ... (already run: ...)"}``
    without its time and ETag."""
    found = {}
    for line in lines:
        verb, _moment, blob, rest = re.fullmatch(r"(.{12}) (\S+)  (\S+)  \(0x[0-9A-F]+, (.*)\)", line).groups()
        found[blob] = f"{verb.strip()}: {rest}"
    return found


@pytest.mark.integration
def test_a_dry_run_names_how_the_runs_that_already_ran_ended_and_a_plain_run_reruns_none_of_them(app_env, aml,
                                                                                                 monkeypatch):
    ran_four_ways(app_env["WATCH_CONTAINER"], aml, monkeypatch)

    dry, candidates = backfill(services(), rule="default", window=WIDE)
    plain, _ = backfill(services(), rule="default", window=WIDE, run=True)

    assert "4 versions in the window (3 already run: 1 completed, 1 failed, 1 rejected; 1 never seen)" in dry.summary()
    assert described([candidate.line() for candidate in candidates]) == {
        "ok.csv": "skip: already run: completed", "failed.csv": "skip: already run: failed",
        "bad.csv": "skip: already run: rejected", "new.csv": "would run: never seen"}
    assert (plain.to_run, dict(plain.outcomes)) == (1, {"submitted": 1})
    assert sent_paths(aml) == {"ok.csv": 1, "failed.csv": 1, "new.csv": 1}  # exactly once: bad.csv's not again


@pytest.mark.integration
def test_a_rerun_limited_to_rejected_and_failed_runs_those_again_once_and_leaves_the_completed_one(
        app_env, aml, monkeypatch, capsys):
    ran_four_ways(app_env["WATCH_CONTAINER"], aml, monkeypatch)
    argv = ["backfill", "--rule", "default", "--since", iso(WIDE.since), "--until", iso(WIDE.until),
            "--rerun-completed", "fix-1", "--rerun-outcomes", "rejected,failed"]

    assert main(argv) == 0
    dry = capsys.readouterr().out.splitlines()
    assert main([*argv, "--run"]) == 0 and main([*argv, "--run"]) == 0
    twice = capsys.readouterr().out.splitlines()

    assert described(dry[:-1]) == {"failed.csv": "would rerun: already run: failed; rerun fix-1: never seen",
                                   "bad.csv": "would rerun: already run: rejected; rerun fix-1: never seen",
                                   "new.csv": "would run: never seen"}
    assert dry[-1].endswith("(3 already run: 1 completed, 1 failed, 1 rejected; 1 never seen); rerun fix-1 of "
                            "failed, rejected: 2 versions; dry run: 3 would run, nothing sent")
    assert twice[0].endswith("3 of 3 processed: 3 submitted; 0 left")
    assert twice[1].endswith("0 of 0 processed: nothing; 0 left")  # the same label again: none twice
    assert sent_paths(aml) == {"ok.csv": 1, "failed.csv": 2, "bad.csv": 1, "new.csv": 1}  # bad.csv first rejected

    code, answer = call("http_backfill", body={"rule": "default", "since": iso(WIDE.since), "until": iso(WIDE.until),
                                               "rerun_completed": "fix-1", "rerun_outcomes": ["completed"]})
    assert (code, answer["report"]["reruns"], answer["report"]["to_run"]) == (200, 1, 1)  # ok.csv, under fix-1
    assert described(answer["versions"]) == {"ok.csv": "would rerun: already run: completed; rerun fix-1: never seen"}
    assert len(aml.accepted) == 5  # a dry run


@pytest.mark.integration
def test_at_the_cap_of_active_runs_it_stops_or_waits_for_runs_to_end(app_env, aml):
    uploaded(app_env["WATCH_CONTAINER"], [f"day-{day}.csv" for day in range(5)])

    stopped, _ = backfill(services(), rule="default", window=WIDE, run=True, pace=Pace(max_active=2, workers=3))
    assert (stopped.processed, len(aml.accepted)) == (2, 2)
    assert stopped.stopped == ("2 runs of rule 'default' are active (at most 2: max_active_runs or --max-active); "
                               "run the backfill again once runs end")

    waits: list[float] = []
    ended: set[str] = set()
    active_at_each_wait: list[int] = []

    def end_the_runs(seconds: float) -> None:  # meanwhile, Azure ML ends them and the fallback hears of it
        waits.append(seconds)
        active_at_each_wait.append(len({run.run_id for run in aml.accepted} - ended))
        for run in aml.accepted:
            aml.set_status(run.run_id, "Completed")
            ended.add(run.run_id)
        poll_open_runs(services(), budget=60, max_runs=10)

    rest, _ = backfill(services(), rule="default", window=WIDE, run=True,
                       pace=Pace(max_active=2, wait=end_the_runs, workers=3))
    assert (rest.processed, rest.stopped, len(aml.accepted)) == (3, None, 5)
    assert set(waits) == {30.0} and max(active_at_each_wait) == 2  # never more than 2 active


@pytest.mark.integration
def test_within_a_budget_no_version_starts_unless_one_attempt_still_fits(app_env, aml):
    uploaded(app_env["WATCH_CONTAINER"], [f"day-{day}.csv" for day in range(5)])
    elapsed = [0.0]  # the simulated monotonic clock, shared by every client: it moves only when a version ends
    timed = build_services(os.environ, clock=Clock(monotonic=lambda: elapsed[0]))

    def ten_seconds_each(_done: int, _total: int) -> None:
        elapsed[0] += 10

    report, _ = backfill(timed, rule="default", window=WIDE, run=True,
                         pace=Pace(budget=28, progress=ten_seconds_each))  # SUBMIT_ATTEMPT_TIMEOUT_SECONDS: 5

    assert (report.processed, len(aml.accepted), report.left) == (3, 3, 2)  # started at 0, 10, 20; not at 30
    assert report.stopped == "out of time for this request; the rest is left for the next backfill"


@pytest.mark.integration
def test_a_window_starting_before_the_records_horizon_is_refused_naming_since_the_retention_and_the_horizon(
        app_env, aml, monkeypatch):
    monkeypatch.setenv("RECORD_RETENTION_DAYS", "30")
    now = datetime(2026, 12, 7, 8, 30, 15, 500000, tzinfo=UTC)
    pinned = dataclasses.replace(services(), clock=services().clock._replace(now=lambda: now))

    with pytest.raises(InvalidInput) as refused:
        backfill(pinned, rule="default", window=Window(now - timedelta(days=29, seconds=1), now), run=True)
    inside, _ = backfill(pinned, rule="default", window=Window(now - timedelta(days=29), now))

    assert str(refused.value) == (
        "since 2026-11-08T08:30:14Z is before the backfill horizon 2026-11-08T08:30:15Z: run records are deleted "
        "after RECORD_RETENTION_DAYS (30 days) and the horizon stays one day inside it, so a version older than that "
        "may have run with its record gone and would run a second time; start the window at or after "
        "2026-11-08T08:30:15Z")
    assert inside.since == "2026-11-08T08:30:15Z" and aml.received == []  # a window from the horizon is taken


@pytest.mark.integration
def test_planning_that_outlasts_the_budget_is_refused_before_anything_runs(app_env, aml):
    uploaded(app_env["WATCH_CONTAINER"], [f"day-{day}.csv" for day in range(3)])
    ticks = iter(range(0, 1000, 20))  # each read of the monotonic clock finds 20 s more gone
    base = services()
    slow = dataclasses.replace(base, clock=base.clock._replace(monotonic=lambda: float(next(ticks))))

    with pytest.raises(Unprocessable) as refused:
        backfill(slow, rule="default", window=WIDE, run=True, pace=Pace(budget=30))

    assert str(refused.value) == (
        "planning the backfill of rule 'default' outlasted this request's time after 2 listing pages (0 blobs): "
        "nothing was run. The listing covers the rule's whole prefix whatever the window, so use the command line "
        "(./dev cli backfill), which has no such limit")
    assert aml.received == []


def test_a_disabled_rule_is_refused_before_anything_is_listed(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_ENABLED", "false")
    with pytest.raises(Conflict, match="rule 'default' is disabled \\(enabled: false\\): enable it before a backfill"):
        backfill(services(), rule="default", window=WIDE, run=True)
