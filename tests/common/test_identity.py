"""Managed identity through the real azure-identity code path, against the local App Service endpoint."""

from __future__ import annotations

import logging

import pytest

from localdev.aml_standin import Respond
from localdev.azurite import ACCOUNT_KEY
from localdev.identity_endpoint import IdentityEndpoint
from shared.clients.aml.aml_client import TransientSubmitError
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

ARM = "https://management.azure.com"


def deliver(app_env, name: str = "machines.csv") -> str:
    etag = upload(app_env["WATCH_CONTAINER"], name, SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], name)
    return etag


def test_one_token_is_fetched_with_the_arm_audience_and_cached_across_events(app_env, aml, identity):
    for index in range(3):
        deliver(app_env, f"machines-{index}.csv")

    assert [(r.resource, r.status) for r in identity.requests] == [(ARM, 200)]
    assert [r.audience for r in aml.received] == [ARM] * 3


def test_a_401_refreshes_the_token_once_and_retries(app_env, aml, identity):
    aml.inject(Respond(401, code="Unauthorized", message="token revoked"))

    etag = deliver(app_env)

    assert len(identity.requests) == 2 and identity.issued[0] != identity.issued[1]
    assert len(aml.accepted) == 1
    assert ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)["attempts"] == 2


def test_a_second_401_is_final(app_env, aml, identity):
    aml.inject(Respond(401), Respond(401))

    etag = deliver(app_env)

    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["retryable"], record["error"]["status"]) == ("failed", False, 401)
    assert len(aml.received) == 2 and len(identity.requests) == 2


def test_identity_endpoint_errors_are_retried_by_the_app_after_azure_identity_gives_up(app_env, aml, identity):
    identity.fail_next(4, status=500)  # azure-identity itself tries 4 times per token, then raises

    etag = deliver(app_env)

    assert [r.status for r in identity.requests] == [500, 500, 500, 500, 200]
    assert len(aml.accepted) == 1
    assert ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)["attempts"] == 2


def test_an_unreachable_identity_endpoint_is_a_recorded_transient_failure(app_env, aml, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")  # nothing listens on the discard port
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    with pytest.raises(TransientSubmitError, match=r"no token for https://management\.azure\.com/\.default"):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["retryable"]) == ("failed", True)  # not left claimed until it expires
    assert aml.received == []


@pytest.fixture
def user_assigned(monkeypatch):
    with IdentityEndpoint(client_id="3f1c0de5-0000-4000-8000-0000000000aa", require_client_id=True) as endpoint:
        for name, value in endpoint.environment().items():
            monkeypatch.setenv(name, value)
        yield endpoint


def test_user_assigned_identity_sends_its_client_id(app_env, aml, user_assigned, monkeypatch):
    monkeypatch.setenv("MANAGED_IDENTITY_CLIENT_ID", user_assigned.client_id)

    deliver(app_env)

    assert [(r.client_id, r.status) for r in user_assigned.requests] == [(user_assigned.client_id, 200)]
    assert len(aml.accepted) == 1


def test_user_assigned_identity_without_client_id_fails_clearly_and_posts_nothing(
        app_env, aml, user_assigned, monkeypatch):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "2")
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    with pytest.raises(TransientSubmitError, match=r"no token for https://management\.azure\.com/\.default"):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    assert aml.received == []
    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert record["state"] == "failed" and record["retryable"] is True and "no token" in record["reason"]


def test_no_token_key_or_identity_secret_reaches_a_log_line_or_the_ledger(app_env, aml, identity, caplog,
                                                                          monkeypatch):
    # worst case: the SDKs' own loggers left at DEBUG
    monkeypatch.setattr("shared.clients.process.services._QUIET_LOGGERS", ())
    caplog.set_level(logging.DEBUG)
    aml.inject(Respond(401), Respond(503))

    etag = deliver(app_env)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")  # a duplicate, logged too

    record_text = str(ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag))
    secrets = [*identity.issued, identity.secret, ACCOUNT_KEY]
    assert len(identity.issued) == 2 and len(aml.accepted) == 1
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in record_text
    logger_names = {record.name for record in caplog.records}
    assert "aml_trigger" in logger_names and "msal.managed_identity" in logger_names  # the capture saw both
