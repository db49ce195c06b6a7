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
from shared.core.ledger.run_status import RunOutcome, RunStatus
from shared.core.ledger.subjects import BlobSubject, UnreadableRecord

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "ledger_records.json").read_text("utf-8"))
NAME = "rules/r/k.json"


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


def test_an_ended_run_whose_times_are_pending_is_tagged_for_them_since_its_end_and_counted_as_ended():
    ended = {"status": "failed", "azure_status": "Failed", "observed_at": "2026-12-01T10:09:00.000Z",
             "times_unknown": "discovery failed for now"}
    record = LedgerRecord.from_json({"namespace": "rules/r", "key": "k", "state": "submitted", "run_id": "run-1",
                                     "claimed_at": "2026-12-01T10:00:00.000Z", "run": {**ended, "times_pending": True}})
    final = LedgerRecord.from_json({**record.to_json(), "run": ended})

    assert record.tags("2026-12-01T10:09:01.000Z") == {
        "aml_owner": "rules/r", "aml_open": "times", "aml_since": "2026-12-01T10:09:00.000Z", "aml_run": "run-1",
        "aml_state": "failed", "aml_day": "2026-12-01", "aml_updated": "2026-12-01T10:09:01.000Z"}
    assert "aml_open" not in final.tags("2026-12-01T10:09:01.000Z")


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


AT = "2036-01-01T00:00:00.000Z"
LATER = "2036-01-01T00:05:00.000Z"


def _history(count: int) -> tuple[dict[str, str], ...]:
    return tuple({"state": "failed", "at": f"2035-12-31T00:00:{second:02}.000Z"} for second in range(count))


def test_a_first_claim_is_the_whole_record_of_one_owner_on_it_until_its_expiry():
    claim = new_claim("rules/r", "k", SUBJECT, "owner-1", AT, 60)

    assert claim.to_json() == {
        "schema": 1, "namespace": "rules/r", "key": "k",
        "subject": {"kind": "blob", "container": "data", "blob": "in/machines.csv", "etag": "0x8DC1"},
        "state": "claimed", "owner": "owner-1", "claims": 1, "first_claimed_at": AT, "claimed_at": AT,
        "claim_expiry_seconds": 60, "updated_at": AT, "history": [{"state": "claimed", "at": AT, "owner": "owner-1"}]}
    assert claim.took_over is False


def test_a_claim_keeps_the_last_twenty_history_entries_the_take_over_and_the_claim_included():
    previous = LedgerRecord.from_json(GOLDEN["unknown"]["record"])._replace(history=_history(20))

    taken = new_claim("rules/r", "k", SUBJECT, "owner-2", LATER, 60, previous)

    assert taken.history == (*_history(20)[2:], {"state": "taken over from failed", "at": LATER, "owner": "owner-2",
                                                 "previous_owner": "owner-1"},
                             {"state": "claimed", "at": LATER, "owner": "owner-2"})


def test_a_submitted_claim_settles_into_its_outcome_over_the_claim_and_the_history_says_who():
    claim = new_claim("rules/r", "k", SUBJECT, "owner-1", AT, 60)

    settled = claim.settled(RunState.SUBMITTED, LATER, {
        "run_id": "run-1", "attempts": 2, "reason": None, "note": None,  # None: not stored
        "error": {"message": "bad key sig=c2VjcmV0c2VjcmV0c2VjcmV0"}})

    stored = settled.to_json()
    assert stored == {**{name: value for name, value in claim.to_json().items() if name != "claim_expiry_seconds"},
                      "state": "submitted", "updated_at": LATER, "retryable": False, "run_id": "run-1",
                      "attempts": 2, "error": {"message": "bad key ***"},
                      "history": [{"state": "claimed", "at": AT, "owner": "owner-1"},
                                  {"state": "submitted", "at": LATER, "owner": "owner-1"}]}
    assert settled.state is RunState.SUBMITTED and settled.subject == SUBJECT


