"""Post a real ``Microsoft.Storage.BlobCreated`` event to ``func start``'s blob-trigger webhook, as Event Grid does.

    ./dev eventgrid BLOB [--upload FILE] [--settings local.settings.json] [--host http://localhost:7071]
                         [--schema eventgrid|cloudevents] [--print]

BLOB is a path in the watched container (WATCH_CONTAINER) of the local Azurite account (WATCH_STORAGE, which
must point at Azurite or another loopback endpoint). The blob must exist there, since the host reads it when the
event arrives; ``--upload FILE`` puts it there first, and nothing is uploaded otherwise. The event carries the
blob's real ETag, length and content type, and goes to
``/runtime/webhooks/blobs?functionName=Host.Functions.<the app's blob function>`` with ``aeg-event-type:
Notification``, so the host keeps the EventGrid source (BLOB_TRIGGER_SOURCE=EventGrid) locally. Exit 0 when the
host answers 2xx, 1 otherwise (the answer on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobProperties, BlobServiceClient, ContainerClient

from cli.__main__ import settings_file
from localdev.azurite import PROJECT_ROOT
from shared.core.config.settings import WATCH_CONTAINER, WATCH_STORAGE
from shared.core.ledger.keys import normalize_etag

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
"""Made up: a local account has no subscription, and the host does not read the topic."""
SCHEMAS = ("eventgrid", "cloudevents")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def blob_function_name() -> str:
    """The indexed name of the app's blob-trigger function: the webhook's ``Host.Functions.<name>``."""
    from localdev.host import indexed_functions

    names = [name for name, function in indexed_functions().items()
             if json.loads(function.get_function_json())["bindings"][0]["type"] == "blobTrigger"]
    if len(names) != 1:
        raise RuntimeError(f"expected one blob-trigger function in the app, found {names}")
    return names[0]


def webhook_url(host: str, function_name: str) -> str:
    return f"{host.rstrip('/')}/runtime/webhooks/blobs?functionName=Host.Functions.{function_name}"


def blob_created_event(blob: BlobClient, properties: BlobProperties, schema: str, now: datetime,
                       new_id: Callable[[], str]) -> dict[str, Any]:
    """The event Event Grid sends for ``blob``'s current version, in ``schema`` (Event Grid or CloudEvents 1.0).

    ``sequencer`` is the blob's last-modified time in 100 ns ticks, as 48 hex digits: like storage's, it sorts the
    versions of one blob name by plain string comparison."""
    modified = properties.last_modified or now
    data = {
        "api": "PutBlob",
        "clientRequestId": new_id(),
        "requestId": new_id(),
        "eTag": normalize_etag(properties.etag),
        "contentType": properties.content_settings.content_type or "application/octet-stream",
        "contentLength": properties.size,
        "blobType": "BlockBlob",
        "url": blob.url,
        "sequencer": f"{int(modified.timestamp() * 10_000_000):048X}",
        "storageDiagnostics": {"batchId": new_id()},
    }
    topic = (f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/local/providers/Microsoft.Storage/"
             f"storageAccounts/{blob.account_name}")
    subject = f"/blobServices/default/containers/{blob.container_name}/blobs/{blob.blob_name}"
    time = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if schema == "cloudevents":
        return {"source": topic, "subject": subject, "type": BLOB_CREATED, "time": time, "id": new_id(),
                "data": data, "specversion": "1.0"}
    return {"topic": topic, "subject": subject, "eventType": BLOB_CREATED, "eventTime": time, "id": new_id(),
            "data": data, "dataVersion": "", "metadataVersion": "1"}


def delivery_body(event: dict[str, Any]) -> Any:
    """What the webhook receives: Event Grid's schema always comes as an array; a CloudEvent alone, as the
    quickstart's test.http posts it."""
    return event if "specversion" in event else [event]


def local_container(settings: Mapping[str, str]) -> ContainerClient:
    """The watched container of the local account; a non-loopback account is refused."""
    connection = WATCH_STORAGE.read(settings)
    container = WATCH_CONTAINER.read(settings)
    if not connection or not container:
        raise SystemExit("WATCH_STORAGE and WATCH_CONTAINER must be set (--settings local.settings.json)")
    service = BlobServiceClient.from_connection_string(connection)
    if urlsplit(service.url).hostname not in _LOOPBACK:
        raise SystemExit(f"WATCH_STORAGE must name a local account (Azurite), not {urlsplit(service.url).hostname}")
    return service.get_container_client(container)


def main(argv: Sequence[str] | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC),
         new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> int:
    args = _parser().parse_args(argv)
    settings = {**settings_file(args.settings or _default_settings()), **os.environ}  # the environment wins
    container = local_container(settings)
    blob = container.get_blob_client(args.blob)
    if args.upload:
        if not container.exists():
            container.create_container()
        blob.upload_blob(Path(args.upload).read_bytes(), overwrite=True)
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        print(f"{blob.url}: no such blob in the local account; upload it first (--upload FILE). Nothing was posted.",
              file=sys.stderr)
        return 1
    body = delivery_body(blob_created_event(blob, properties, args.schema, now(), new_id))
    url = webhook_url(args.host, blob_function_name())
    if args.print:
        print(f"POST {url}\n{json.dumps(body, indent=2)}")
    answer = requests.post(url, json=body, headers={"aeg-event-type": "Notification"}, timeout=60)
    print(f"{answer.status_code} from POST {url}", file=sys.stderr if answer.status_code >= 300 else sys.stdout)
    if answer.status_code >= 300:
        print(answer.text, file=sys.stderr)
        return 1
    return 0


def _default_settings() -> str:
    """local.settings.json, as func start reads it; else the sample it is copied from."""
    own = PROJECT_ROOT / "local.settings.json"
    return str(own if own.exists() else PROJECT_ROOT / "local.settings.sample.json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./dev eventgrid", description=__doc__.split("\n\n")[0])
    parser.add_argument("blob", help="path in the watched container, e.g. incoming/machineData.csv")
    parser.add_argument("--upload", metavar="FILE", help="upload FILE to that blob first (overwriting it)")
    parser.add_argument("--settings", metavar="FILE",
                        help="local.settings.json-style file (default: local.settings.json, else the sample)")
    parser.add_argument("--host", default="http://localhost:7071", help="where func start listens")
    parser.add_argument("--schema", choices=SCHEMAS, default="eventgrid",
                        help="Event Grid schema (a subscription's default delivery schema) or CloudEvents 1.0")
    parser.add_argument("--print", action="store_true", help="also print the request")
    return parser


if __name__ == "__main__":
    sys.exit(main())
