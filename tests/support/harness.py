"""Test helpers over Azurite: upload blobs, read ledger records. Host-style delivery lives in localdev.host."""

from __future__ import annotations

import inspect
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.storage.blob import BlobServiceClient
from azurefunctions.extensions.base import meta as extension_meta

from localdev.host import BLOB_FUNCTION, deliver_blob, host_blob_client, indexed_function, indexed_functions
from shared.core.ledger.keys import blob_version_key, normalize_etag, record_name, rule_namespace

PROJECT_ROOT = Path(__file__).resolve().parents[2]
__all__ = [
    "BLOB_FUNCTION",
    "PROJECT_ROOT",
    "assert_parameters_fit_bindings",
    "deliver_blob",
    "host_blob_client",
    "indexed_function",
    "indexed_functions",
    "ledger_record",
    "run_together",
    "service_client",
    "upload",
]


def assert_parameters_fit_bindings(function: Any) -> None:
    """What the worker checks at load: one parameter per input binding, each annotated with a type its
    converter accepts (an SDK type through the extension's converter, else the library's)."""
    bindings = json.loads(function.get_function_json())["bindings"]
    signature = inspect.signature(function.get_user_function())
    assert set(signature.parameters) == {b["name"] for b in bindings if b["direction"] == "IN"}
    for binding in bindings:
        if binding["name"] == "$return":
            converter = func.meta.get_binding_registry().get(binding["type"])
            assert converter.check_output_type_annotation(signature.return_annotation), binding
            continue
        annotation = signature.parameters[binding["name"]].annotation
        sdk_converter = extension_meta.get_binding_registry().get(binding["type"])
        if sdk_converter is not None and extension_meta.get_binding_registry().check_supported_type(annotation):
            assert sdk_converter.check_input_type_annotation(annotation), binding
        else:
            converter = func.meta.get_binding_registry().get(binding["type"])
            assert converter is not None and converter.check_input_type_annotation(annotation), binding


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call on its own thread at the same instant; each one's result, or the exception it raised."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def service_client() -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(os.environ["WATCH_STORAGE"])


def upload(container: str, blob_name: str, data: bytes) -> str:
    """Upload (or overwrite) a blob; returns its bare ETag."""
    result = service_client().get_blob_client(container, blob_name).upload_blob(data, overwrite=True)
    return normalize_etag(result["etag"])


def ledger_record(rule: str, container: str, blob_name: str, etag: str) -> dict | None:
    """The ledger's record for one rule and blob version, or None."""
    connection = os.environ[os.environ.get("LEDGER_STORAGE") or "AzureWebJobsStorage"]
    ledger = BlobServiceClient.from_connection_string(connection).get_container_client(
        os.environ["LEDGER_CONTAINER"])
    blob = ledger.get_blob_client(record_name(rule_namespace(rule), blob_version_key(container, blob_name, etag)))
    return json.loads(blob.download_blob().readall()) if blob.exists() else None
