"""Backfill's words (shared/core/backfill/backfill.py): a listed version's line, the report's one-line summary and
its JSON, and the refusals of a bad window or rerun label, exactly as users read them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.backfill.backfill import (
    RERUNNABLE,
    BackfillReport,
    Candidate,
    Rerun,
    Standing,
    Window,
    rerun,
    rerun_label,
    rerun_outcomes,
    standing,
)
from shared.core.common.errors import InvalidInput
from shared.core.ledger.ledger_record import LedgerRecord, Outcome

pytestmark = pytest.mark.unit
T = datetime(2026, 11, 1, 2, tzinfo=UTC)


def test_a_candidates_line_says_what_a_backfill_would_do_with_it() -> None:
    lines = [Candidate("in/a.csv", "0x1", T, Standing.NEVER_SEEN).line(),
             Candidate("in/b.csv", "0x2", T, Standing.LEFT_OPEN, rerun="fix").line(),
             Candidate("in/c.csv", "0x3", T, Standing.ALREADY_RUN).line(),
             Candidate("in/d.csv", "0x4", T, Standing.IN_HAND, rerun="fix").line(),
             Candidate("in/e.csv", "0x5", T, Standing.ALREADY_RUN, outcome=Outcome.REJECTED).line(),
             Candidate("in/f.csv", "0x6", T, Standing.NEVER_SEEN, rerun="fix", outcome=Outcome.FAILED).line()]
    assert lines == ["would run    2026-11-01T02:00:00Z  in/a.csv  (0x1, never seen)",
                     "would rerun  2026-11-01T02:00:00Z  in/b.csv  (0x2, left open)",
                     "skip         2026-11-01T02:00:00Z  in/c.csv  (0x3, already run)",
                     "skip         2026-11-01T02:00:00Z  in/d.csv  (0x4, in hand)",
                     "skip         2026-11-01T02:00:00Z  in/e.csv  (0x5, already run: rejected)",
                     "would rerun  2026-11-01T02:00:00Z  in/f.csv  (0x6, already run: failed; rerun fix: never seen)"]


def _report(**fields: object) -> BackfillReport:
    report = BackfillReport(rule="daily", since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z", run=True,
                            listing_pages=2, blobs_listed=7, in_window=5, to_run=3,
                            standings=Counter({"never seen": 3, "already run": 2}))
    for name, value in fields.items():
        setattr(report, name, value)
    return report


def test_a_dry_runs_summary_says_what_would_run_and_that_nothing_was_sent() -> None:
    assert _report(run=False).summary() == (
        "backfill daily [2026-11-01T00:00:00Z, 2026-11-02T00:00:00Z): listed 7 blobs in 2 listing pages; 5 versions "
        "in the window (2 already run; 3 never seen); dry run: 3 would run, nothing sent")
    assert _report(run=False, standings=Counter()).summary().endswith(
        "5 versions in the window (none); dry run: 3 would run, nothing sent")


def test_a_summary_says_how_the_runs_of_the_versions_that_already_ran_ended_and_what_a_rerun_takes() -> None:
    ended = Counter({"rejected": 8, "completed": 380, "failed": 12})
    report = _report(run=False, in_window=600, to_run=220, already_run=ended,
                     standings=Counter({"never seen": 200, "already run": 400}))
    assert report.summary().endswith(
        "600 versions in the window (400 already run: 380 completed, 12 failed, 8 rejected; 200 never seen); dry "
        "run: 220 would run, nothing sent")
    report.rerun, report.rerun_outcomes, report.reruns = "fix-1", ["failed", "rejected"], 20
    assert report.summary().endswith(
        "(400 already run: 380 completed, 12 failed, 8 rejected; 200 never seen); rerun fix-1 of failed, rejected: "
        "20 versions; dry run: 220 would run, nothing sent")


def test_a_runs_summary_counts_outcomes_what_is_left_and_why_it_stopped() -> None:
    stopped = _report(processed=2, outcomes=Counter({"submitted": 1, "duplicate": 1}), stopped="run cap reached")
    assert stopped.summary() == (
        "backfill daily [2026-11-01T00:00:00Z, 2026-11-02T00:00:00Z): listed 7 blobs in 2 listing pages; 5 versions "
        "in the window (2 already run; 3 never seen); 2 of 3 processed: 1 duplicate, 1 submitted; 1 left; "
        "stopped: run cap reached")
    assert _report().summary().endswith("; 0 of 3 processed: nothing; 3 left")


def test_a_reports_json_carries_every_field_its_counts_and_what_is_left() -> None:
    report = _report(rerun="fix", rerun_outcomes=["rejected"], reruns=2, processed=1,
                     outcomes=Counter({"submitted": 1}), errors=["x"], already_run=Counter({"rejected": 2}))
    assert report.as_dict() == {
        "rule": "daily", "since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z", "run": True,
        "rerun": "fix", "rerun_outcomes": ["rejected"], "reruns": 2, "already_run": {"rejected": 2},
        "listing_pages": 2, "blobs_listed": 7, "in_window": 5, "to_run": 3, "processed": 1,
        "errors": ["x"], "stopped": None, "standings": {"never seen": 3, "already run": 2},
        "outcomes": {"submitted": 1}, "left": 2, "in_hand": 0, "retry_after": None}


def test_a_window_needs_both_ends_zoned() -> None:
    with pytest.raises(InvalidInput) as raised:
        Window(T, (T + timedelta(days=1)).replace(tzinfo=None))
    assert str(raised.value) == "since and until must name their time zone (e.g. 2026-11-22T02:00:00Z)"


def test_a_rerun_label_is_short_and_plain_and_a_bad_one_is_refused_saying_so() -> None:
    assert rerun_label("A") == "A" and rerun_label("fix_2.b-" + "x" * 32) == "fix_2.b-" + "x" * 32
    for bad in ("", "-fix", "fix 1", "x" * 41, "fix/1"):
        with pytest.raises(InvalidInput) as raised:
            rerun_label(bad)
        assert str(raised.value) == (f"rerun label {bad[:60]!r} must be 1 to 40 letters, digits, '.', '_' or '-', "
                                     "starting with a letter or digit")
    with pytest.raises(InvalidInput, match=f"rerun label {'y' * 60!r} must"):
        rerun_label("y" * 70)


def test_a_claim_past_its_expiry_by_less_than_the_clock_margin_is_still_in_hand() -> None:
    claimed = LedgerRecord.from_metadata({"state": "claimed"})
    assert standing(claimed, 602, expiry=600, margin=5) is Standing.IN_HAND
    assert standing(claimed, 605, expiry=600, margin=5) is Standing.LEFT_OPEN


CHOICES = ("canceled, completed, failed, rejected, running, skipped, waiting (the status page's outcomes of a run "
           "that already ran)")


def test_a_rerun_takes_every_outcome_of_a_version_that_already_ran_unless_limited() -> None:
    assert {outcome.value for outcome in RERUNNABLE} == {"completed", "failed", "canceled", "rejected", "skipped",
                                                         "running", "waiting"}
    assert rerun(None, None) is None
    assert rerun("fix-1", None) == Rerun("fix-1", RERUNNABLE)
    limited = rerun("fix-1", ["rejected", "failed", "rejected"])
    assert limited == Rerun("fix-1", frozenset({Outcome.REJECTED, Outcome.FAILED}))
    assert limited is not None and limited.words == ["failed", "rejected"]
    assert [limited.covers(outcome) for outcome in (Outcome.FAILED, Outcome.REJECTED, Outcome.COMPLETED, None)] == [
        True, True, False, False]


@pytest.mark.parametrize("words, named", [
    (["faild"], "'faild'"),
    (["rejected", "failed for now", "starting"], "'failed for now', 'starting'"),
    ([["rejected"], 3], "['rejected'], 3"),
    (["x" * 70], repr("x" * 70)[:60]),
    ([], "no outcome"),
])
def test_a_rerun_limited_to_words_that_are_not_outcomes_of_a_settled_run_is_refused_naming_the_field(
        words: list[object], named: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rerun_outcomes(words, "--rerun-outcomes")
    assert str(raised.value) == f"--rerun-outcomes names {named}: name what became of the versions to run again, " \
                                f"some of {CHOICES}"


def test_outcomes_without_a_rerun_label_are_refused_naming_both_fields_as_the_user_named_them() -> None:
    with pytest.raises(InvalidInput) as cli:
        rerun(None, ["rejected"], names=("--rerun-completed", "--rerun-outcomes"))
    with pytest.raises(InvalidInput) as http:
        rerun(None, [])
    assert str(cli.value) == "--rerun-outcomes limits a rerun: give --rerun-completed too (the rerun's label)"
    assert str(http.value) == "rerun_outcomes limits a rerun: give rerun_completed too (the rerun's label)"
    with pytest.raises(InvalidInput, match="rerun label 'a b' must be"):
        rerun("a b", None)
    with pytest.raises(InvalidInput, match=r"^rerun_outcomes names 'x'"):
        rerun("fix", ["x"])
