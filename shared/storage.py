"""Blob clients built only from checked storage connections (shared.storage_endpoints), never from raw settings."""

from __future__ import annotations

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.storage.blob import BlobServiceClient

from shared.storage_endpoints import StorageAccount

CLIENT_OPTIONS = {"connection_timeout": 10, "read_timeout": 30, "retry_total": 3}
"""Bounded I/O: the SDK defaults can wait minutes, longer than a claim should stay unsettled."""


def blob_service_client(account: StorageAccount, credential: TokenCredential) -> BlobServiceClient:
    """A client for a checked account: its key or SAS when the connection string has one, else managed identity
    (``<connection>__clientId`` picks a user-assigned identity for this connection alone)."""
    signer: object = credential
    if account.account_key:
        signer = AzureNamedKeyCredential(*account.account_key)
    elif account.sas:
        signer = AzureSasCredential(account.sas)
    elif account.client_id:
        from azure.identity import ManagedIdentityCredential

        signer = ManagedIdentityCredential(client_id=account.client_id)
    return BlobServiceClient(account_url=account.blob_url, credential=signer, **CLIENT_OPTIONS)
