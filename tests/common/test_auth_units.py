"""The pure parts of shared/clients/common/auth.py: where we run, which credential class, CAE claims challenges."""

from __future__ import annotations

import base64

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.clients.common.auth import build_credential, claims_from_challenge, running_in_azure

PLATFORM_SETTINGS = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "WEBSITE_INSTANCE_ID")
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}'


def challenge(encoded_claims: str) -> str:
    return (f'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            f'error="insufficient_claims", claims="{encoded_claims}"')


def encoded(claims: str, padded: bool = True) -> str:
    text = base64.urlsafe_b64encode(claims.encode("utf-8")).decode("ascii")
    return text if padded else text.rstrip("=")


@pytest.fixture(autouse=True)
def no_platform_environment(monkeypatch):
    """Credentials read os.environ too: keep this machine's identity settings out of the way."""
    for name in (*PLATFORM_SETTINGS, "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME", "AZURE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", ["IDENTITY_ENDPOINT", "MSI_ENDPOINT", "WEBSITE_INSTANCE_ID"])
def test_platform_identity_settings_mean_running_in_azure(name):
    assert running_in_azure({name: "value"})


@pytest.mark.parametrize("env", [{}, {"IDENTITY_ENDPOINT": "", "WEBSITE_INSTANCE_ID": ""},
                                 {"IDENTITY_HEADER": "h", "AZURE_CLIENT_ID": "c", "WEBSITE_SITE_NAME": "app"}])
def test_without_platform_identity_settings_not_running_in_azure(env):
    assert not running_in_azure(env)


@pytest.mark.parametrize("env", [{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h"},
                                 {"WEBSITE_INSTANCE_ID": "abc123"}, {"MSI_ENDPOINT": "http://127.0.0.1:41741/msi"}])
@pytest.mark.parametrize("client_id", [None, "00000000-0000-0000-0000-000000000001"])
def test_managed_identity_credential_in_azure(env, client_id):
    credential = build_credential(env, client_id)
    try:
        assert type(credential) is ManagedIdentityCredential
    finally:
        credential.close()


@pytest.mark.parametrize("client_id", [None, "00000000-0000-0000-0000-000000000001"])
def test_default_azure_credential_elsewhere(client_id):
    credential = build_credential({"AZURE_CLIENT_ID": "ignored-here"}, client_id)
    try:
        assert type(credential) is DefaultAzureCredential
    finally:
        credential.close()


@pytest.mark.parametrize("encoded_claims", [encoded(CLAIMS), encoded(CLAIMS, padded=False)])
def test_claims_challenge_is_decoded_with_or_without_padding(encoded_claims):
    assert claims_from_challenge(challenge(encoded_claims)) == CLAIMS


def test_claims_use_the_url_safe_alphabet():
    claims = '{"x":"???>>>"}'  # encodes to '-' and '_' in the URL-safe alphabet
    assert set(encoded(claims)) & {"-", "_"}
    assert claims_from_challenge(challenge(encoded(claims))) == claims


@pytest.mark.parametrize("header", [None, "", 'Bearer realm="", error="invalid_token"', "Basic realm=x"])
def test_no_claims_challenge(header):
    assert claims_from_challenge(header) is None


@pytest.mark.parametrize("encoded_claims", ["a", "_w"])
def test_undecodable_claims_are_ignored(encoded_claims):
    assert claims_from_challenge(challenge(encoded_claims)) is None
