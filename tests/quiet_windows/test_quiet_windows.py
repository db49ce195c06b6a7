"""Quiet-window rules end to end: files in Azurite -> entries in the ledger container -> one run per quiet folder at
the stand-in, with the clock passed in so no test waits out a window."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from cli.__main__ import main
from localdev.aml_standin import Respond
from localdev.http_counter import counting_requests
from shared.clients.ledger.ledger import Ledger
from shared.clients.process.services import build_services
from shared.core.blobs.batches import Batch
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.ledger.keys import iso
from shared.core.ledger.subjects import QuietBatchSubject
from shared.core.quiet_windows.quiet_windows import ENTRY_RETENTION_DAYS, FOLDERS_PREFIX, QUIET_PREFIX
from shared.flows.manual.manual_runs import CannotRerun, rerun
from shared.flows.outcomes.run_outcomes import poll_open_runs
from shared.flows.quiet_windows.quiet_windows import fire, fire_due, rule_batches
from shared.flows.sweep.sweep import sweep
from shared.operations.http.records import list_runs
from tests.support.decisions import outcome_lines
from tests.support.harness import deliver_blob, run_together, upload
from tests.support.http import call
from tests.support.indexing import index_in_fresh_process
from tests.support.markers import FOLDER, short_claims, wait_past_short_claims
from tests.support.quiet_windows import WINDOW, arrive, services_at, write_rule
from tests.support.run_limits import end_and_crash, end_run
from tests.support.samples import SAMPLE_CSV
from tests.support.settings import LOADED_AT, minimal_env
from tests.support.workers import run_workers

pytestmark = pytest.mark.integration
FOLDERS = ("incoming/f1/", "incoming/f2/", "incoming/f3/")


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, and no handler catches it."""


@pytest.fixture
def quiet_rule(aml, tmp_path, monkeypatch):
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW})


def limited_quiet_rule(aml, tmp_path, monkeypatch, **policy: str) -> None:
    """The quiet rule with ``max_active_runs: 1`` (and ``policy``, if any)."""
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW}, max_active_runs=1, **policy)


def one_running_one_waiting(aml, tmp_path, monkeypatch, *names: str):
    """The quiet rule with ``max_active_runs: 1`` and a batch of ``names`` in each of the first two folders fired:
    the first one's run holds the slot, the second one waits."""
    limited_quiet_rule(aml, tmp_path, monkeypatch)
    for folder in FOLDERS[:2]:
        arrive(os.environ["WATCH_CONTAINER"], *names, folder=folder)
    return fire_due(services_at(WINDOW + 1))


def in_a_later_second() -> None:
    """Wait for the storage clock's next second: a file arriving after a batch fired is at least a window (1 s or
    more) newer than the batch's oldest entry, which this test's moved clock does not make it."""
    time.sleep(1.05 - time.time() % 1)


def run_folders(aml) -> list[str]:
    """The folder each POST the stand-in accepted runs on, in the order they came."""
    return [run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted]


def recorded_files(key: str) -> list[str]:
    """The files a batch's record lists in its subject, from its claim on, by name (files of one second are listed
    in entry-name order)."""
    record, _ = services_at(0).ledger.read(f"rules/daily/{key}.json")
    return sorted(item["blob"] for item in record["subject"]["files"])


def test_200_files_inside_the_window_give_one_run_on_their_folder_and_redeliveries_add_nothing(
        app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    names = [f"part-{index:03d}.csv" for index in range(200)]
    arrive(container, *names)

    assert fire_due(services_at(WINDOW - 5)) == [] and aml.received == []  # not quiet for long enough yet
    [decision] = fire_due(services_at(WINDOW + 1))
    assert (decision.outcome.value, decision.folder, decision.files) == ("submitted", FOLDER, 200)
    [run] = aml.accepted
    assert run.body["DataPathAssignments"] == {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                                                  "RelativePath": FOLDER}}
    assert run.body["tags"]["trigger_folder"] == f"{container}/{FOLDER}"
    services = services_at(WINDOW + 1)
    record, _ = services.ledger.read(f"rules/daily/{decision.key}.json")
    assert record["batch"] == {"folder": FOLDER}
    assert sorted(item["blob"] for item in record["subject"]["files"]) == [FOLDER + name for name in names]
    assert rule_batches(services.config.rules[0], services) == []  # the folder's cut-off covers every entry

    deliver_blob(container, FOLDER + names[0])  # a redelivery after its batch ran
    assert fire_due(services_at(2 * WINDOW + 2)) == [] and len(aml.received) == 1


