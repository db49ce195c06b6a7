"""Fixtures for the contract checks: the Azure ML stand-in, and tokens with the audience each API checks."""

from __future__ import annotations

import time

import pytest
from azure.core.credentials import AccessToken

from localdev.aml_standin import AmlStandIn
from localdev.tokens import make_token


@pytest.fixture
def aml():
    with AmlStandIn() as server:
        yield server


class LocalCredential:
    """A TokenCredential issuing stand-in tokens for whatever scope it is asked; remembers the scopes."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.scopes.extend(scopes)
        token, expires = make_token(scopes[0].removesuffix("/.default"), "oracle")
        return AccessToken(token, expires)

    def get_token_info(self, *scopes: str, options=None):
        from azure.core.credentials import AccessTokenInfo

        token = self.get_token(*scopes)
        return AccessTokenInfo(token.token, token.expires_on)


@pytest.fixture
def credential() -> LocalCredential:
    return LocalCredential()


def deadline() -> float:
    return time.monotonic() + 30
