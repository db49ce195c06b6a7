"""Fixtures for the contract checks: the Azure ML stand-in, and tokens with the audience each API checks."""

from __future__ import annotations

import time
from typing import Any

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


def body_differences(app: Any, sdk: Any, path: str = "$") -> list[str]:
    """Where two JSON bodies differ: a key on one side only, or a different value (or type)."""
    if isinstance(app, dict) and isinstance(sdk, dict):
        return ([f"{path}.{key}: only the app sends it" for key in app.keys() - sdk.keys()]
                + [f"{path}.{key}: only the SDK sends it" for key in sdk.keys() - app.keys()]
                + [d for key in app.keys() & sdk.keys() for d in body_differences(app[key], sdk[key], f"{path}.{key}")])
    return [] if app == sdk and type(app) is type(sdk) else [f"{path}: app {app!r}, SDK {sdk!r}"]