def test_a_failure_for_now_settles_retryable_and_the_history_keeps_its_last_twenty():
    claim = new_claim("rules/r", "k", SUBJECT, "owner-1", AT, 60)._replace(history=_history(20))

    settled = claim.settled(RunState.FAILED, LATER, {"retryable": True, "reason": "HTTP 503"})

    assert (settled.retryable, settled.reason, settled.judged(0, default_expiry=60)) == (
        True, "HTTP 503", Verdict.TAKE_OVER)
    assert settled.history == (*_history(20)[1:], {"state": "failed", "at": LATER, "owner": "owner-1"})


def test_a_reopened_record_is_a_failure_for_now_with_its_reason_and_the_last_twenty_history_entries():
    submitted = LedgerRecord.from_json(GOLDEN["submitted"]["record"])
    full = submitted._replace(history=_history(20))

    reopened = full.reopened(LATER, "retried by an operator")

    assert reopened == full._replace(state=RunState.FAILED, retryable=True, reason="retried by an operator",
                                     updated_at=LATER, history=(*_history(20)[1:], {"state": "reopened", "at": LATER}))
    assert reopened.judged(0, default_expiry=60) is Verdict.TAKE_OVER


def test_a_listing_metadata_reads_back_into_the_state_retryability_expiry_and_run_status():
    stored = {"state": "failed", "retryable": "true", "claim_expiry": "60.5", "run_status": "running"}

    record = LedgerRecord.from_metadata(stored, NAME)

    assert record == LedgerRecord(state=RunState.FAILED, retryable=True, claim_expiry_seconds=60.5,
                                  run={"status": "running"})
    assert record.metadata() == stored


def test_a_listing_without_metadata_is_a_record_of_nothing_known_and_not_retryable():
    assert LedgerRecord.from_metadata(None) == LedgerRecord.from_metadata({}) == LedgerRecord(retryable=False)
    assert LedgerRecord.from_metadata({"retryable": "True"}).retryable is False  # only what the app writes: "true"
    assert LedgerRecord().metadata() is None


def test_a_listing_with_an_unknown_state_is_refused_naming_the_record_or_unnamed():
    with pytest.raises(UnreadableRecord, match=r"^ledger record rules/r/k\.json: state 'x' is not one of"):
        LedgerRecord.from_metadata({"state": "x"}, NAME)
    with pytest.raises(UnreadableRecord, match=r"^ledger record \(unnamed\): state 'x' is not one of"):
        LedgerRecord.from_metadata({"state": "x"})


def test_what_azure_ml_said_of_a_run_is_stored_with_its_error_masked():
    outcome = RunOutcome(status=RunStatus.FAILED, azure_status="Failed", observed_at=LATER,
                         error={"message": "bad key sig=c2VjcmV0c2VjcmV0c2VjcmV0", "code": "UserError"})

    record = new_claim("rules/r", "k", SUBJECT, "owner-1", AT, 60).with_outcome(outcome)

    assert record.run == {"status": "failed", "azure_status": "Failed", "observed_at": LATER,
                          "error": {"message": "bad key ***", "code": "UserError"}}
    assert record.outcome == outcome._replace(error={"message": "bad key ***", "code": "UserError"})
    assert LedgerRecord().outcome is None


def test_a_record_without_a_claim_count_is_its_first_claim():
    assert (LedgerRecord().took_over, LedgerRecord(claims=1).took_over, LedgerRecord(claims=2).took_over) == (
        False, False, True)


@pytest.mark.parametrize(("last_modified", "arrived"), [
    ("2026-12-01T09:59:00.000Z", "2026-12-01T09:59:00.000Z"),  # written before its first claim: its Last-Modified
    ("2026-12-01T10:00:01.000Z", "2026-12-01T10:00:00.000Z"),  # a clock behind storage's: the first claim bounds it
])
def test_a_file_arrived_at_the_earlier_of_its_last_modified_and_its_first_claim(last_modified, arrived):
    record = LedgerRecord.from_json({"namespace": "rules/r", "key": "k", "state": "skipped",
                                     "subject": {**BLOB, "last_modified": last_modified},
                                     "first_claimed_at": "2026-12-01T10:00:00.000Z"})

    assert record.tags()["aml_arrived"] == arrived


