"""Every retry class against the stand-in: what is retried, how long it waits, what is final."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from localdev.aml_standin import AcceptThenDrop, Delay, Drop, Respond
from shared.clients.aml.aml_client import TransientSubmitError
from tests.support.decisions import outcomes
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV


def deliver_new_csv(app_env) -> str:
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    return etag


def record_of(app_env, etag: str) -> dict:
    return ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)


@pytest.mark.parametrize("fault", [Respond(408), Respond(429), Respond(500), Respond(502), Respond(503), Respond(504),
                                   Drop(), Delay(0.2, then=Drop())],
                         ids=["408", "429", "500", "502", "503", "504", "dropped", "slow-then-dropped"])
def test_transient_failure_is_retried_and_the_run_starts_once(app_env, aml, fault):
    aml.inject(fault)

    etag = deliver_new_csv(app_env)

    assert len(aml.received) == 2 and len(aml.accepted) == 1
    record = record_of(app_env, etag)
    assert record["state"] == "submitted" and record["attempts"] == 2


def test_retry_after_in_seconds_is_honoured(app_env, aml):
    aml.inject(Respond(429, headers={"Retry-After": "1"}, code="TooManyRequests"))

    deliver_new_csv(app_env)

    first, second = aml.received
    assert second.at - first.at >= 1.0  # the backoff alone (max 0.05 s here) would have come back sooner
    assert len(aml.accepted) == 1


def test_slow_answer_within_the_deadline_is_waited_for_not_retried(app_env, aml):
    aml.inject(Delay(0.5))

    etag = deliver_new_csv(app_env)

    assert len(aml.received) == 1 and record_of(app_env, etag)["attempts"] == 1


def short_deadline(monkeypatch, deadline: str, attempt: str) -> None:
    monkeypatch.setenv("SUBMIT_DEADLINE_SECONDS", deadline)
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", attempt)
    monkeypatch.setenv("CLAIM_EXPIRY_SECONDS", str(2 * float(deadline)))
    monkeypatch.setenv("RUN_LISTING_DELAY_SECONDS", str((float(deadline) - float(attempt)) / 2))


HANG_SECONDS = 30
"""How long a hanging service holds a request before dropping it: far beyond any deadline these tests set."""


def test_deadline_bounds_a_hanging_service_and_the_record_says_its_outcome_is_unknown(app_env, aml, monkeypatch):
    short_deadline(monkeypatch, "2.5", "1")
    aml.inject(Delay(HANG_SECONDS, then=Drop()), Delay(HANG_SECONDS, then=Drop()))
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    with pytest.raises(TransientSubmitError,
                       match=r"gave up after 1 attempt .deadline reached.: the outcome is unknown"):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    # One whole 1 s attempt, then the key is looked up rather than posted again: no waiting it out. The POST is
    # recorded only when the stand-in lets go of it, so none recorded means none was waited for; the time is
    # bounded well below the hang, not near the 2.5 s deadline, which a loaded machine's lookups may overrun.
    assert time.monotonic() - started < HANG_SECONDS / 2
    assert len(aml.received) == 0 and aml.accepted == [] and len(aml.queries) >= 1
    record = record_of(app_env, etag)
    assert (record["state"], record["retryable"], record["outcome_unknown"]) == ("failed", True, True)


def test_a_failure_after_an_unknown_outcome_is_taken_over_by_a_lookup_not_a_second_post(app_env, aml, monkeypatch):
    """The answer was lost and run history failed every lookup: the record says the outcome is unknown, and the
    host's retry looks first, finds the run and adopts it."""
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "3")
    aml.inject(AcceptThenDrop())
    aml.inject_into_listings(Respond(503), Respond(503), Respond(503))
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    with pytest.raises(TransientSubmitError, match="looking the run up in Azure ML's listing: gave up after 3"):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    assert record_of(app_env, etag)["outcome_unknown"] is True

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")  # the host's retry of the same event

    [run] = aml.accepted
    assert len(aml.received) == 1
    record = record_of(app_env, etag)
    assert (record["state"], record["run_id"], record["reconciled"], record["claims"]) == (
        "submitted", run.run_id, True, 2)


def test_no_attempt_starts_without_time_for_a_whole_one(app_env, aml, monkeypatch):
    """A POST given up early could start a run the client never hears of: so it is not sent at all."""
    short_deadline(monkeypatch, "1.5", "1")
    aml.inject(Delay(0.7, then=Respond(503)))

    with pytest.raises(TransientSubmitError) as raised:
        deliver_new_csv(app_env)

    assert len(aml.received) == 1  # after a slow 503, a whole 1 s attempt no longer fits in the 0.8 s left
    assert "deadline reached" in str(raised.value)


def test_retry_after_beyond_the_deadline_gives_up_at_once_for_the_host_to_retry(app_env, aml, monkeypatch):
    short_deadline(monkeypatch, "10", "1")
    aml.inject(Respond(429, headers={"Retry-After": "120"}))
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    started = time.monotonic()

    with pytest.raises(TransientSubmitError, match=r"gave up after 1 attempt \(deadline reached\); last failure: "):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    # Gave up after the one attempt (waiting until too little time was left would say "no time left for an
    # attempt"), and well before the 10 s deadline that such waiting would reach.
    assert time.monotonic() - started < 5 and len(aml.received) == 1


