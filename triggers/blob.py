"""Blob trigger: a new blob version in the watched container -> pipeline runs for the rules it matches."""

import os

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from shared.clients.process.services import process_services
from shared.core.config.config_loader import TRIGGER_SOURCES, blob_trigger_source, read_at_indexing
from shared.flows.blobs.blob_runs import process_blob

bp = func.Blueprint()


@bp.function_name("start_runs_for_new_blob")
@bp.blob_trigger(
    arg_name="client",
    path="%WATCH_CONTAINER%/{name}",
    connection="WATCH_STORAGE",
    # A bad BLOB_TRIGGER_SOURCE still indexes (on Event Grid); each invocation then fails with the problem.
    source=func.BlobSource(read_at_indexing(lambda: blob_trigger_source(os.environ), TRIGGER_SOURCES[0])),
)
def start_runs_for_new_blob(client: blob.BlobClient) -> None:
    """The SDK-type binding hands over a client, never the blob's bytes; at most 64 KiB is read."""
    process_blob(client, process_services())
