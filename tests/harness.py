"""Test helpers over Azurite: upload blobs, read ledger records. Host-style delivery lives in localdev.host."""

from __future__ import annotations

import json
import os
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from localdev.host import BLOB_FUNCTION, deliver_blob, host_blob_client, indexed_function, indexed_functions
from shared.keys import blob_version_key, normalize_etag
from shared.ledger import record_name, rule_namespace

PROJECT_ROOT = Path(__file__).resolve().parent.parent
__all__ = ["BLOB_FUNCTION", "PROJECT_ROOT", "deliver_blob", "host_blob_client", "indexed_function",
           "indexed_functions", "ledger_record", "service_client", "upload"]


def service_client() -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(os.environ["WATCH_STORAGE"])


def upload(container: str, blob_name: str, data: bytes) -> str:
    """Upload (or overwrite) a blob; returns its bare ETag."""
    result = service_client().get_blob_client(container, blob_name).upload_blob(data, overwrite=True)
    return normalize_etag(result["etag"])


def ledger_record(rule: str, container: str, blob_name: str, etag: str) -> dict | None:
    """The ledger's record for one rule and blob version, or None."""
    ledger = BlobServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"]).get_container_client(
        os.environ["LEDGER_CONTAINER"])
    blob = ledger.get_blob_client(record_name(rule_namespace(rule), blob_version_key(container, blob_name, etag)))
    return json.loads(blob.download_blob().readall()) if blob.exists() else None
