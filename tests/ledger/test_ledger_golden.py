"""The ledger's stored shape is a persistent contract: records and blob metadata written today must be written the
same way tomorrow, and records already stored in today's format must still be read (settled stays settled, a
failure for now is still taken over, its unknown outcome still looked up)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.clients.common.clock import Clock
from shared.clients.ledger.ledger import Ledger
from shared.clients.ledger.ledger_claims import Claim, Duplicate
from shared.core.ledger.keys import rule_namespace
from shared.core.ledger.ledger_record import RunState
from shared.core.ledger.run_status import observed

GOLDEN = Path(__file__).parents[1] / "golden" / "ledger_records.json"
SUBJECT = {"kind": "blob", "container": "data", "blob": "in/machines.csv", "etag": "0x8DC1"}
MOMENT = datetime(2036, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
"""Later than any real write: where a reply carries no Date, a claim of expiry 0 reads as expired at once."""


CLAIM_DEADLINE = 30.0
"""Seconds a claim here may take: none waits (no live claim is in its way), so this only bounds a loaded machine's
requests; a 1 s deadline failed a duplicate's claim under a load average of 15."""


def _ledger(container, claim_expiry: float = 60) -> Ledger:
    return Ledger(container, claim_expiry, clock=Clock(now=lambda: MOMENT))


def _claim(ledger: Ledger, key: str) -> Claim:
    claimed = ledger.claim(rule_namespace("r"), key, SUBJECT, time.monotonic() + CLAIM_DEADLINE)
    assert isinstance(claimed, Claim)
    return claimed


def _stored(container, key: str) -> dict[str, Any]:
    """The record's JSON and its blob metadata, owners (random ids) replaced by their order of appearance."""
    blob = container.get_blob_client(f"rules/r/{key}.json")
    text = blob.download_blob().readall().decode("utf-8")
    owners: dict[str, str] = {}
    for owner in _owners(json.loads(text)):
        owners.setdefault(owner, f"owner-{len(owners) + 1}")
    for owner, placeholder in owners.items():
        text = text.replace(owner, placeholder)
    return {"record": json.loads(text), "metadata": blob.get_blob_properties().metadata}


def _owners(record: dict[str, Any]) -> list[str]:
    found = [entry.get(field) for entry in record.get("history", []) for field in ("previous_owner", "owner")]
    return [owner for owner in [*found, record.get("owner")] if owner]


def _write_every_kind(container) -> dict[str, dict[str, Any]]:
    """One record per kind of write today's code makes, with the fields run_steps settles them with."""
    ledger = _ledger(container)
    _claim(ledger, "claim")
    ledger.settle(_claim(ledger, "submitted"), RunState.SUBMITTED, run_id="run-1",
                  run_url="https://ml.azure.com/runs/run-1?wsid=w", target="https://aml/pipelines/p",
                  experiment="retrain", attempts=1, reconciled=None)
    ledger.settle(_claim(ledger, "reconciled"), RunState.SUBMITTED, run_id="run-2", attempts=2, reconciled=True)
    ledger.settle(_claim(ledger, "rejected"), RunState.REJECTED, reason="missing columns: PRP")
    ledger.settle(_claim(ledger, "unknown"), RunState.FAILED, reason="timed out", attempts=3, retryable=True,
                  outcome_unknown=True, error={"status": None, "code": None, "message": "read timeout"})
    _claim(_ledger(container, claim_expiry=0), "taken-over")
    _claim(ledger, "taken-over")
    ledger.settle(_claim(ledger, "reopened"), RunState.REJECTED, reason="bad data")
    record, etag = ledger.read("rules/r/reopened.json")
    ledger.reopen("rules/r/reopened.json", record, etag, reason="retry requested (was rejected: bad data)")
    ledger.settle(_claim(ledger, "outcome"), RunState.SUBMITTED, run_id="run-3", attempts=1)
    failed = observed("Failed", "2036-03-01T08:40:00.000Z", started_at="2036-03-01T08:31:00.000Z",
                      ended_at="2036-03-01T08:39:30.000Z", error={"code": "UserError", "message": "exit code 1"})
    ledger.update("rules/r/outcome.json", lambda entry: entry.with_outcome(failed))
    return {key: _stored(container, key) for key in
            ("claim", "submitted", "reconciled", "rejected", "unknown", "taken-over", "reopened", "outcome")}


def test_every_kind_of_record_is_stored_exactly_as_the_golden_file_shows(container):
    assert _write_every_kind(container) == json.loads(GOLDEN.read_text("utf-8"))


def _store(container, key: str, stored: dict[str, Any]) -> None:
    """A record as today's code left it, uploaded byte for byte with its metadata, as if written long ago."""
    container.create_container()
    container.get_blob_client(f"rules/r/{key}.json").upload_blob(
        json.dumps(stored["record"], sort_keys=True).encode("utf-8"), metadata=stored["metadata"])


@pytest.mark.parametrize("key", ["submitted", "reconciled", "rejected", "outcome"])
def test_a_settled_record_stored_in_todays_format_is_still_a_duplicate(container, key):
    stored = json.loads(GOLDEN.read_text("utf-8"))[key]
    _store(container, key, stored)

    found = Ledger(container, 60).claim(rule_namespace("r"), key, SUBJECT, time.monotonic() + CLAIM_DEADLINE)

    assert isinstance(found, Duplicate) and found.record == stored["record"]


def test_a_failure_for_now_with_an_unknown_outcome_stored_in_todays_format_is_taken_over_and_looked_up(container):
    stored = json.loads(GOLDEN.read_text("utf-8"))["unknown"]
    _store(container, "unknown", stored)

    taken = Ledger(container, 60).claim(rule_namespace("r"), "unknown", SUBJECT, time.monotonic() + CLAIM_DEADLINE)

    assert isinstance(taken, Claim) and taken.took_over and taken.unknown_for is not None
    assert (taken.record["claims"], taken.record["first_claimed_at"]) == (2, stored["record"]["first_claimed_at"])


def test_a_live_claim_stored_in_todays_format_is_waited_for_and_not_taken(container):
    stored = json.loads(GOLDEN.read_text("utf-8"))["claim"]
    _store(container, "claim", stored)

    with pytest.raises(Exception, match="was not settled before the deadline"):
        Ledger(container, 60, poll_interval=0.05).claim(rule_namespace("r"), "claim", SUBJECT, time.monotonic() + 0.3)
