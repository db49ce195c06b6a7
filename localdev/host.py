"""Call the app the way the Functions host and Python worker do: index function_app.py, build the SDK-type
binding's BlobClient from model_binding_data, call the user function. For the demo and the tests (Core Tools,
`func`, cannot run everywhere; this path is what the worker itself executes after the host delivers an event).
"""

from __future__ import annotations

import functools
import importlib
import json
import threading
from types import SimpleNamespace
from typing import Any

import azurefunctions.extensions.bindings.blob as blob
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequest
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.blob.blobClientConverter import BlobClientConverter

BLOB_FUNCTION = "start_runs_for_new_blob"
RUN_EVENT_FUNCTION = "record_run_status"


_INDEXING = threading.Lock()


def indexed_functions() -> dict[str, Any]:
    """The app's functions as the worker indexes them (once per process: indexing is single-shot). Deliveries from
    several threads wait for one indexing, as the host indexes before it delivers anything: two at once would
    index the app twice and be refused (``does not have a unique function name``)."""
    with _INDEXING:
        return _index()


@functools.cache
def _index() -> dict[str, Any]:
    import function_app

    return {function.get_function_name(): function for function in function_app.app.get_functions()}


def indexed_function(name: str) -> Any:
    return indexed_functions()[name]


def restart_app() -> dict[str, Any]:
    """Import the app afresh and index it, as a host restart does (schedules are read at indexing)."""
    import function_app
    import triggers.blob
    import triggers.http
    import triggers.run_events
    import triggers.sweep
    import triggers.timers
    from shared.clients.process.services import rules_file_at_indexing

    rules_file_at_indexing.cache_clear()  # read once per process: a restart is a new one
    for module in (triggers.blob, triggers.timers, triggers.sweep, triggers.http, triggers.run_events, function_app):
        importlib.reload(module)
    _index.cache_clear()
    return indexed_functions()


def fire_timer(function_name: str, *, past_due: bool = False) -> Any:
    """One tick of a timer function, with the TimerRequest the worker builds."""
    function = indexed_function(function_name)
    binding = json.loads(function.get_function_json())["bindings"][0]
    return function.get_user_function()(**{binding["name"]: TimerRequest(past_due=past_due)})


def host_blob_client(container: str, blob_name: str, connection: str = "WATCH_STORAGE") -> blob.BlobClient:
    """The BlobClient the worker builds from the host's model_binding_data for an SDK-type blob trigger."""
    content = json.dumps({"Connection": connection, "ContainerName": container, "BlobName": blob_name})
    binding_data = SimpleNamespace(version="1.0", source="AzureStorageBlobs", content_type="application/json",
                                   content=content)
    return BlobClientConverter.decode(Datum(binding_data, "model_binding_data"), trigger_metadata=None,
                                      pytype=blob.BlobClient)


def deliver_blob(container: str, blob_name: str) -> Any:
    """One delivery of the blob trigger: resolve the parameter from the binding JSON and call the function."""
    function = indexed_function(BLOB_FUNCTION)
    binding = json.loads(function.get_function_json())["bindings"][0]
    return function.get_user_function()(**{binding["name"]: host_blob_client(container, blob_name)})


def deliver_event(event: dict[str, Any], function_name: str = RUN_EVENT_FUNCTION) -> Any:
    """One element of an Event Grid delivery, as the host hands it to the worker (JSON) and the worker decodes it:
    a CloudEvent when it has ``specversion``, else an EventGridEvent; then the function is called with it."""
    function = indexed_function(function_name)
    binding = json.loads(function.get_function_json())["bindings"][0]
    decoded = EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata=None)
    return function.get_user_function()(**{binding["name"]: decoded})
