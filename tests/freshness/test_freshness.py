"""Freshness expectations end to end: files delivered to a rule in Azurite (runs at the stand-in), a simulated clock
moved across deadlines, and the decision lines each deadline gets: once, whatever the number of checks."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlsplit

import pytest

from localdev.http_counter import counting_requests
from shared.clients.common.clock import Clock
from shared.clients.process.services import Services, build_services, process_services
from shared.core.backfill.backfill import Window
from shared.core.freshness.freshness import expectations
from shared.core.ledger.keys import arrival_tags, iso_ms
from shared.core.ledger.ledger_record import RunState, new_claim
from shared.core.ledger.subjects import BlobSubject
from shared.core.status.status_html import View, page
from shared.flows.backfill.backfill import backfill
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.freshness.freshness import check_freshness, freshness_report
from tests.support.batch import rules_file
from tests.support.decisions import outcome_lines
from tests.support.harness import run_together, upload
from tests.support.http import call
from tests.support.indexing import index_in_fresh_process
from tests.support.samples import SAMPLE_CSV

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)
FIRST_DEADLINE = datetime(2026, 12, 1, 6, tzinfo=UTC)
AFTER = timedelta(minutes=10)
"""When the test's ticks come after a deadline: past the submission deadline and settle grace (260 s by default)
a file that came just before it may take to be written down."""
FRESHNESS_OUTCOMES = ("arrived", "overdue", "arrived_late")


class SimulatedClock:
    """A settable wall clock, shared by the services and the ledger they write records with."""

    def __init__(self, now: datetime):
        self.now = now

    def services(self) -> Services:
        return build_services(os.environ, clock=Clock(now=lambda: self.now))


def daily_rule(aml, tmp_path, monkeypatch, *expectations: dict, **fields: object) -> None:
    rules_file(tmp_path, monkeypatch, [{**fields,
        "name": "daily", "prefix": "incoming/", "include_subfolders": True,
        "target": {"url": aml.published_pipeline_url()}, "experiment": "retrain",
        "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"},
        "freshness": list(expectations)}])
    process_services.cache_clear()


def arrive(clock: SimulatedClock, at: datetime, *names: str, outcome: str = "submitted") -> None:
    clock.now = at
    services = clock.services()
    for name in names:
        upload(services.config.watch_container, name, SAMPLE_CSV)
        [decision] = process_blob(services.watched.get_blob_client(name), services)
        assert decision.outcome.value == outcome


def freshness_lines(caplog) -> list[dict]:
    return [line for line in outcome_lines(caplog) if line["outcome"] in FRESHNESS_OUTCOMES]


def test_three_deadlines_arrived_overdue_and_a_late_file_resolving_it_each_logged_once(
        default_env, aml, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *", "min_files": 2})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    retry = clock.services().config.retry
    assert timedelta(seconds=retry.deadline + retry.settle_grace) < AFTER
    assert check_freshness(clock.services()) == []  # the first check only takes its baseline

    arrive(clock, FIRST_DEADLINE + timedelta(hours=4), "incoming/a.csv")
    arrive(clock, FIRST_DEADLINE + timedelta(hours=5), "incoming/sub/b.csv")
    clock.now = FIRST_DEADLINE + DAY + AFTER
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["arrived"]
    assert check_freshness(clock.services()) == []  # a timer firing twice decides nothing more

    arrive(clock, FIRST_DEADLINE + DAY + timedelta(hours=6), "incoming/c.csv")
    clock.now = FIRST_DEADLINE + 2 * DAY + AFTER
    first, second = run_together(lambda: check_freshness(clock.services()), lambda: check_freshness(clock.services()))
    assert sorted(len(found) for found in (first, second)) == [0, 1]  # two instances: one decision
    clock.now += timedelta(minutes=1)
    assert check_freshness(clock.services()) == []  # still one file: nothing new to say

    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=1), "incoming/d.csv")
    clock.now += timedelta(minutes=1)
    assert check_freshness(clock.services()) == []  # d.csv may be the next deadline's on-time file: not yet late data
    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=2), "incoming/e.csv", "incoming/f.csv")
    clock.now += timedelta(minutes=1)  # 4 files since 12-02: 2 for the deadline missed and 2 for the pending one
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["arrived_late"]
    assert check_freshness(clock.services()) == []

    assert freshness_lines(caplog) == [
        {"outcome": "arrived", "rule": "daily", "deadline": "2026-12-02T06:00:00Z", "since": "2026-12-01T06:00:00Z",
         "files": 2, "expected": 2,
         "reason": "2 new file(s) for the rule since 2026-12-01T06:00:00Z, 2 expected by 2026-12-02T06:00:00Z"},
        {"outcome": "overdue", "rule": "daily", "deadline": "2026-12-03T06:00:00Z", "since": "2026-12-02T06:00:00Z",
         "files": 1, "expected": 2,
         "reason": "only 1 new file(s) for the rule since 2026-12-02T06:00:00Z, 2 expected by 2026-12-03T06:00:00Z"},
        {"outcome": "arrived_late", "rule": "daily", "deadline": "2026-12-03T06:00:00Z",
         "since": "2026-12-02T06:00:00Z", "files": 4, "expected": 4,
         "reason": "4 new file(s) for the rule since 2026-12-02T06:00:00Z by 2026-12-03T08:01:00Z: the data due by "
                   "2026-12-03T06:00:00Z landed late"},
    ]
    assert [r.levelname for r in caplog.records if getattr(r, "aml_outcome", None) == "overdue"] == ["WARNING"]
    assert len(aml.accepted) == 6  # the check starts no run
    assert freshness_report(clock.services()) == [
        {"rule": "daily", "folder": "", "deadline": "0 0 6 * * *", "min_files": 2, "verdict": "arrived_late",
         "last_deadline": "2026-12-03T06:00:00Z", "since": "2026-12-02T06:00:00Z", "files": 4}]


def test_data_two_deadlines_late_resolves_each_overdue_deadline_oldest_first_once_every_file_is_in(
        default_env, aml, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *"})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    for day in (1, 2):
        clock.now = FIRST_DEADLINE + day * DAY + AFTER
        assert [d.outcome.value for d in check_freshness(clock.services())] == ["overdue"]

    # One file is not two days' data (it resolved both before: counted for three deadlines, 12-04's too).
    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=1), "incoming/a.csv")
    clock.now += timedelta(minutes=1)
    assert check_freshness(clock.services()) == []

    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=2), "incoming/b.csv", "incoming/c.csv")
    ticks = []
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        ticks.append([(d.outcome.value, d.deadline) for d in check_freshness(clock.services())])

    assert ticks == [[("arrived_late", "2026-12-02T06:00:00Z")], [("arrived_late", "2026-12-03T06:00:00Z")], []]
    assert [(line["files"], line["expected"], line["reason"]) for line in freshness_lines(caplog)][-2:] == [
        (3, 3, "3 new file(s) for the rule since 2026-12-01T06:00:00Z by 2026-12-03T08:01:00Z: the data due by "
               "2026-12-02T06:00:00Z landed late"),
        (3, 2, "3 new file(s) for the rule since 2026-12-02T06:00:00Z by 2026-12-03T08:02:00Z: the data due by "
               "2026-12-03T06:00:00Z landed late")]


def test_a_file_on_time_after_a_missed_deadline_is_its_own_deadlines_not_the_missed_ones_late_data(
        default_env, aml, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *"})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    clock.now = FIRST_DEADLINE + DAY + AFTER
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["overdue"]  # 12-02's export never came

    arrive(clock, FIRST_DEADLINE + DAY + timedelta(hours=1), "incoming/today.csv")  # 12-03's, on time
    clock.now += timedelta(minutes=1)
    assert check_freshness(clock.services()) == []
    clock.now = FIRST_DEADLINE + 2 * DAY + AFTER
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["arrived"]

    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=1), "incoming/late.csv")  # 12-02's, or 12-04's
    clock.now += timedelta(minutes=1)
    assert check_freshness(clock.services()) == []  # 2 files for 3 deadlines: one export is still missing
    arrive(clock, FIRST_DEADLINE + 2 * DAY + timedelta(hours=2), "incoming/next.csv")
    clock.now += timedelta(minutes=1)
    [late] = check_freshness(clock.services())
    assert (late.outcome.value, late.deadline, late.files, late.expected) == (
        "arrived_late", "2026-12-02T06:00:00Z", 3, 3)
    assert [(line["outcome"], line["deadline"]) for line in freshness_lines(caplog)] == [
        ("overdue", "2026-12-02T06:00:00Z"), ("arrived", "2026-12-03T06:00:00Z"),
        ("arrived_late", "2026-12-02T06:00:00Z")]


def test_a_backfill_of_older_files_after_an_overdue_counts_them_when_they_arrived_not_as_late_data(
        default_env, aml, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *"})
    upload(os.environ["WATCH_CONTAINER"], "incoming/last-month.csv", SAMPLE_CSV)
    written = build_services(os.environ).watched.get_blob_client("incoming/last-month.csv").get_blob_properties(
        ).last_modified
    month_later = written.replace(hour=6, minute=0, second=0, microsecond=0) + 30 * DAY
    clock = SimulatedClock(month_later + AFTER)  # a month after the file was written
    check_freshness(clock.services())
    clock.now += DAY
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["overdue"]

    clock.now += timedelta(hours=1)
    report, _ = backfill(clock.services(), rule="daily", window=Window(written - DAY, written + DAY), run=True)
    clock.now += timedelta(minutes=1)

    assert dict(report.outcomes) == {"submitted": 1} and len(aml.accepted) == 1
    assert check_freshness(clock.services()) == []  # a month-old file is no late arrival of today's data
    [record] = clock.services().ledger.container.list_blobs(name_starts_with="rules/daily/", include=["tags"])
    assert record.tags["aml_arrived"] == iso_ms(written)  # its Last-Modified: when it arrived
    assert [line["outcome"] for line in freshness_lines(caplog)] == ["overdue"]


def test_a_folder_expectation_counts_only_its_folders_files(default_env, aml, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *", "folder": "incoming/sales/"})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    arrive(clock, FIRST_DEADLINE + timedelta(hours=1), "incoming/other/a.csv", "incoming/sales/sub/b.csv")
    clock.now = FIRST_DEADLINE + DAY + AFTER
    [overdue] = check_freshness(clock.services())
    assert (overdue.outcome.value, overdue.folder, overdue.files) == ("overdue", "incoming/sales/", 0)
    arrive(clock, FIRST_DEADLINE + DAY + timedelta(hours=1), "incoming/other/c.csv", "incoming/sales/d.csv",
           "incoming/sales/e.csv")  # the missed deadline's and the pending one's
    [late] = check_freshness(clock.services())
    assert (late.outcome.value, late.files, late.reason) == (
        "arrived_late", 2, "2 new file(s) under 'incoming/sales/' since 2026-12-01T06:00:00Z by "
                           "2026-12-02T07:00:00Z: the data due by 2026-12-02T06:00:00Z landed late")


def test_a_quiet_window_rules_files_count_as_they_are_collected(default_env, aml, tmp_path, monkeypatch):
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *", "min_files": 2}, quiet_window={"seconds": 60},
               include_subfolders=False)
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    arrive(clock, FIRST_DEADLINE + timedelta(hours=1), "incoming/a.csv", "incoming/b.csv", outcome="collected")
    clock.now = FIRST_DEADLINE + DAY + AFTER
    [decision] = check_freshness(clock.services())
    assert (decision.outcome.value, decision.files, len(aml.received)) == ("arrived", 2, 0)  # no batch fired yet


def fill_history(services: Services, total: int, window_start: datetime) -> None:
    """``total`` settled records of rule ``daily``, tagged as the ledger tags them: all but 3 before the window."""
    container = services.ledger.container
    for index in range(total):
        at = window_start + timedelta(hours=1) if index < 3 else window_start - timedelta(minutes=index + 1)
        subject = BlobSubject(container="data", blob=f"incoming/{index:06d}.csv", etag="0x1")
        record = new_claim("rules/daily", f"{index:064x}", subject, "owner", iso_ms(at), 60).settled(
            RunState.SUBMITTED, iso_ms(at), {"run_id": f"run-{index}"})
        assert arrival_tags("rules/daily", subject.blob, iso_ms(at)).items() <= record.tags().items()
        container.get_blob_client(f"rules/daily/{index:064x}.json").upload_blob(
            json.dumps(record.to_json()).encode(), overwrite=True, tags=record.tags())


@pytest.mark.parametrize("expected, verdict", [(3, "arrived"), (4, "overdue")])
def test_a_check_costs_three_storage_requests_over_1000_records(default_env, aml, tmp_path, monkeypatch,
                                                                 expected, verdict):
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *", "min_files": expected})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    fill_history(clock.services(), 1000, FIRST_DEADLINE)
    clock.now = FIRST_DEADLINE + DAY + AFTER
    services = clock.services()
    services.ledger.container  # noqa: B018 -- the container exists: a process asks that once, not per check
    with counting_requests() as sent:
        [decision] = check_freshness(services)
    assert (decision.outcome.value, decision.files) == (verdict, 3)
    storage = urlsplit(services.ledger.container.url).netloc
    assert sent == {storage: 3, f"GET {storage}": 2, f"PUT {storage}": 1}  # the state, the count; the new state


def test_an_overdue_deadline_is_shown_by_health_and_on_the_status_page(default_env, aml, identity, tmp_path,
                                                                        monkeypatch):
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *", "folder": "incoming/"})
    clock = SimulatedClock(FIRST_DEADLINE + AFTER)
    check_freshness(clock.services())
    clock.now += DAY
    assert [d.outcome.value for d in check_freshness(clock.services())] == ["overdue"]

    code, report = call("http_health", "GET")
    shown = {"rule": "daily", "folder": "incoming/", "deadline": "0 0 6 * * *", "min_files": 1, "verdict": "overdue",
             "last_deadline": "2026-12-02T06:00:00Z", "since": "2026-12-01T06:00:00Z", "files": 0}
    assert (code, report["freshness"]) == (200, [shown])  # late data is shown; the app itself is healthy
    html = page(View(health=(True, report)))
    assert ('<tr><td>daily</td><td>incoming/</td><td><code>0 0 6 * * *</code></td><td>1</td>'
            '<td>2026-12-02T06:00:00Z</td><td><span class="bad">overdue</span></td><td>0</td>'
            '<td>2026-12-01T06:00:00Z</td></tr>') in html


def test_an_unreadable_state_is_reported_for_its_expectation_by_health_the_status_page_and_the_timer_which_goes_on(
        default_env, aml, identity, tmp_path, monkeypatch, caplog):
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *"}, {"deadline": "0 0 7 * * *"})
    clock = SimulatedClock(FIRST_DEADLINE + timedelta(hours=1) + AFTER)
    check_freshness(clock.services())  # both baselines
    services = clock.services()
    broken, _ = expectations(services.config.rules)
    services.ledger.container.upload_blob(broken.state_name, b"{garbage", overwrite=True)

    clock.now += DAY
    assert [(d.outcome.value, d.deadline) for d in check_freshness(clock.services())] == [
        ("overdue", "2026-12-02T07:00:00Z")]  # the later expectation is decided all the same
    problem = (f"UnreadableRecord: freshness state {broken.state_name} is not valid JSON (Expecting property name "
               "enclosed in double quotes at line 1 column 2)")
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.ERROR] == [
        ("ERROR", f"freshness check of {broken.state_name} not made (tried again next minute): {problem}")]

    code, report = call("http_health", "GET")
    assert (code, report["freshness"][0]) == (200, {"rule": "daily", "folder": "", "deadline": "0 0 6 * * *",
                                                    "min_files": 1, "error": problem})
    assert report["freshness"][1]["verdict"] == "overdue"
    assert f'<td><span class="bad">{escape(problem)}</span></td>' in page(View(health=(True, report)))


def test_the_freshness_timer_is_registered_only_when_a_rule_has_an_expectation(app_env, aml, tmp_path, monkeypatch):
    daily_rule(aml, tmp_path, monkeypatch, {"deadline": "0 0 6 * * *"})
    functions = json.loads(index_in_fresh_process().stdout.splitlines()[-1])
    assert functions["check_freshness"]["bindings"] == [
        {"direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "0 * * * * *",
         "runOnStartup": False, "useMonitor": False}]
    daily_rule(aml, tmp_path, monkeypatch)
    assert "check_freshness" not in json.loads(index_in_fresh_process().stdout.splitlines()[-1])
