"""Blob clients built only from checked storage connections (``shared.core.storage.storage_endpoints``), never from raw
settings."""

from __future__ import annotations

from typing import TypedDict

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.storage.blob import BlobServiceClient

from shared.core.storage.storage_endpoints import StorageAccount


class ClientOptions(TypedDict):
    """The storage client's timeouts and retry settings (azure-core's transport and retry policy keywords)."""

    connection_timeout: float
    read_timeout: float
    retry_total: int
    initial_backoff: int
    increment_base: int
    random_jitter_range: int


class RequestOptions(TypedDict, total=False):
    """Those of them one request may narrow (``bounded``); each one not given is the client's."""

    connection_timeout: float
    read_timeout: float
    retry_total: int


CLIENT_OPTIONS: ClientOptions = {"connection_timeout": 5, "read_timeout": 20, "retry_total": 3, "initial_backoff": 1,
                  "increment_base": 2, "random_jitter_range": 1}
"""Bounded I/O, and the only retry layer: backoff 1 + 2^n s (+-1) instead of the SDK's 15 + 3^n s; the ledger
narrows timeouts and retries per request to the time an invocation has left (``bounded``)."""


def blob_service_client(account: StorageAccount, credential: TokenCredential) -> BlobServiceClient:
    """A client for a checked account: its key or SAS when the connection string has one, else managed identity
    (``<connection>__clientId`` picks a user-assigned identity for this connection alone)."""
    signer: TokenCredential | AzureNamedKeyCredential | AzureSasCredential = credential
    if account.account_key:
        signer = AzureNamedKeyCredential(*account.account_key)
    elif account.sas:
        signer = AzureSasCredential(account.sas)
    elif account.client_id:
        from azure.identity import ManagedIdentityCredential

        signer = ManagedIdentityCredential(client_id=account.client_id)
    return BlobServiceClient(account_url=account.blob_url, credential=signer, **CLIENT_OPTIONS)

MIN_REQUEST_SECONDS = 1.0
"""The shortest try a bounded request gets: one try is always made, even with no time left."""
RETRIED_TRY_SECONDS = 4.0
"""A request is retried only if each try can still have this long: a write to blob storage takes well under it."""



def bounded(within: float | None) -> RequestOptions:
    """Per-request options (timeouts, retries) so one storage call, its retries and their backoff included, ends
    within about ``within`` seconds: the storage client stays the only retry layer, sized to the time left.
    None: the client's own options."""
    if within is None:
        return {}
    longest = CLIENT_OPTIONS["connection_timeout"] + CLIENT_OPTIONS["read_timeout"]
    retries, per_try = 0, max(MIN_REQUEST_SECONDS, min(longest, within))
    for candidate in range(1, CLIENT_OPTIONS["retry_total"] + 1):
        backoff = sum(CLIENT_OPTIONS["initial_backoff"] + CLIENT_OPTIONS["increment_base"] ** count
                      + CLIENT_OPTIONS["random_jitter_range"] for count in range(1, candidate + 1))
        each = min(longest, (within - backoff) / (candidate + 1))
        if each >= RETRIED_TRY_SECONDS:
            retries, per_try = candidate, each
    connect = min(CLIENT_OPTIONS["connection_timeout"], per_try / 2)
    return {"connection_timeout": connect, "read_timeout": per_try - connect, "retry_total": retries}
