"""The typed ledger record and its one verdict rule, without storage: the claim path and the sweep judge alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.core.ledger.keys import RecordName, active_owner, arrival_tags, freshness_folder_key
from shared.core.ledger.ledger_record import (
    SETTLED_OUTCOMES,
    LedgerRecord,
    Outcome,
    RunState,
    Verdict,
    new_claim,
    verdict,
)
from shared.core.ledger.subjects import BlobSubject

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "ledger_records.json").read_text("utf-8"))


@pytest.mark.parametrize(("state", "retryable", "outcome_unknown", "age", "expected"), [
    ("submitted", False, False, 0, Verdict.SETTLED),
    ("rejected", False, False, 999, Verdict.SETTLED),
    ("skipped", False, False, 999, Verdict.SETTLED),
    ("failed", False, True, 999, Verdict.SETTLED),  # failed for good: final, whatever it may have started
    ("failed", True, False, 0, Verdict.TAKE_OVER),  # failed for now, nothing started: at once, no lookup
    ("failed", True, True, 0, Verdict.ABANDONED),  # its POST may have started a run: look it up first
    ("claimed", False, False, 59.9, Verdict.LIVE),
    ("claimed", False, False, 60, Verdict.ABANDONED),  # a claim is abandoned the moment it expires
])
def test_the_verdict_table_names_what_to_do_with_each_record(state, retryable, outcome_unknown, age, expected):
    assert verdict(state, retryable, outcome_unknown, age, expiry=60) is expected


def test_a_claim_judged_on_another_clock_is_live_until_its_expiry_and_the_margin_pass():
    assert verdict("claimed", False, False, 64.9, expiry=60, margin=5) is Verdict.LIVE
    assert verdict("claimed", False, False, 65, expiry=60, margin=5) is Verdict.ABANDONED


def test_only_a_take_over_or_an_abandoned_record_needs_work():
    assert {judged for judged in Verdict if judged.needs_work} == {Verdict.ABANDONED, Verdict.TAKE_OVER}


@pytest.mark.parametrize("kind", sorted(GOLDEN))
def test_every_stored_kind_of_record_round_trips_exactly_with_its_metadata(kind):
    stored = GOLDEN[kind]
    record = LedgerRecord.from_json(stored["record"])
    assert record.to_json() == stored["record"]
    assert record.metadata() == stored["metadata"]


def test_keys_this_code_does_not_know_are_kept_so_a_newer_writer_loses_nothing():
    newer = {**GOLDEN["submitted"]["record"], "schema": 2, "batch": {"id": "b-1"}, "note": None}
    assert LedgerRecord.from_json(newer).to_json() == newer


def test_the_sweep_and_the_claim_path_judge_a_record_alike_from_its_metadata_or_its_json():
    for stored in GOLDEN.values():
        from_json = LedgerRecord.from_json(stored["record"]).judged(61, default_expiry=30)
        from_listing = LedgerRecord.from_metadata(stored["metadata"]).judged(61, default_expiry=30)
        assert from_listing.needs_work == from_json.needs_work and (from_listing is Verdict.SETTLED) == (
            from_json is Verdict.SETTLED)


def test_a_record_that_names_its_own_expiry_is_judged_by_it_not_by_the_default():
    claim = LedgerRecord.from_json(GOLDEN["claim"]["record"])  # claim_expiry_seconds 60
    assert (claim.judged(59, default_expiry=0), claim.judged(60, default_expiry=600)) == (
        Verdict.LIVE, Verdict.ABANDONED)


SUBJECT = BlobSubject(container="data", blob="in/machines.csv", etag="0x8DC1")


def test_a_failure_settled_as_final_masks_what_the_service_echoed_and_ends_the_claim():
    claim = new_claim("rules/r", "k", SUBJECT, "owner-1", "2036-01-01T00:00:00.000Z", 60)
    settled = claim.settled(RunState.FAILED, "2036-01-01T00:00:01.000Z",
                            {"reason": "bad key sig=c2VjcmV0c2VjcmV0c2VjcmV0", "retryable": False, "run_id": None})
    stored = settled.to_json()
    assert "c2VjcmV0c2VjcmV0c2VjcmV0" not in json.dumps(stored) and "claim_expiry_seconds" not in stored
    assert "run_id" not in stored and settled.judged(0, default_expiry=60) is Verdict.SETTLED
    assert settled.metadata() == {"state": "failed", "retryable": "false"}


def test_a_take_over_counts_the_claim_and_keeps_the_first_claim_time_and_the_history():
    first = LedgerRecord.from_json(GOLDEN["unknown"]["record"])
    taken = new_claim("rules/r", "unknown", SUBJECT, "owner-2", "2036-01-02T00:00:00.000Z", 60, first)
    assert (taken.claims, taken.first_claimed_at, taken.took_over) == (2, first.first_claimed_at, True)
    assert taken.history[-2:] == ({"state": "taken over from failed", "at": "2036-01-02T00:00:00.000Z",
                                   "owner": "owner-2", "previous_owner": "owner-1"},
                                  {"state": "claimed", "at": "2036-01-02T00:00:00.000Z", "owner": "owner-2"})
    assert taken.outcome_unknown is None and "attempts" not in taken.to_json()  # the old outcome is not carried


def test_a_record_that_is_not_a_json_object_is_refused_clearly():
    with pytest.raises(ValueError, match="a ledger record is a JSON object, not list"):
        LedgerRecord.from_json([])  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "open_tags"), [
    ({}, True),
    ({"run": {"status": "running", "azure_status": "Running", "observed_at": "2026-12-01T10:01:00.000Z"}}, True),
    ({"run": {"status": "completed", "azure_status": "Completed", "observed_at": "2026-12-01T10:09:00.000Z"}}, False),
    ({"state": "failed"}, False),
    ({"run_id": "run'1"}, False),  # no tag value may hold a quote: left untagged, never a refused write
])
def test_a_record_is_tagged_open_only_while_its_run_is_submitted_and_not_ended(changes, open_tags):
    record = LedgerRecord.from_json({"namespace": "manual/r", "key": "k", "state": "submitted", "run_id": "run-1",
                                     "claimed_at": "2026-12-01T10:00:00.000Z", **changes})

    tags = record.tags()

    assert tags == ({"aml_owner": "rules/r", "aml_open": "1", "aml_since": "2026-12-01T10:00:00.000Z",
                     "aml_run": "run-1"} if open_tags else {"aml_owner": "rules/r"})


def _run(status: str) -> dict[str, str]:
    return {"status": status, "azure_status": status, "observed_at": "2026-12-01T10:01:00.000Z"}


@pytest.mark.parametrize(("stored", "outcome"), [
    ({"state": "submitted"}, "running"),
    ({"state": "submitted", "run": _run("queued")}, "running"),
    ({"state": "submitted", "run": _run("unknown")}, "running"),
    ({"state": "submitted", "run": _run("completed")}, "completed"),
    ({"state": "submitted", "run": _run("failed")}, "failed"),
    ({"state": "submitted", "run": _run("canceled")}, "canceled"),
    ({"state": "claimed"}, "starting"),
    ({"state": "waiting"}, "waiting"),
    ({"state": "failed", "retryable": True}, "failed for now"),
    ({"state": "failed", "retryable": False}, "failed"),
    ({"state": "failed"}, "failed"),
    ({"state": "rejected"}, "rejected"),
    ({"state": "skipped"}, "skipped"),
])
def test_a_runs_outcome_is_its_runs_status_once_submitted_else_its_record_state(stored, outcome):
    record = LedgerRecord.from_json({"namespace": "rules/r", "key": "k", **stored})
    assert record.outcome_word == outcome
    written = "2026-12-02T00:00:01.000Z"
    tags = record.tags(written)
    assert (tags["aml_state"], tags["aml_day"], tags["aml_updated"]) == (outcome, "2026-12-02", written)  # no claim


def test_outcomes_settle_exactly_where_nothing_acts_on_the_record_again():
    assert {outcome.value for outcome in Outcome} == {
        "completed", "failed", "canceled", "rejected", "skipped", "running", "starting", "waiting", "failed for now"}
    assert sorted(SETTLED_OUTCOMES) == ["canceled", "completed", "failed", "rejected", "skipped"]
    assert LedgerRecord().outcome_word is None and LedgerRecord(namespace="rules/r").tags("2026-12-02") == {
        "aml_owner": "rules/r"}


@pytest.mark.parametrize(("first_claimed_at", "claimed_at", "day"), [
    ("2026-11-30T23:59:59.999Z", "2026-12-01T10:00:00.000Z", "2026-11-30"),
    (None, "2026-12-01T10:00:00.000Z", "2026-12-01"),
    ("garbled", None, "2026-12-02"),  # no day to read: the write's own
])
def test_a_runs_day_is_its_first_claims_whatever_day_it_is_written_on(first_claimed_at, claimed_at, day):
    record = LedgerRecord.from_json({"namespace": "schedules/s", "key": "k", "state": "skipped",
                                     "first_claimed_at": first_claimed_at, "claimed_at": claimed_at})
    assert record.tags("2026-12-02T00:00:01.000Z")["aml_day"] == day
    assert record.tags("2026-12-02 00:00'") == {"aml_owner": "schedules/s"}  # a time no tag holds: no index tags


BLOB = {"kind": "blob", "container": "c", "blob": "incoming/sales/a.csv", "etag": "0x1"}


@pytest.mark.parametrize(("namespace", "subject", "first_claimed_at", "arrival"), [
    ("rules/r", BLOB, "2026-12-01T10:00:00.000Z", True),
    ("rules/r", {"kind": "quiet-batch", "rule": "r", "container": "c", "folder": "incoming/",
                 "oldest": "2026-12-01T09:00:00.000Z"}, "2026-12-01T10:00:00.000Z", False),  # its entries carry them
    ("schedules/s", {"kind": "schedule", "schedule": "s", "occurrence": "2026-12-01T10:00:00Z"},
     "2026-12-01T10:00:00.000Z", False),
    ("manual/r", BLOB, "2026-12-01T10:00:00.000Z", False),  # a deliberate run, not a file that came
    ("rules/r", BLOB, "2026-12-01 10:00'", False),  # a time no tag value holds: untagged, never a refused write
])
def test_only_a_record_of_a_file_a_rule_took_in_carries_its_arrival_tags(namespace, subject, first_claimed_at,
                                                                          arrival):
    record = LedgerRecord.from_json({"namespace": namespace, "key": "k", "state": "skipped", "subject": subject,
                                     "first_claimed_at": first_claimed_at})
    expected = arrival_tags("rules/r", "incoming/sales/a.csv", first_claimed_at) if arrival else {
        "aml_owner": active_owner(namespace)}
    assert record.tags() == expected
    if arrival:
        assert expected == {"aml_owner": "rules/r", "aml_arrived": first_claimed_at,
                            "aml_folder": freshness_folder_key("r", "incoming/sales/")}


def test_a_record_name_is_read_once_into_kind_owner_and_key():
    name = RecordName.parse("manual/nightly/" + "ab" * 32 + ".json")
    assert (name.kind, name.owner, name.key, name.namespace) == ("manual", "nightly", "ab" * 32, "manual/nightly")


@pytest.mark.parametrize("text", ["rules/nightly.json", "rules/nightly/key", "gates/rules/nightly/key.json",
                                  "rules//key.json"])
def test_another_shape_is_no_record_name_and_says_which(text):
    with pytest.raises(ValueError) as error:
        RecordName.parse(text)
    assert str(error.value) == f"not a record name (<kind>/<owner>/<key>.json): {text!r}"
