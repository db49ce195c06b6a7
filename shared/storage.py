"""Blob clients from Functions-style connection settings: a connection string, or identity-based settings."""

from __future__ import annotations

from typing import Mapping

from azure.core.credentials import TokenCredential
from azure.storage.blob import BlobServiceClient

CLIENT_OPTIONS = {"connection_timeout": 5, "read_timeout": 20, "retry_total": 3, "initial_backoff": 1,
                  "increment_base": 2, "random_jitter_range": 1}
"""Bounded I/O, and the only retry layer: backoff 1 + 2^n s (+-1) instead of the SDK's 15 + 3^n s; the ledger
narrows timeouts and retries per request to the time an invocation has left (ledger.bounded)."""


def blob_service_client(env: Mapping[str, str], connection: str, credential: TokenCredential) -> BlobServiceClient:
    """A client for the account named by ``connection``, the way the Functions host reads the same setting.

    ``<connection>`` holds a connection string; otherwise ``<connection>__blobServiceUri`` (or ``__serviceUri``,
    or ``__accountName`` for host storage) names the account and managed identity signs in.
    """
    if env.get(connection):
        return BlobServiceClient.from_connection_string(env[connection], **CLIENT_OPTIONS)
    account_url = env.get(f"{connection}__blobServiceUri") or env.get(f"{connection}__serviceUri")
    if not account_url and env.get(f"{connection}__accountName"):
        account_url = f"https://{env[f'{connection}__accountName']}.blob.core.windows.net"
    if not account_url:
        raise ValueError(f"storage connection {connection} is not configured")
    client_id = env.get(f"{connection}__clientId")
    if env.get(f"{connection}__credential") == "managedidentity" and client_id:
        from azure.identity import ManagedIdentityCredential

        credential = ManagedIdentityCredential(client_id=client_id)
    return BlobServiceClient(account_url=account_url, credential=credential, **CLIENT_OPTIONS)
