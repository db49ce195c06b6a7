"""The ledger down right after Azure ML accepted a run: a second Azurite holds the ledger; the test stops it at the
moment of acceptance and starts it again (same ports, same data) later."""

from __future__ import annotations

import threading
import time

import pytest
from azure.core.exceptions import AzureError

from localdev.azurite import Azurite
from shared.flows.runs.run_steps import SETTLE_GRACE
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

DEADLINE = 6.0


@pytest.fixture
def ledger_azurite(app_env, monkeypatch, tmp_path):
    """The ledger on its own Azurite, persisted on disk so a restart keeps the records."""
    server = Azurite(persist_in=str(tmp_path / "ledger")).start()
    monkeypatch.setenv("LEDGER_STORAGE", "LEDGER_ACCOUNT")
    monkeypatch.setenv("LEDGER_ACCOUNT", server.connection_string)
    monkeypatch.setenv("SUBMIT_DEADLINE_SECONDS", str(DEADLINE))
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("CLAIM_EXPIRY_SECONDS", str(2 * DEADLINE))
    yield server
    server.stop()


def test_a_ledger_back_within_the_invocation_gets_the_outcome_from_the_storage_clients_retries(
        app_env, aml, ledger_azurite):
    back = threading.Timer(2.0, ledger_azurite.start)
    aml.on_accept = lambda: (ledger_azurite.stop(), back.start())
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    try:
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    finally:  # the restart is over (or called off) before the fixture stops the ledger: no Azurite outlives it
        back.cancel()
        if back.is_alive():
            back.join()

    # The client's first retry comes seconds after the ledger is back (the SDK's default backoff waits 15 s).
    assert time.monotonic() - started < 10
    [run] = aml.accepted
    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["run_id"]) == ("submitted", run.run_id)


def test_a_ledger_down_after_acceptance_ends_the_invocation_in_time_and_the_next_owner_adopts_the_run(
        app_env, aml, ledger_azurite):
    aml.on_accept = lambda: ledger_azurite.stop()
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    with pytest.raises(AzureError):
        deliver_blob(container, "machines.csv")

    took = time.monotonic() - started
    # Bounded by the invocation: the deadline plus the settle grace (functionTimeout is 300 s; it was 339 s).
    assert took < DEADLINE + SETTLE_GRACE + 2, took
    aml.on_accept = None
    ledger_azurite.start()
    assert ledger_record("default", container, "machines.csv", etag)["state"] == "claimed"

    time.sleep(max(0.0, started + 2 * DEADLINE + 1.2 - time.monotonic()))  # the claim has expired
    deliver_blob(container, "machines.csv")

    [run] = aml.accepted
    assert len(aml.received) == 1
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)