def test_a_file_after_the_claim_opens_the_next_batch_whose_run_lists_it_alone(app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    [first] = fire_due(services_at(WINDOW + 1))
    arrive(container, "part-3.csv")

    assert fire_due(services_at(WINDOW - 5)) == []
    [second] = fire_due(services_at(WINDOW + 1))
    assert second.key != first.key and len(aml.accepted) == 2
    record, _ = services_at(0).ledger.read(f"rules/daily/{second.key}.json")
    assert [item["blob"] for item in record["subject"]["files"]] == [FOLDER + "part-3.csv"]


def test_concurrent_deliveries_and_concurrent_ticks_start_one_run(app_env, aml, quiet_rule, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    container = app_env["WATCH_CONTAINER"]
    names = [f"part-{index}.csv" for index in range(8)]
    for name in names:
        upload(container, FOLDER + name, SAMPLE_CSV)
    results = run_together(*(lambda name=name: deliver_blob(container, FOLDER + name) for name in names * 2))
    assert not [result for result in results if isinstance(result, BaseException)]
    outcomes = sorted(line["outcome"] for line in outcome_lines(caplog))
    assert outcomes == ["collected"] * 8 + ["duplicate"] * 8

    ticks = run_together(*(lambda: fire_due(services_at(WINDOW + 1)) for _ in range(4)))
    assert len(aml.accepted) == 1
    assert sorted(d.outcome.value for tick in ticks for d in tick).count("submitted") == 1


def test_a_tick_killed_between_claim_and_post_leaves_the_batch_the_next_tick_runs_once(
        app_env, aml, quiet_rule, monkeypatch):
    short_claims(monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    crashing = services_at(WINDOW + 1)
    crashing.submitter.submit = lambda *args, **kwargs: (_ for _ in ()).throw(Crash())
    with pytest.raises(Crash):
        fire_due(crashing)
    assert aml.received == []
    crashed_at = time.monotonic()

    wait_past_short_claims(crashed_at)
    [decision] = fire_due(services_at(WINDOW + 1))
    assert decision.outcome.value == "submitted" and decision.took_over and len(aml.accepted) == 1
    assert fire_due(services_at(WINDOW + 1)) == []


def test_a_tick_killed_between_settling_its_record_and_advancing_its_folder_leaves_one_run(
        app_env, aml, quiet_rule, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv", "part-3.csv")
    swaps, swap = [], Ledger.swap

    def crash_on_the_folder_state(self, name, *args, **kwargs):
        if name.startswith(FOLDERS_PREFIX):
            swaps.append(name)
            raise Crash()
        return swap(self, name, *args, **kwargs)

    monkeypatch.setattr(Ledger, "swap", crash_on_the_folder_state)
    with pytest.raises(Crash):
        fire_due(services_at(WINDOW + 1))
    monkeypatch.setattr(Ledger, "swap", swap)
    assert len(swaps) == 1 and len(aml.received) == 1

    [again] = fire_due(services_at(WINDOW + 1))
    assert again.outcome.value == "duplicate" and len(aml.received) == 1
    services = services_at(WINDOW + 1)
    assert rule_batches(services.config.rules[0], services) == []
    assert fire_due(services_at(WINDOW + 1)) == [] and len(aml.received) == 1


def _storage_netloc() -> str:
    """The Azurite both the watched container and the ledger live in here."""
    services = build_services(os.environ)
    assert urlsplit(services.watched.url).netloc == urlsplit(services.ledger.container.url).netloc
    return urlsplit(services.ledger.container.url).netloc


def test_a_new_file_costs_two_storage_requests_its_events_ranged_read_and_its_entry_and_a_batch_no_more_per_file(
        app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    storage = _storage_netloc()
    upload(container, "incoming/alone/part-0.csv", SAMPLE_CSV)
    deliver_blob(container, "incoming/alone/part-0.csv")  # the first delivery also makes sure the container exists
    with counting_requests() as one_file_tick:
        [alone] = fire_due(services_at(WINDOW + 1))
    names = [f"part-{index}.csv" for index in range(20)]
    for name in names:
        upload(container, FOLDER + name, SAMPLE_CSV)
    with counting_requests() as events:
        for name in names:
            deliver_blob(container, FOLDER + name)
    with counting_requests() as twenty_files_tick:
        [batch] = fire_due(services_at(WINDOW + 1))

    assert (alone.files, batch.files, len(aml.accepted)) == (1, 20, 2)
    assert events[storage] == 2 * len(names)
    assert twenty_files_tick[storage] == one_file_tick[storage]  # a batch's own requests do not grow with its files
    with counting_requests() as redelivered:
        deliver_blob(container, FOLDER + names[0])
    assert redelivered[storage] == 2  # the read, and the create the existing entry refuses


def _at_the_start_of_a_second() -> None:
    """Wait for a fresh second, so what follows at once shares one Last-Modified second."""
    time.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)


def test_a_file_arriving_in_the_cut_offs_second_after_the_ticks_listing_opens_the_next_batch(
        app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    for name in ("part-1.csv", "part-2.csv"):
        upload(container, FOLDER + name, SAMPLE_CSV)
    services = services_at(WINDOW + 1)
    rule = services.config.rules[0]
    _at_the_start_of_a_second()
    deliver_blob(container, FOLDER + "part-1.csv")
    [listed] = rule_batches(rule, services)  # the tick lists part-1 alone ...
    deliver_blob(container, FOLDER + "part-2.csv")  # ... and part-2 lands in the same second, after its listing
    [both] = rule_batches(rule, services)
    assert len({entry.arrived for entry in both.entries}) == 1, "both entries in one second"

    first = fire(rule, listed, services, services.clock.monotonic() + 30)
    [left] = rule_batches(rule, services)
    assert [entry.blob for entry in left.entries] == [FOLDER + "part-2.csv"]
    [second] = fire_due(services_at(WINDOW + 1))
    assert first.key != second.key and len(aml.accepted) == 2
    record, _ = services.ledger.read(f"rules/daily/{second.key}.json")
    assert record["subject"]["files"] == [{"blob": FOLDER + "part-2.csv", "etag": left.oldest.etag}]
    assert rule_batches(rule, services) == [] and fire_due(services_at(WINDOW + 1)) == []


def test_a_file_whose_entry_the_lifecycle_rule_deleted_is_not_collected_again_by_the_sweep_or_run_twice(
        app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    [fired] = fire_due(services_at(WINDOW + 1))
    assert fired.outcome.value == "submitted"
    ledger = build_services(os.environ).ledger.container
    for entry in list(ledger.list_blobs(name_starts_with=QUIET_PREFIX)):  # what the lifecycle rule does later
        ledger.delete_blob(entry.name)

    later = services_at(ENTRY_RETENTION_DAYS * 86_400)
    report = sweep(later, max_blobs=100)
    assert report.missing == 0 and fire_due(later) == [] and len(aml.accepted) == 1
    assert list(ledger.list_blobs(name_starts_with=QUIET_PREFIX)) == []

    report = sweep(build_services(os.environ), max_blobs=100)  # within the horizon, a missing entry is a missed file
    assert report.outcomes == {"collected": 2}


@pytest.mark.parametrize(("quiet", "extra", "expected"), [
    ({"seconds": 0}, {}, '{"seconds": N}, N a whole number of seconds from 1 to 86,400'),
    ({"seconds": "60"}, {}, '{"seconds": N}, N a whole number of seconds from 1 to 86,400'),
    ({"seconds": 60}, {"marker": {"file": "_SUCCESS"}},
     "either marker or quiet_window: a marker already says when a folder is complete"),
])
def test_a_bad_quiet_window_is_a_config_error_at_its_place(tmp_path, quiet, extra, expected):
    rule = {"name": "daily", "prefix": "incoming/", "target": {"url": minimal_env()["AML_PIPELINE_URL"]},
            "experiment": "retrain", "quiet_window": quiet, **extra}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config({**minimal_env(), "TRIGGER_RULES_FILE": str(path)}, tmp_path, now=LOADED_AT)
    assert f"rules[0].quiet_window = {quiet!r}: {expected}".replace("'", '"') in str(raised.value).replace("'", '"')


def test_explain_shows_the_open_batch_of_a_files_folder_and_when_it_fires(app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    upload(container, FOLDER + "part-3.csv", SAMPLE_CSV)

    collected = call("http_explain", body={"blob": FOLDER + "part-2.csv"})[1]["rules"][0]
    waiting = call("http_explain", body={"blob": FOLDER + "part-3.csv"})[1]["rules"][0]

    [batch] = rule_batches(services_at(0).config.rules[0], services_at(0))
    assert sorted(entry.blob for entry in batch.entries) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    shown = {"files": [{"blob": entry.blob, "etag": entry.etag, "arrived": iso(entry.arrived)}
                       for entry in batch.entries],  # oldest first (by Last-Modified, then entry name)
             "fires_at": iso(batch.fires_at)}
    assert collected == {"rule": "daily", "matches": True, "outcome": "collected into the open batch",
                         "folder": FOLDER, "window_seconds": WINDOW, "open_batch": shown}
    assert waiting["outcome"] == "would join the open batch" and waiting["open_batch"] == shown
    assert aml.received == []


def test_four_processes_delivering_one_file_version_collect_it_once_and_its_batch_runs_once(
        app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    reports = run_workers(container, FOLDER + "part-1.csv", 4)
    assert sorted(outcome for report in reports for outcome in report["outcomes"] if outcome != "?") == (
        ["collected"] + ["duplicate"] * 3), [report["stderr"][-500:] for report in reports]
    [decision] = fire_due(services_at(WINDOW + 1))
    assert decision.files == 1 and len(aml.accepted) == 1


def test_the_sweep_collects_a_file_whose_event_was_missed_once_and_its_batch_runs_once(app_env, aml, quiet_rule):
    container = app_env["WATCH_CONTAINER"]
    upload(container, FOLDER + "part-1.csv", SAMPLE_CSV)
    assert sweep(build_services(os.environ), max_blobs=100).outcomes == {"collected": 1}
    assert sweep(build_services(os.environ), max_blobs=100).missing == 0  # its entry says it is collected

    [decision] = fire_due(services_at(WINDOW + 1))
    assert (decision.outcome.value, decision.files, len(aml.accepted)) == ("submitted", 1, 1)


def test_the_quiet_window_timer_is_indexed_only_when_a_rule_has_a_quiet_window(app_env, quiet_rule):
    functions = json.loads(index_in_fresh_process().stdout.splitlines()[-1])
    assert functions["fire_quiet_windows"]["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "*/10 * * * * *",
         "runOnStartup": False, "useMonitor": False}]
    without = json.loads(index_in_fresh_process(TRIGGER_RULES_FILE="").stdout.splitlines()[-1])
    assert "fire_quiet_windows" not in without


def test_max_active_runs_1_on_a_quiet_rule_queues_3_folders_batches_and_starts_each_once_as_the_run_before_ends(
        app_env, aml, tmp_path, monkeypatch):
    limited_quiet_rule(aml, tmp_path, monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    for folder in FOLDERS:
        arrive(container, "part-1.csv", "part-2.csv", folder=folder)

    decisions = fire_due(services_at(WINDOW + 1))

    assert [(d.outcome.value, d.folder) for d in decisions] == [
        ("submitted", FOLDERS[0]), ("waiting", FOLDERS[1]), ("waiting", FOLDERS[2])]
    assert decisions[2].reason == ("waiting: daily has 1 active run (max_active_runs 1, queue); place 2, started "
                                   "when a run ends")
    listed = {run["subject"]["folder"]: run["state"] for run in list_runs(services_at(0), rule="daily").runs}
    assert listed == {FOLDERS[0]: "submitted", FOLDERS[1]: "waiting", FOLDERS[2]: "waiting"}
    assert [d.outcome.value for d in fire_due(services_at(WINDOW + 1))] == ["duplicate"] * 2  # still waiting
    for ended in range(3):
        assert len(aml.accepted) == ended + 1  # never 2 active at once
        end_run(aml, ended)
        end_run(aml, ended)  # the same event again: its run already ended, nothing more starts
    assert run_folders(aml) == list(FOLDERS)
    assert [recorded_files(d.key) for d in decisions] == [[folder + "part-1.csv", folder + "part-2.csv"]
                                                          for folder in FOLDERS]
    assert [d.outcome.value for d in fire_due(services_at(WINDOW + 1))] == ["duplicate"] * 2  # folders advance
    assert fire_due(services_at(WINDOW + 1)) == [] and rule_batches(services_at(0).config.rules[0], services_at(0)) \
        == [] and len(aml.accepted) == 3


def test_max_active_runs_1_on_a_quiet_rule_under_latest_starts_the_newest_batch_and_supersedes_the_middle_one(
        app_env, aml, tmp_path, monkeypatch):
    limited_quiet_rule(aml, tmp_path, monkeypatch, max_active_runs_policy="latest")
    container = app_env["WATCH_CONTAINER"]
    for folder in FOLDERS:
        arrive(container, "part-1.csv", folder=folder)

    decisions = fire_due(services_at(WINDOW + 1))

    assert [d.outcome.value for d in decisions] == ["submitted", "waiting", "waiting"]
    states = {run["subject"]["folder"]: run["state"] for run in list_runs(services_at(0), rule="daily").runs}
    assert states == {FOLDERS[0]: "submitted", FOLDERS[1]: "skipped", FOLDERS[2]: "waiting"}
    end_run(aml, 0)
    assert run_folders(aml) == [FOLDERS[0], FOLDERS[2]]
    end_run(aml, 1)
    assert len(aml.accepted) == 2
    middle, _ = services_at(0).ledger.read(f"rules/daily/{decisions[1].key}.json")
    assert middle["superseded"] is True and middle["reason"] == (
        f"superseded by a newer trigger (rules/daily/{decisions[2].key}.json) while max_active_runs was reached "
        "(policy latest)")
    fire_due(services_at(WINDOW + 1))  # settled, superseded or run: every folder's state advances past its batch
    assert rule_batches(services_at(0).config.rules[0], services_at(0)) == []
    arrive(container, "part-2.csv", folder=FOLDERS[1])  # the superseded folder's next file is a batch of its own
    [later] = fire_due(services_at(WINDOW + 1))
    assert later.outcome.value == "submitted" and recorded_files(later.key) == [FOLDERS[1] + "part-2.csv"]
    assert len(aml.accepted) == 3


def test_a_quiet_batch_killed_between_its_turn_and_its_post_starts_once_on_its_recorded_files(
        app_env, aml, tmp_path, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    _, waiting = one_running_one_waiting(aml, tmp_path, monkeypatch, "part-1.csv", "part-2.csv")
    in_a_later_second()
    arrive(container, "part-3.csv", folder=FOLDERS[1])  # after the waiting batch's claim: the next batch's

    end_and_crash(aml, monkeypatch)  # its record reopened for its turn, the process killed before its POST
    assert len(aml.accepted) == 1
    assert services_at(0).ledger.read(f"rules/daily/{waiting.key}.json")[0]["state"] == "failed"

    [started] = fire_due(services_at(WINDOW + 1))  # the folder's tick finds it first
    assert (started.outcome.value, started.key, started.files) == ("submitted", waiting.key, 2)
    poll_open_runs(services_at(0), budget=60, max_runs=10)  # the fallback's tick: nothing waits any more
    assert run_folders(aml) == [FOLDERS[0], FOLDERS[1]]
    assert recorded_files(waiting.key) == [FOLDERS[1] + "part-1.csv", FOLDERS[1] + "part-2.csv"]

    [next_batch] = fire_due(services_at(WINDOW + 1))  # the file after its claim: the next batch, which waits
    assert next_batch.outcome.value == "waiting" and len(aml.accepted) == 2
    end_run(aml, 1)
    assert len(aml.accepted) == 3 and recorded_files(next_batch.key) == [FOLDERS[1] + "part-3.csv"]


def test_a_quiet_batch_killed_after_its_turn_is_started_once_by_the_fallback_on_its_recorded_files(
        app_env, aml, tmp_path, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    _, waiting = one_running_one_waiting(aml, tmp_path, monkeypatch, "part-1.csv")
    in_a_later_second()
    arrive(container, "part-2.csv", folder=FOLDERS[1])
    end_and_crash(aml, monkeypatch)

    poll_open_runs(services_at(0), budget=60, max_runs=10)  # the fallback's tick finds it first

    assert run_folders(aml) == [FOLDERS[0], FOLDERS[1]]
    assert recorded_files(waiting.key) == [FOLDERS[1] + "part-1.csv"]
    assert [d.outcome.value for d in fire_due(services_at(WINDOW + 1))] == ["duplicate"]  # advances its folder
    [next_batch] = fire_due(services_at(WINDOW + 1))
    assert next_batch.outcome.value == "waiting" and len(aml.accepted) == 2


@pytest.mark.parametrize(("quiet", "expected"), [
    (True, "this quiet batch's record lists no files: it cannot be run again"),
    (False, "rule 'daily' has no quiet_window any more: its batch is not run again"),
])
def test_a_quiet_batch_whose_record_lists_no_files_or_whose_rule_lost_its_window_is_not_run_again_and_says_why(
        app_env, aml, tmp_path, monkeypatch, quiet, expected):
    write_rule(aml, tmp_path, monkeypatch, **({"quiet_window": {"seconds": WINDOW}} if quiet else {}))
    subject = QuietBatchSubject(rule="daily", container=app_env["WATCH_CONTAINER"], folder=FOLDER,
                                oldest=f"{QUIET_PREFIX}daily/{'0' * 64}", fires_at="2026-12-01T10:01:00.000Z")

    refused = rerun(services_at(0), f"rules/daily/quiet-{'0' * 64}.json", subject, None)

    assert refused == CannotRerun(expected) and aml.received == []


def record_of(key: str) -> dict:
    record, _ = services_at(0).ledger.read(f"rules/daily/{key}.json")
    return record


def the_next_batch_runs_alone_on(name: str) -> None:
    """The folder's next tick starts one run for its next batch, which lists ``name`` alone."""
    [later] = fire_due(services_at(WINDOW + 1))
    assert (later.outcome.value, later.files, recorded_files(later.key)) == ("submitted", 1, [FOLDER + name])


def test_a_rejected_quiet_batch_covers_its_files_a_later_file_runs_once_and_a_retry_runs_it_on_its_files(
        app_env, aml, quiet_rule, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    with monkeypatch.context() as refusing:  # stands for a check that refuses the batch (none does today)
        refusing.setattr(Batch, "problem", lambda self, manifest, columns: "part-2.csv: refused by a check")
        [rejected] = fire_due(services_at(WINDOW + 1))

    assert (rejected.outcome.value, rejected.reason, aml.received) == ("rejected", "part-2.csv: refused by a check", [])
    assert (record_of(rejected.key)["state"], record_of(rejected.key)["reason"]) == (
        "rejected", "part-2.csv: refused by a check")
    assert recorded_files(rejected.key) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    assert fire_due(services_at(WINDOW + 1)) == []  # its files are covered: no tick answers duplicate forever
    in_a_later_second()
    arrive(container, "part-3.csv")
    the_next_batch_runs_alone_on("part-3.csv")
    assert len(aml.accepted) == 1

    code, retried = call("http_retry_run", body={"record": f"rules/daily/{rejected.key}.json"})

    assert (code, retried.get("outcome")) == (201, "submitted") and run_folders(aml) == [FOLDER, FOLDER]
    assert recorded_files(rejected.key) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    assert fire_due(services_at(WINDOW + 1)) == [] and len(aml.accepted) == 2


def test_a_disabled_quiet_rules_batch_is_skipped_with_its_files_listed_and_the_next_batch_after_re_enabling_runs(
        app_env, aml, tmp_path, monkeypatch):
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW}, enabled=False)
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")

    [skipped] = fire_due(services_at(WINDOW + 1))

    assert (skipped.outcome.value, record_of(skipped.key)["state"], aml.received) == ("skipped", "skipped", [])
    assert record_of(skipped.key)["reason"] == skipped.reason
    assert recorded_files(skipped.key) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    assert fire_due(services_at(WINDOW + 1)) == []
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW})  # enabled again
    in_a_later_second()
    arrive(container, "part-3.csv")
    the_next_batch_runs_alone_on("part-3.csv")
    assert fire_due(services_at(WINDOW + 1)) == [] and len(aml.accepted) == 1


def test_a_sweep_since_replays_a_disabled_quiet_rules_skipped_batch_once_on_the_files_its_record_lists(
        app_env, aml, tmp_path, monkeypatch):
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW}, enabled=False)
    arrive(app_env["WATCH_CONTAINER"], "part-1.csv", "part-2.csv")
    [skipped] = fire_due(services_at(WINDOW + 1))
    write_rule(aml, tmp_path, monkeypatch, quiet_window={"seconds": WINDOW})  # enabled again
    since = datetime.now(UTC) - timedelta(hours=1)

    report = sweep(services_at(WINDOW + 1), max_blobs=10, since=since)

    assert (report.errors, record_of(skipped.key)["state"], run_folders(aml)) == ([], "submitted", [FOLDER])
    assert recorded_files(skipped.key) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    assert sweep(services_at(WINDOW + 1), max_blobs=10, since=since).errors == [] and len(aml.accepted) == 1


def test_a_quiet_batch_failed_for_good_is_listed_and_retried_by_post_api_runs_retry_once_on_its_recorded_files(
        app_env, aml, quiet_rule, capsys):
    container = app_env["WATCH_CONTAINER"]
    arrive(container, "part-1.csv", "part-2.csv")
    aml.inject(Respond(400, code="UserError", message="bad parameter"))
    [failed] = fire_due(services_at(WINDOW + 1))
    assert (failed.outcome.value, failed.retryable, len(aml.received), aml.accepted) == ("failed", False, 1, [])
    assert fire_due(services_at(WINDOW + 1)) == [] and len(aml.received) == 1
    in_a_later_second()
    arrive(container, "part-3.csv")  # after the failure: the folder's next batch, not the retry's
    record = f"rules/daily/{failed.key}.json"

    [listed] = call("http_list_runs", "GET", params={"rule": "daily"})[1]["runs"]
    assert (listed["record"], listed["state"], listed["error"]["code"]) == (record, "failed", "UserError")
    assert main(["runs", "--rule", "daily", "--json"]) == 0
    assert [run["record"] for run in json.loads(capsys.readouterr().out)] == [record]
    code, retried = call("http_retry_run", body={"record": record})

    assert (code, retried.get("outcome"), retried.get("files")) == (201, "submitted", 2) and len(aml.accepted) == 1
    assert recorded_files(failed.key) == [FOLDER + "part-1.csv", FOLDER + "part-2.csv"]
    assert run_folders(aml) == [FOLDER]
    the_next_batch_runs_alone_on("part-3.csv")
    assert fire_due(services_at(WINDOW + 1)) == [] and len(aml.accepted) == 2


def test_explain_on_a_file_of_a_limited_quiet_rule_says_whether_its_batch_would_wait_for_a_slot(
        app_env, aml, tmp_path, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    running, waiting = one_running_one_waiting(aml, tmp_path, monkeypatch, "part-1.csv")
    arrive(container, "part-1.csv", folder=FOLDERS[2])

    [shown] = call("http_explain", body={"blob": FOLDERS[2] + "part-1.csv"})[1]["rules"]

    assert (shown["outcome"], shown["when_it_fires"]) == ("collected into the open batch", "would wait")
    assert shown["max_active_runs"] == {
        "limit": 1, "policy": "queue", "active": [f"rules/daily/{running.key}.json"],
        "waiting": [f"rules/daily/{waiting.key}.json"], "free": False,
        "describes": "at most 1 active run; more triggers queue"}
    end_run(aml, 0)
    end_run(aml, 1)
    [free] = call("http_explain", body={"blob": FOLDERS[2] + "part-1.csv"})[1]["rules"]
    assert (free["when_it_fires"], free["max_active_runs"]["active"], free["max_active_runs"]["free"]) == (
        "would submit", [], True)
    assert len(aml.accepted) == 2
