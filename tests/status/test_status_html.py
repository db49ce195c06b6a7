"""The status page's HTML, pinned whole: every section, table, form and label the page renders from plain values,
as a browser and a screen reader receive it (tests/golden/status_page_*.html). A change to the markup shows here
as a diff of the page; to make one on purpose, rewrite the golden files with ``python -m
tests.status.test_status_html`` and review that diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.core.status.status_html import View, page

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parents[1] / "golden"

FULL = View(
    health=(False, {
        "configuration": {"ok": True, "rules": 2, "schedules": 1},
        "ledger": {"ok": True},
        "watched_container": {"ok": False, "error": "403 <AuthorizationFailure>"},
        "tokens": {"https://ml.azure.com/.default": {"ok": False, "error": "no identity"}},
    }),
    filters={"owner": "rule:machines", "state": "failed", "since": "2026-12-01T00:00:00Z",
             "until": "2026-12-02T00:00:00Z"},
    owners=["rule:machines", "schedule:nightly"], states=["completed", "failed", "failed for now"],
    rules=[{"name": "machines", "prefix": "incoming/", "suffix": ".csv", "kind": "pipeline_endpoint",
            "host": "westeurope.api.azureml.ms", "day": {"completed": 2, "running": 1, "failed": 1}, "week": {},
            "last_run": "2026-12-01T10:00:00Z"}],
    schedules=[{"name": "nightly", "expression": "0 0 2 * * *", "next": ["2026-12-02T02:00:00Z",
                                                                         "2026-12-03T02:00:00Z"],
                "last_occurrence": "2026-12-01T02:00:00Z", "last_outcome": "submitted", "enabled": True},
               {"name": "weekly", "expression": "0 0 3 * * 1", "next": [], "last_occurrence": None,
                "last_outcome": None, "enabled": False}],
    runs=[{"record": "rules/machines/a.json", "time": "2026-12-01T10:00:00Z", "owner": "rule:machines",
           "blob": "incoming/a.csv", "state": "failed", "outcome": "failed for now", "run_status": None,
           "duration": None,
           "run_url": "http://ml.azure.com/runs/1", "attempts": 3, "error": "503 from Azure ML"},
          {"record": "schedules/nightly/b.json", "time": "2026-12-01T02:00:00Z", "owner": "schedule:nightly",
           "state": "rejected", "outcome": "rejected", "error": {"message": "no données", "code": "UserError"}},
          {"record": "rules/machines/c.json", "time": "2026-12-01T09:00:00Z", "owner": "rule:machines",
           "blob": "incoming/c.csv", "state": "submitted", "outcome": "completed", "run_status": "completed",
           "duration": "3 min 5 s",
           "run_url": "https://ml.azure.com/runs/2?wsid=/subscriptions/s", "attempts": 1}],
    page=2, pages=3, matched=53, csrf="token-1",
    explained={"blob": "incoming/d.csv", "outcome": "would submit", "rules": [
        {"rule": "machines", "matches": True, "outcome": "would submit", "request": {"ExperimentName": "expérience",
                                                                                      "DataPathAssignments": {}}},
        {"rule": "other", "matches": False, "reason": "prefix other/ does not match"},
        {"rule": "copy", "matches": True, "outcome": "would submit", "request": {"ExperimentName": "copy"}}]},
    explain_blob="incoming/d.csv",
    sweeps=[{"started_at": "2026-12-01T03:00:00Z", "missing": 2, "processed": 2, "left_for_next_sweep": 0,
             "outcomes": {"submitted": 2}, "errors": ["one", "two"]},
            {"started_at": "2026-11-30T03:00:00Z", "missing": 0, "processed": 0, "left_for_next_sweep": 0}],
    notice="1 record reopened", notice_ok=False, retry_off_reason="shown only when Retry is off",
    per_day=[("2026-11-30", {"completed": 3, "failed": 1, "canceled": 1}),
             ("2026-12-01", {"running": 2, "starting": 1, "waiting": 1, "failed for now": 1})],
    as_of="runs read from the records now; counts as of 10:31:02 UTC, caught up by this view (the timer had not in "
          "120 s)")
"""Every part of the page: a failing check, enabled and disabled schedules, a middle page, Retry forms (a blob's
and a schedule's), an https studio link and an http one (not linked), an explained blob, two sweeps, runs per day
by outcome (seven outcomes: the legend's second row) and when the counts are from."""

BARE = View(health=(True, {"configuration": {"ok": False, "problems": ["rules.json: rules[0].name = 'a b': a name"]},
                           "tokens": {"https://ml.azure.com/.default": {"ok": True}}}),
            owners=["rule:machines"], page=1, pages=1,
            retry_off_reason="Retry is off: no STATUS_PAGE_SECRET is set", notice="filters cleared")
"""A read-only page with nothing in it yet: each table's empty text, a first and only page, an ok notice, and the
configuration's problems in place of its summary."""

WATCHING = View(
    health=(True, {"configuration": {"ok": True, "rules": 1, "schedules": 0}, "ledger": {"ok": True},
                   "dead_letters": {"container": "dead-letters", "waiting": 4},
                   "freshness": [{"rule": "machines", "folder": None, "deadline": "0 0 6 * * *", "min_files": 2,
                                  "verdict": "overdue", "last_deadline": "2026-12-01T06:00:00Z", "files": 0,
                                  "since": "2026-11-30T06:00:00Z"},
                                 {"rule": "machines", "folder": "daily/", "deadline": "0 30 7 * * 1-5",
                                  "min_files": 1, "verdict": "arrived", "last_deadline": "2026-12-01T07:30:00Z",
                                  "files": 3, "since": "2026-11-30T07:30:00Z"},
                                 {"rule": "late <b>", "folder": "x/", "deadline": "0 0 8 * * *", "min_files": 1}]}),
    rules=FULL.rules, durations=[("rules/machines/a.json", 65.0), ("rules/machines/c.json", 3725.5)])
"""A healthy page watching its data: freshness expectations (overdue, arrived, not yet decided; the whole rule and
a folder), dead-lettered events waiting, and the durations chart."""

DEAD_LETTERS_UNREAD = View(health=(True, {
    "configuration": {"ok": True}, "freshness": [],
    "dead_letters": {"container": "dead-letters", "error": "ServiceRequestError"}}))
"""The dead-letter container could not be listed: the row says why in place of a count; no expectations, no
section."""

FRESHNESS_UNREAD = View(health=(True, {
    "configuration": {"ok": True}, "ledger": {"ok": True},
    "freshness": [{"rule": "daily", "folder": "", "deadline": "0 0 6 * * *", "min_files": 1,
                   "error": "UnreadableRecord: freshness state freshness/daily/k.json is not valid JSON "
                            "(Expecting value at line 1 column 1)"}]}))
"""An expectation's state could not be read: its row shows the error in place of a verdict, marked as failing."""

VIEWS = {"full": FULL, "freshness_unread": FRESHNESS_UNREAD, "bare": BARE,
         "watching": WATCHING, "dead_letters_unread": DEAD_LETTERS_UNREAD,
         "refused": View(notice="the status page needs a function key"),
         "no_report": View(health=(False, {})),
         "nothing_explained": View(owners=["rule:machines"], explained={"blob": "x.txt", "outcome": "no rule"}),
         "rules_only": View(rules=FULL.rules)}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_the_page_is_exactly_the_golden_html(name):
    assert page(VIEWS[name]) == (GOLDEN / f"status_page_{name}.html").read_text(encoding="utf-8")


if __name__ == "__main__":
    for view_name, view in VIEWS.items():
        (GOLDEN / f"status_page_{view_name}.html").write_text(page(view), encoding="utf-8")