def test_a_file_record_without_any_time_carries_no_arrival_tags():
    record = LedgerRecord.from_json({"namespace": "rules/r", "key": "k", "state": "skipped", "subject": BLOB})
    assert record.tags() == {"aml_owner": "rules/r"}


@pytest.mark.parametrize(("changes", "tags"), [
    ({"claimed_at": None, "first_claimed_at": "2026-12-01T09:00:00.000Z"},
     {"aml_owner": "schedules/s", "aml_open": "1", "aml_since": "2026-12-01T09:00:00.000Z", "aml_run": "run-1"}),
    ({"namespace": "schedule-data/s"}, {"aml_owner": "schedule-data/s"}),  # a data claim names a run but is none
    ({"namespace": None}, {}),
    ({"claimed_at": None}, {"aml_owner": "schedules/s"}),
    ({"run_id": None}, {"aml_owner": "schedules/s"}),
])
def test_an_open_run_is_tagged_since_its_latest_claim_only_on_a_runs_own_record(changes, tags):
    record = LedgerRecord.from_json({**{"namespace": "schedules/s", "key": "k", "state": "submitted",
                                        "run_id": "run-1", "claimed_at": "2026-12-01T10:00:00.000Z"}, **changes})
    assert record.tags() == tags


def test_a_stored_history_is_read_into_a_tuple_and_written_back_as_a_list():
    record = LedgerRecord.from_json({"state": "failed", "history": [{"state": "failed", "at": AT}]})
    assert record.history == ({"state": "failed", "at": AT},)
    assert record.to_json() == {"state": "failed", "history": [{"state": "failed", "at": AT}]}
    assert LedgerRecord(state=RunState.SKIPPED).to_json() == {"state": "skipped"}


def test_only_what_a_service_echoed_is_masked_when_settled_so_the_runs_link_keeps_its_workspace():
    run_url = "https://ml.azure.com/runs/run-1?wsid=/subscriptions/s/resourcegroups/g/workspaces/w"
    claim = new_claim("rules/r", "k", SUBJECT, "owner-1", AT, 60)

    settled = claim.settled(RunState.SUBMITTED, LATER, {"run_id": "run-1", "run_url": run_url})

    assert settled.to_json()["run_url"] == run_url


def test_a_record_settled_again_without_a_claim_expiry_settles_like_any_other():
    reopened = LedgerRecord.from_json(GOLDEN["submitted"]["record"]).reopened(AT, "retried by an operator")
    assert "claim_expiry_seconds" not in reopened.to_json()

    settled = reopened.settled(RunState.SKIPPED, LATER, {"reason": "rule 'r' is disabled"})

    assert (settled.state, settled.reason, settled.retryable, settled.claim_expiry_seconds) == (
        RunState.SKIPPED, "rule 'r' is disabled", False, None)


def test_a_failure_for_now_whose_post_may_have_started_a_run_is_judged_abandoned():
    record = LedgerRecord(state=RunState.FAILED, retryable=True, outcome_unknown=True)
    assert record.judged(0, default_expiry=60) is Verdict.ABANDONED


def test_a_record_of_nothing_known_is_stored_as_an_empty_object():
    assert LedgerRecord().to_json() == {}


@pytest.mark.parametrize(("name", "shown"), [(None, "(unnamed)"), (NAME, NAME)])
def test_a_record_that_is_not_an_object_is_refused_naming_it_or_unnamed(name, shown):
    with pytest.raises(UnreadableRecord) as refused:
        LedgerRecord.from_json([], name)  # type: ignore[arg-type]
    assert str(refused.value) == f"ledger record {shown}: a ledger record is a JSON object, not list"


def test_a_record_read_without_its_name_is_unnamed_unless_its_namespace_and_key_are_both_texts():
    with pytest.raises(UnreadableRecord, match=r"^ledger record \(unnamed\): state 'x' is not"):
        LedgerRecord.from_json({"namespace": "schedules/s", "key": 3, "state": "x"})
