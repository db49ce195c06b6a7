"""Tokens from managed identity (azure-identity): one credential per process, so tokens are cached."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from azure.core.credentials import TokenCredential

from shared.core.config.settings import IDENTITY_ENDPOINT, MSI_ENDPOINT, WEBSITE_INSTANCE_ID

_CLAIMS_CHALLENGE = re.compile(r'claims="([^"]+)"')
FORCE_REFRESH_CLAIMS = "{}"
"""Claims passed when a 401 carried no challenge: azure-identity then fetches a new token, not the cached one."""


def running_in_azure(env: Mapping[str, str]) -> bool:
    """True on App Service / Functions, where the platform provides a managed identity endpoint."""
    return any(setting.read(env) for setting in (IDENTITY_ENDPOINT, MSI_ENDPOINT, WEBSITE_INSTANCE_ID))


def build_credential(env: Mapping[str, str], client_id: str | None) -> TokenCredential:
    """ManagedIdentityCredential in Azure (user-assigned when ``client_id`` is set), DefaultAzureCredential locally."""
    if running_in_azure(env):
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def claims_from_challenge(www_authenticate: str | None) -> str | None:
    """The decoded claims of a CAE challenge in ``WWW-Authenticate``, if the 401 carried one."""
    match = _CLAIMS_CHALLENGE.search(www_authenticate or "")
    if not match:
        return None
    encoded = match.group(1)
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


class TokenProvider:
    """Bearer tokens per scope from one credential; ``refresh`` bypasses the cache once after a 401."""

    def __init__(self, credential: TokenCredential):
        self._credential = credential

    def bearer(self, scope: str) -> str:
        return self._credential.get_token(scope).token

    def refresh(self, scope: str, www_authenticate: str | None = None) -> str:
        claims = claims_from_challenge(www_authenticate) or FORCE_REFRESH_CLAIMS
        return self._credential.get_token(scope, claims=claims).token
