"""The ledger down right after Azure ML accepted a run: a second Azurite holds the ledger behind a TCP switch; the test
switches its connection off at the moment of acceptance and on again (same port, same data) later. A switch, not a
restart of the emulator, so "back after 2 s" means 2 s however long a node process takes to start on a busy
machine (a restart under load came back after the client's last retry)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from azure.core.exceptions import AzureError

from localdev.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from localdev.tcp_switch import TcpSwitch
from shared.core.config.settings import SETTLE_GRACE
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

DEADLINE = 6.0


@pytest.fixture
def ledger_switch(app_env, monkeypatch) -> Iterator[TcpSwitch]:
    """The ledger on its own Azurite, reached through a switch that cuts and restores its connection at once."""
    with Azurite() as server, TcpSwitch(server.ports["blob"]) as switch:
        monkeypatch.setenv("LEDGER_STORAGE", "LEDGER_ACCOUNT")
        monkeypatch.setenv("LEDGER_ACCOUNT", f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
                                             f"AccountKey={ACCOUNT_KEY};BlobEndpoint={switch.url}/{ACCOUNT};")
        monkeypatch.setenv("SUBMIT_DEADLINE_SECONDS", str(DEADLINE))
        monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "3")
        monkeypatch.setenv("CLAIM_EXPIRY_SECONDS", str(2 * DEADLINE))
        yield switch


def test_a_ledger_back_within_the_invocation_gets_the_outcome_from_the_storage_clients_retries(
        app_env, aml, ledger_switch):
    back = threading.Timer(2.0, ledger_switch.up)
    aml.on_accept = lambda: (ledger_switch.down(), back.start())
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    try:
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    finally:  # the switch is back on (or that is called off) before the fixture closes it
        back.cancel()
        if back.is_alive():
            back.join()

    # The client's first retry comes seconds after the ledger is back (the SDK's default backoff waits 15 s).
    assert time.monotonic() - started < 10
    [run] = aml.accepted
    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["run_id"]) == ("submitted", run.run_id)


def test_a_ledger_down_after_acceptance_ends_the_invocation_in_time_and_the_next_owner_adopts_the_run(
        app_env, aml, ledger_switch):
    aml.on_accept = lambda: ledger_switch.down()
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    with pytest.raises(AzureError):
        deliver_blob(container, "machines.csv")

    took = time.monotonic() - started
    # Bounded by the invocation: the deadline plus the settle grace (functionTimeout is 300 s; it was 339 s).
    assert took < DEADLINE + SETTLE_GRACE + 2, took
    aml.on_accept = None
    ledger_switch.up()
    assert ledger_record("default", container, "machines.csv", etag)["state"] == "claimed"

    time.sleep(max(0.0, started + 2 * DEADLINE + 1.2 - time.monotonic()))  # the claim has expired
    deliver_blob(container, "machines.csv")

    [run] = aml.accepted
    assert len(aml.received) == 1
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)
