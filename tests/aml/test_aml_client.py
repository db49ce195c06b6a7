"""The submitter's token handling against the stand-in, with a token source whose behaviour each test sets."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from localdev.aml_standin import AmlStandIn, Respond
from localdev.tokens import make_token
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.clients.common.clock import Clock
from shared.core.config.config_model import RetrySettings
from shared.core.runs.payloads import SubmitRequest

pytestmark = pytest.mark.integration  # every test talks to the Azure ML stand-in

ARM = "https://management.azure.com"


class ScriptedTokens:
    """A TokenProvider stand-in: records calls; refreshes fail while ``refresh_failures`` lasts."""

    def __init__(self, refresh_failures: int = 0):
        self.calls: list[str] = []
        self.refresh_failures = refresh_failures
        self.token, _ = make_token(ARM, "app")

    def bearer(self, scope: str) -> str:
        self.calls.append("bearer")
        return self.token

    def refresh(self, scope: str, www_authenticate: str | None = None) -> str:
        self.calls.append("refresh")
        if self.refresh_failures:
            self.refresh_failures -= 1
            raise ClientAuthenticationError("identity endpoint unavailable")
        self.token, _ = make_token(ARM, "app")
        return self.token


RETRY = RetrySettings(max_attempts=5, base_delay=0.001, max_delay=0.002, deadline=30, attempt_timeout=5)
NO_WAITING = Clock(sleep=lambda seconds: None)


def submit(server: AmlStandIn, tokens, clock: Clock = NO_WAITING) -> int:
    request = SubmitRequest(url=server.published_pipeline_url(), scope=f"{ARM}/.default",
                            body={"ExperimentName": "e", "ParameterAssignments": {}, "RunSource": "SDK"})
    return PipelineSubmitter(tokens, RETRY, clock=clock).submit(request, time.monotonic() + 30).attempts


def test_a_retry_after_date_is_read_against_the_clock_the_client_is_given():
    slept: list[float] = []
    clock = Clock(now=lambda: datetime(2025, 1, 1, tzinfo=UTC), sleep=slept.append)
    with AmlStandIn() as server:
        server.inject(Respond(429, headers={"Retry-After": "Wed, 01 Jan 2025 00:00:07 GMT"}))
        attempts = submit(server, ScriptedTokens(), clock)
        assert len(server.accepted) == 1
    assert (attempts, slept) == (2, [7.0])  # seven seconds after the clock's now, not after the machine's


def test_a_refresh_that_fails_stays_pending_instead_of_resending_the_revoked_token():
    tokens = ScriptedTokens(refresh_failures=1)
    with AmlStandIn() as server:
        server.inject(Respond(401))
        attempts = submit(server, tokens)
        assert len(server.accepted) == 1
    assert tokens.calls == ["bearer", "refresh", "refresh"]  # not: bearer, refresh (failed), bearer (revoked)
    assert attempts == 3


class RecordingCredential:
    def __init__(self) -> None:
        self.requests: list[dict] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.requests.append({"scopes": scopes, **kwargs})
        token, expires = make_token(ARM, "app")
        return AccessToken(token, expires)


def test_a_401_claims_challenge_is_passed_to_the_credential():
    credential = RecordingCredential()
    challenge = ('Bearer realm="", error="insufficient_claims", '
                 'claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ"')
    with AmlStandIn() as server:
        server.inject(Respond(401, headers={"WWW-Authenticate": challenge}))
        submit(server, TokenProvider(credential))
    assert credential.requests[1]["claims"] == '{"access_token":{"nbf":{"essential":true}}}'
    assert "claims" not in credential.requests[0]
