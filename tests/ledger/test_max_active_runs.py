"""``max_active_runs`` on rules and schedules: triggers past the limit wait (recorded, listed, explained) and start
as runs end through the stand-in's run lifecycle and its events, in order (queue) or only the newest (latest);
concurrent triggers never take more slots than there are, and a waiting trigger survives a crash."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import timedelta

import pytest

from localdev.aml_standin import Respond
from shared.clients.ledger.ledger import Ledger
from shared.clients.process.services import build_services
from shared.core.common.errors import TriggerError
from shared.core.config.problems import ConfigError
from shared.core.config.settings import EVENT_GRID_ANSWER_SECONDS
from shared.core.ledger.run_limits import Gate, RunLimit, Waiting, admit
from shared.flows.outcomes import run_outcomes
from shared.flows.outcomes.run_outcomes import poll_open_runs
from shared.flows.sweep.sweep import CLOCK_MARGIN
from shared.operations.http.explain import explain
from shared.operations.http.records import list_runs
from tests.support.clock import SettableClock
from tests.support.decisions import decision_lines
from tests.support.harness import ledger_record, upload
from tests.support.rules_schema import load, schema_errors
from tests.support.run_limits import NAMES, capped_rule, end_and_crash, end_run, trigger_blob, triggered_blobs
from tests.support.samples import SAMPLE_CSV
from tests.support.schedules import DAILY, fire_at, schedule, write_rules

WAITING_1 = ("waiting: capped has 1 active run (max_active_runs 1, queue); place 1, started when a run ends")


def _occurrences(aml) -> list[str]:
    """The schedule occurrences the stand-in accepted runs for, in POST order."""
    return [run.body["tags"]["trigger_occurrence"] for run in aml.accepted]


def _ticks_start_the_holder_once_then_its_end_the_next(aml, fallback) -> None:
    """Two fallback ticks start the occurrence holding the slot once (the second starts nothing more); its run's
    end starts the occurrence waiting behind it."""
    poll_open_runs(fallback, budget=60, max_runs=10)
    poll_open_runs(fallback, budget=60, max_runs=10)
    assert _occurrences(aml) == ["2026-11-02T02:00:00Z"]
    end_run(aml, 0)
    assert _occurrences(aml) == ["2026-11-02T02:00:00Z", "2026-11-03T02:00:00Z"]


def _records(container: str, etags: dict[str, str]) -> dict[str, dict]:
    return {name: ledger_record("capped", container, name, etag) for name, etag in etags.items()}


def test_max_active_runs_1_with_3_triggers_queues_them_and_starts_each_in_order_as_the_run_before_ends(
        app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in NAMES}

    decisions = [trigger_blob(name) for name in NAMES]

    assert [(d.outcome.value, d.reason) for d in decisions] == [
        ("submitted", None), ("waiting", WAITING_1), ("waiting", WAITING_1.replace("place 1", "place 2"))]
    assert triggered_blobs(aml) == ["incoming/a.csv"]
    records = _records(container, etags)
    assert [records[name]["state"] for name in NAMES] == ["submitted", "waiting", "waiting"]
    assert records["incoming/c.csv"]["waiting"] == {"position": 2, "max_active_runs": 1, "policy": "queue"}
    listed = {run["subject"]["blob"]: run["state"] for run in list_runs(build_services(os.environ), rule="capped").runs}
    assert listed == {"incoming/a.csv": "submitted", "incoming/b.csv": "waiting", "incoming/c.csv": "waiting"}
    assert trigger_blob("incoming/c.csv").outcome.value == "duplicate"  # a waiting trigger delivered again
    assert len(aml.accepted) == 1

    end_run(aml, 0)
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]
    end_run(aml, 0)  # the same event again: its run already ended, nothing more starts
    assert len(aml.accepted) == 2
    end_run(aml, 1, "Failed")
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv", "incoming/c.csv"]
    end_run(aml, 2)
    assert len(aml.accepted) == 3
    records = _records(container, etags)
    assert [records[name]["state"] for name in NAMES] == ["submitted"] * 3
    assert [records[name]["run_id"] for name in NAMES] == [run.run_id for run in aml.accepted]
    assert [h["state"] for h in records["incoming/b.csv"]["history"]] == [
        "claimed", "waiting", "reopened", "taken over from failed", "claimed", "submitted"]


def test_a_run_event_writes_the_outcome_of_the_trigger_its_end_starts_within_event_grids_30_s(
        app_env, aml, tmp_path, monkeypatch):
    """Every ledger write the event makes is bounded so that it ends before Event Grid counts the event unanswered:
    its deadline plus the run event's own settle grace, not the submission's 20 s (25 + 20 = 45 s before)."""
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    for name in NAMES[:2]:
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
        trigger_blob(name)
    ends: list[float] = []
    settle = Ledger.settle

    def bounded_settle(self: Ledger, *args: object, within: float | None = None, **outcome: object) -> object:
        ends.append(time.monotonic() + (within if within is not None else float("inf")))
        return settle(self, *args, within=within, **outcome)

    monkeypatch.setattr(Ledger, "settle", bounded_settle)
    started = time.monotonic()
    end_run(aml, 0)

    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]
    assert ends and max(ends) - started <= EVENT_GRID_ANSWER_SECONDS, [end - started for end in ends]


def test_max_active_runs_1_with_3_triggers_under_latest_starts_only_the_newest_and_records_the_other_superseded(
        app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1, max_active_runs_policy="latest")
    container = app_env["WATCH_CONTAINER"]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in NAMES}

    decisions = [trigger_blob(name) for name in NAMES]

    assert [d.outcome.value for d in decisions] == ["submitted", "waiting", "waiting"]
    records = _records(container, etags)
    assert [records[name]["state"] for name in NAMES] == ["submitted", "skipped", "waiting"]
    c_record = "rules/capped/" + records["incoming/c.csv"]["key"] + ".json"
    assert records["incoming/b.csv"]["reason"] == (
        f"superseded by a newer trigger ({c_record}) while max_active_runs was reached (policy latest)")
    assert records["incoming/b.csv"]["superseded"] is True
    assert trigger_blob("incoming/b.csv").outcome.value == "duplicate"

    end_run(aml, 0)
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/c.csv"]
    end_run(aml, 1)
    assert len(aml.accepted) == 2
    assert _records(container, etags)["incoming/c.csv"]["state"] == "submitted"


def test_concurrent_triggers_take_no_more_slots_than_the_limit_and_each_starts_once(
        app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=2)
    container = app_env["WATCH_CONTAINER"]
    names = [f"incoming/{index}.csv" for index in range(6)]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in names}
    start = threading.Barrier(len(names))
    outcomes: list[str] = []

    def deliver(name: str) -> None:
        start.wait()
        outcomes.append(trigger_blob(name).outcome.value)

    threads = [threading.Thread(target=deliver, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["submitted"] * 2 + ["waiting"] * 4
    assert len(aml.accepted) == 2
    for index in range(6):
        end_run(aml, index)
    assert sorted(triggered_blobs(aml)) == sorted(names)
    assert {record["state"] for record in _records(container, etags).values()} == {"submitted"}


def test_a_waiting_trigger_whose_start_crashed_is_started_once_by_the_fallback(app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in NAMES[:2]}
    [trigger_blob(name) for name in NAMES[:2]]

    end_and_crash(aml, monkeypatch)
    assert len(aml.accepted) == 1
    assert _records(container, etags)["incoming/b.csv"]["state"] == "failed"
    end_run(aml, 0)  # the ended run's event again: its run already ended, nothing starts
    assert len(aml.accepted) == 1

    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)  # the fallback's tick

    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]
    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)
    assert trigger_blob("incoming/b.csv").outcome.value == "duplicate"
    assert len(aml.accepted) == 2


def test_explain_shows_the_limit_the_runs_holding_it_and_what_waits(app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in NAMES}
    [trigger_blob(name) for name in NAMES[:2]]
    records = _records(container, etags)
    record = {name: f"rules/capped/{found['key']}.json" for name, found in records.items() if found}

    [shown] = explain(build_services(os.environ), blob="incoming/c.csv")["rules"]

    assert shown["outcome"] == "would wait"
    assert shown["max_active_runs"] == {
        "limit": 1, "policy": "queue", "active": [record["incoming/a.csv"]], "waiting": [record["incoming/b.csv"]],
        "free": False, "describes": "at most 1 active run; more triggers queue"}


def test_a_schedule_with_max_active_runs_1_waits_while_its_run_is_active(app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY, max_active_runs=1)])

    decisions = [fire_at("daily", day) for day in range(2)]

    assert [d.outcome.value for d in decisions] == ["submitted", "waiting"]
    assert len(aml.accepted) == 1
    end_run(aml, 0)
    assert _occurrences(aml) == [
        "2026-11-02T02:00:00Z", "2026-11-03T02:00:00Z"]


@pytest.mark.parametrize(("limit", "problem"), [
    ({"max_active_runs": 0}, "rules[0].max_active_runs = 0: a positive whole number"),
    ({"max_active_runs": "2"}, "rules[0].max_active_runs = '2': a positive whole number"),
    ({"max_active_runs": True}, "rules[0].max_active_runs = True: a positive whole number"),
    ({"max_active_runs": 1.5}, "rules[0].max_active_runs = 1.5: a positive whole number"),
    ({"max_active_runs": 1, "max_active_runs_policy": "fifo"},
     "rules[0].max_active_runs_policy = 'fifo': queue (waiting triggers start in order as runs end) or latest"),
    ({"max_active_runs_policy": "queue"}, "rules[0].max_active_runs_policy = 'queue': only with max_active_runs"),
])
def test_a_bad_max_active_runs_is_refused_by_the_schema_and_the_loader_naming_it(tmp_path, limit, problem):
    document = {"rules": [{"name": "capped", "target": {"url": "https://example.azureml.net/pipelines/p"},
                           "experiment": "e", **limit}]}
    assert schema_errors(document)
    with pytest.raises(ConfigError) as refused:
        load(document, tmp_path)
    assert problem in str(refused.value)


def test_no_max_active_runs_keeps_no_gate_and_every_trigger_starts(app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch)
    container = app_env["WATCH_CONTAINER"]
    for name in NAMES:
        upload(container, name, SAMPLE_CSV)

    assert [trigger_blob(name).outcome.value for name in NAMES] == ["submitted"] * 3
    ledger = build_services(os.environ).ledger
    assert ledger.read("gates/rules/capped.json") is None


def test_a_waiting_trigger_whose_start_crashed_is_started_once_by_its_own_redelivery(app_env, aml, tmp_path,
                                                                                      monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    for name in NAMES[:2]:
        upload(container, name, SAMPLE_CSV)
        trigger_blob(name)
    end_and_crash(aml, monkeypatch)

    assert trigger_blob("incoming/b.csv").outcome.value == "submitted"  # its turn: the slot is free, it is first
    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]


def test_a_run_whose_end_was_written_but_whose_slot_was_not_freed_frees_it_on_the_fallbacks_tick(
        app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    for name in NAMES[:2]:
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
        trigger_blob(name)

    def killed(*args: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patched:  # the process dies right after the write that ended the run
        patched.setattr(run_outcomes, "_turn_over", killed)
        with pytest.raises(SystemExit):
            end_run(aml, 0)
    assert triggered_blobs(aml) == ["incoming/a.csv"]  # the slot is still held: b still waits

    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)

    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]


def test_a_limit_added_while_a_run_is_open_counts_that_run_found_by_its_open_tag(app_env, aml, tmp_path,
                                                                                  monkeypatch):
    capped_rule(tmp_path, monkeypatch)
    for name in NAMES[:2]:
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
    assert trigger_blob("incoming/a.csv").outcome.value == "submitted"  # no limit yet: no gate
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)

    assert (trigger_blob("incoming/b.csv").outcome.value, triggered_blobs(aml)) == ("waiting", ["incoming/a.csv"])
    end_run(aml, 0)
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]


def test_the_gate_queues_by_first_claim_time_and_a_trigger_asking_again_keeps_its_one_place():
    limit = RunLimit(1)
    gate, first = admit(Gate(), limit, "r/a.json", "2026-12-01T10:00:00.000Z")
    gate, late = admit(gate, limit, "r/c.json", "2026-12-01T10:00:02.000Z")
    gate, early = admit(gate, limit, "r/b.json", "2026-12-01T10:00:01.000Z")  # claimed before c, decided after
    again, repeated = admit(gate, limit, "r/c.json", "2026-12-01T10:00:09.000Z")

    assert (first.go, late.position, early.position, repeated.position) == (True, 1, 1, 2)
    assert [entry.record for entry in gate.waiting] == ["r/b.json", "r/c.json"] and again == gate
    freed = gate.released("r/a.json")
    assert freed.next_up(limit) == "r/b.json"
    assert admit(freed, limit, "r/c.json", "2026-12-01T10:00:02.000Z")[1].go is False  # b's turn, not c's
    assert admit(freed, limit, "r/b.json", "2026-12-01T10:00:01.000Z")[1].go is True


def test_the_gate_under_latest_keeps_the_newest_and_an_older_trigger_arriving_late_is_itself_superseded():
    limit = RunLimit(1, "latest")
    gate, _ = admit(Gate(), limit, "r/a.json", "2026-12-01T10:00:00.000Z")
    gate, _ = admit(gate, limit, "r/b.json", "2026-12-01T10:00:01.000Z")
    gate, newer = admit(gate, limit, "r/c.json", "2026-12-01T10:00:02.000Z")
    gate, older = admit(gate, limit, "r/x.json", "2026-12-01T10:00:01.500Z")  # a crash recovery, decided late

    assert (newer.superseded, newer.kept) == (("r/b.json",), "r/c.json")
    assert (older.go, older.superseded, older.kept) == (False, ("r/x.json",), "r/c.json")
    assert gate == Gate(("r/a.json",), (Waiting("r/c.json", "2026-12-01T10:00:02.000Z"),))
    assert Gate.from_json(gate.to_json()) == gate


def test_a_run_refused_for_good_frees_its_slot_for_the_next_trigger(app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    for name in NAMES[:2]:
        upload(container, name, SAMPLE_CSV)
    aml.inject(Respond(400, code="UserError", message="bad parameter"))

    assert [trigger_blob(name).outcome.value for name in NAMES[:2]] == ["failed", "submitted"]
    assert triggered_blobs(aml) == ["incoming/b.csv"]


def test_a_schedule_occurrence_left_failed_for_now_is_started_once_by_the_fallback_and_frees_its_slot_after(
        app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY, max_active_runs=1)])
    aml.always = Respond(503)  # every attempt of the first occurrence, until its timer's retries are used up
    with pytest.raises(TriggerError):
        fire_at("daily", 0)
    aml.always = None
    assert fire_at("daily", 1).outcome.value == "waiting"  # the failed occurrence still holds the one slot
    assert aml.accepted == []

    _ticks_start_the_holder_once_then_its_end_the_next(aml, build_services(os.environ))  # no event will come


def test_a_schedule_occurrence_killed_between_its_slot_and_its_post_is_started_once_by_the_fallback_after_expiry(
        app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY, max_active_runs=1)])
    crashed = build_services(os.environ)
    crashed.ledger = Ledger(crashed.ledger.container, claim_expiry=0)  # an owner dying with an instantly stale claim

    def killed(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(crashed.submitter, "submit", killed)
    with pytest.raises(SystemExit):  # the slot is taken, the record still claimed: no timer retry follows a kill
        fire_at("daily", 0, services=crashed)
    assert fire_at("daily", 1).outcome.value == "waiting"
    fallback = build_services(os.environ)
    poll_open_runs(fallback, budget=60, max_runs=10)  # within this machine's clock margin: judged live still
    assert aml.accepted == []
    fallback.clock = SettableClock(ahead=timedelta(seconds=CLOCK_MARGIN + 1)).clock

    _ticks_start_the_holder_once_then_its_end_the_next(aml, fallback)


def test_a_trigger_waiting_when_max_active_runs_is_removed_is_started_once_by_the_fallbacks_tick(
        app_env, aml, tmp_path, monkeypatch):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    for name in NAMES[:2]:
        upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
    assert [trigger_blob(name).outcome.value for name in NAMES[:2]] == ["submitted", "waiting"]
    capped_rule(tmp_path, monkeypatch)  # the limit is removed from the configuration
    end_run(aml, 0)  # no limit: the run's end looks at no gate

    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)
    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)

    assert trigger_blob("incoming/b.csv").outcome.value == "duplicate"
    assert triggered_blobs(aml) == ["incoming/a.csv", "incoming/b.csv"]
    assert Gate.from_json(build_services(os.environ).ledger.read("gates/rules/capped.json")[0]).waiting == ()


def test_a_schedule_occurrence_waiting_when_max_active_runs_is_removed_is_started_once_by_the_fallbacks_tick(
        app_env, aml, tmp_path, monkeypatch):
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY, max_active_runs=1)])
    assert [fire_at("daily", day).outcome.value for day in range(2)] == ["submitted", "waiting"]
    write_rules(tmp_path, monkeypatch, [schedule("daily", cron=DAILY)])
    end_run(aml, 0)

    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)
    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)

    assert fire_at("daily", 1).outcome.value == "duplicate"
    assert _occurrences(aml) == [
        "2026-11-02T02:00:00Z", "2026-11-03T02:00:00Z"]


def test_a_trigger_waiting_at_a_rule_removed_from_the_configuration_is_left_waiting_and_logged_by_the_fallback(
        app_env, aml, tmp_path, monkeypatch, caplog):
    capped_rule(tmp_path, monkeypatch, max_active_runs=1)
    container = app_env["WATCH_CONTAINER"]
    etags = {name: upload(container, name, SAMPLE_CSV) for name in NAMES[:2]}
    assert [trigger_blob(name).outcome.value for name in NAMES[:2]] == ["submitted", "waiting"]
    rules = {"rules": [{"name": "other", "prefix": "elsewhere/", "target": {"url": "%AML_PIPELINE_URL%"},
                        "experiment": "other-runs"}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules))  # the limited rule is gone altogether
    caplog.set_level(logging.WARNING, logger="aml_trigger")

    poll_open_runs(build_services(os.environ), budget=60, max_runs=10)

    waiting = _records(container, etags)["incoming/b.csv"]
    assert waiting["state"] == "waiting"
    [line] = [line for line in decision_lines(caplog) if "gate" in line]
    assert (line["problem"], line["gate"], line["waiting"]) == (
        "a gate's rule or schedule is not in the configuration: its waiting triggers are left as they are",
        "gates/rules/capped.json", [f"{waiting['namespace']}/{waiting['key']}.json"])
    assert triggered_blobs(aml) == ["incoming/a.csv"]