@pytest.mark.parametrize("listing_delay", [0.0, 0.6], ids=["listed-at-once", "listed-late"])
def test_an_answer_lost_after_acceptance_is_found_in_run_history_and_adopted_without_a_second_post(
        app_env, aml, listing_delay):
    """The run started but its answer was lost: the key is looked up (runs:query by tag) until the listing delay
    has passed, the run is found and adopted; no second POST."""
    aml.listing_delay = listing_delay
    aml.inject(AcceptThenDrop())

    etag = deliver_new_csv(app_env)

    [run] = aml.accepted
    assert len(aml.received) == 1
    record = record_of(app_env, etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)
    query = aml.queries[-1]
    assert query.path.endswith("/workspaces/ml-ws/experiments/retrain-machines/runs:query")
    assert query.body == {"filter": f'(Tags/trigger_key eq "{record["key"]}")', "top": 50}
    assert query.audience == "https://management.azure.com"


@pytest.mark.parametrize("listing_delay", [0.0, 1.5], ids=["listed-at-once", "listed-late"])
def test_every_answer_slow_starts_one_run_and_the_record_names_it(app_env, aml, monkeypatch, listing_delay):
    """Attempt timeout 2 s, every answer 4 s late: each read timeout used to re-POST (7 runs). Now the key is
    looked up for RUN_LISTING_DELAY_SECONDS after the unanswered attempt, and the run is found."""
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("RUN_LISTING_DELAY_SECONDS", "5")
    aml.listing_delay = listing_delay
    aml.always = Delay(4)

    etag = deliver_new_csv(app_env)

    [run] = aml.accepted
    assert len(aml.received) == 1
    record = record_of(app_env, etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def test_a_slow_answer_the_deadline_cannot_wait_for_is_found_by_the_host_retry_not_posted_again(
        app_env, aml, monkeypatch):
    """Deadline 5 s, attempt 2 s, answers 4 s late: the first invocation gives up looking; the host's retry
    takes the record over and keeps looking for the listing delay, counted from the storage server's whole-second
    clock on the safe side, until the run appears. (At half these times the retry's claim and take-over, slowed by
    a busy machine, used up the second it had before its last look: seconds, not tenths, of slack.)"""
    short_deadline(monkeypatch, "5", "2")
    monkeypatch.setenv("RUN_LISTING_DELAY_SECONDS", "2.4")
    aml.inject(Delay(4), Delay(4))
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    with pytest.raises(TransientSubmitError, match="the outcome is unknown"):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    time.sleep(0.2)

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")  # the host's retry

    [run] = aml.accepted
    record = record_of(app_env, etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def test_the_closed_port_refuses_connections_and_no_server_can_take_it_during_the_test(closed_port):
    """Picked, then released, a port could be taken by another engineer's server before the test connected."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server and Azurite bind
        with pytest.raises(OSError, match="Address already in use"):
            server.bind(("127.0.0.1", closed_port))
    with socket.socket() as client, pytest.raises(ConnectionRefusedError):
        client.connect(("127.0.0.1", closed_port))


def test_a_refused_connection_is_posted_again_without_a_lookup(app_env, aml, monkeypatch, closed_port):
    """A request that never left (nothing listens) cannot have started a run: retried at once, no lookup."""
    attempts = []
    original = requests.Session.request

    def first_to_a_closed_port(session, method, url, **kwargs):
        if url.startswith(aml.url):  # storage requests pass untouched
            attempts.append(url)
            if len(attempts) == 1:
                url = url.replace(aml.url, f"http://127.0.0.1:{closed_port}")
        return original(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", first_to_a_closed_port)

    etag = deliver_new_csv(app_env)

    assert len(attempts) == 2 and aml.queries == []
    assert len(aml.accepted) == 1
    record = record_of(app_env, etag)
    assert (record["state"], record["attempts"], record.get("reconciled")) == ("submitted", 2, None)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_is_permanent_recorded_with_azure_ml_error_and_not_retried(app_env, aml, caplog, status):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    aml.inject(Respond(status, code="UserError", message="Assignment for parameter input_string is not specified"))

    etag = deliver_new_csv(app_env)  # returns normally: no poison loop for a request that cannot succeed
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    assert len(aml.received) == 1 and aml.accepted == []
    record = record_of(app_env, etag)
    assert (record["state"], record["retryable"], record["attempts"]) == ("failed", False, 1)
    assert record["error"] == {"status": status, "code": "UserError",
                               "message": "Assignment for parameter input_string is not specified"}
    assert outcomes(caplog) == ["failed", "duplicate"]


def test_a_token_for_the_wrong_audience_fails_permanently_after_one_refresh(app_env, aml, monkeypatch):
    """The stand-in enforces the audience, as Azure ML does: a wrong AML_TOKEN_SCOPE cannot start runs."""
    monkeypatch.setenv("AML_TOKEN_SCOPE", "https://ml.azure.com/.default")

    etag = deliver_new_csv(app_env)

    record = record_of(app_env, etag)
    assert record["state"] == "failed" and record["error"]["status"] == 401
    assert record["error"]["code"] == "InvalidAudience"
    assert [r.audience for r in aml.received] == ["https://ml.azure.com"] * 2  # one refresh, then final
