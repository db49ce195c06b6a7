"""The ledger's guarantees against Azurite: one winner per takeover, no stale owner overwriting a new one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.clients.clock import Clock
from shared.clients.ledger import Ledger
from shared.clients.ledger_claims import Claim, ClaimBusyError, ClaimLostError, Duplicate
from shared.rules.keys import rule_namespace
from shared.rules.ledger_record import RunState
from tests.support.harness import run_together

SUBJECT = {"kind": "blob", "container": "c", "blob": "b.csv", "etag": "0x1"}


def claim(ledger: Ledger, deadline_seconds: float = 0.5) -> Claim | Duplicate:
    return ledger.claim(rule_namespace("r"), "key-1", SUBJECT, time.monotonic() + deadline_seconds)


def test_an_abandoned_claim_is_taken_over_by_exactly_one_of_many(container):
    abandoned = claim(Ledger(container, claim_expiry=0))  # a crashed owner whose claim is expired at once
    assert isinstance(abandoned, Claim)
    contenders = 6

    results = run_together(*[lambda: claim(Ledger(container, claim_expiry=60))] * contenders)

    winners = [result for result in results if isinstance(result, Claim)]
    assert len(winners) == 1 and winners[0].took_over
    assert sum(isinstance(result, ClaimBusyError) for result in results) == contenders - 1


def test_a_stale_owner_cannot_overwrite_the_record_of_the_owner_that_took_over(container):
    stale = claim(Ledger(container, claim_expiry=0))
    ledger = Ledger(container, claim_expiry=60)
    current = claim(ledger)
    assert isinstance(stale, Claim) and isinstance(current, Claim)

    with pytest.raises(ClaimLostError):
        Ledger(container, claim_expiry=0).settle(stale, RunState.SUBMITTED, run_id="stale-run")

    record, _ = ledger.read(current.record_name)
    assert (record["state"], record["owner"]) == ("claimed", current.record["owner"])
    ledger.settle(current, RunState.SUBMITTED, run_id="run-2")
    assert isinstance(claim(ledger), Duplicate)


def test_a_claim_is_honoured_until_it_expires_by_the_servers_clock(container):
    owner = Ledger(container, claim_expiry=2)
    assert isinstance(claim(owner), Claim)

    with pytest.raises(ClaimBusyError, match="not settled before the deadline"):
        claim(Ledger(container, claim_expiry=60), deadline_seconds=0.3)
    time.sleep(3.2)  # Last-Modified and Date have whole seconds: 3.2 s is at least 2 s on the server's clock
    assert isinstance(claim(Ledger(container, claim_expiry=60)), Claim)


def test_a_live_claim_is_judged_by_the_servers_clock_not_a_taker_whose_clock_runs_an_hour_ahead(container):
    assert isinstance(claim(Ledger(container, claim_expiry=60)), Claim)
    an_hour_ahead = datetime.now(UTC) + timedelta(hours=1)

    taker = Ledger(container, claim_expiry=60, clock=Clock(now=lambda: an_hour_ahead))

    with pytest.raises(ClaimBusyError, match="not settled before the deadline"):
        claim(taker, deadline_seconds=0.3)


@pytest.mark.parametrize("within", [0.0, 3.0, 10.0, 25.0, 60.0, 300.0])
def test_a_bounded_storage_request_with_its_retries_and_backoff_fits_the_time_left(within):
    from shared.clients.storage import CLIENT_OPTIONS, bounded

    options = bounded(within)
    tries = options["retry_total"] + 1
    backoff = sum(CLIENT_OPTIONS["initial_backoff"] + CLIENT_OPTIONS["increment_base"] ** count
                  + CLIENT_OPTIONS["random_jitter_range"] for count in range(1, tries))
    worst = tries * (options["connection_timeout"] + options["read_timeout"]) + backoff
    assert worst <= max(within, 1.0)  # one short try is made even with no time left
    assert options["retry_total"] <= CLIENT_OPTIONS["retry_total"]
    if within >= 300:  # plenty of time: the client's own settings, whole
        assert options == {"connection_timeout": 5, "read_timeout": 20, "retry_total": 3}
