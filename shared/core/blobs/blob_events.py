"""An Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event, checked as the app checks every event
it is handed (``explain``, a dead-letter replay): which container, blob and version it names. Pure."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from shared.core.blobs.blob_names import BlobNameError, checked_blob_name
from shared.core.common.errors import InvalidInput

_SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")


def blob_from_event(event: Any) -> tuple[str, str, str | None]:
    """Container, blob name and ETag of an Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event."""
    if not isinstance(event, dict):
        raise InvalidInput("an event is a JSON object")
    event_type = event.get("eventType") or event.get("type")
    if event_type != "Microsoft.Storage.BlobCreated":
        raise InvalidInput(f"not a Microsoft.Storage.BlobCreated event (eventType {event_type!r})")
    subject = event.get("subject")
    match = _SUBJECT.match(subject) if isinstance(subject, str) else None
    if match is None:
        raise InvalidInput("subject must be /blobServices/default/containers/<container>/blobs/<path>")
    try:
        name = checked_blob_name(match.group("blob"), "subject's blob")
    except BlobNameError as error:
        raise InvalidInput(str(error)) from None
    data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
    url = data.get("url")
    if url is not None and _path_of_event_url(url) != f"{match.group('container')}/{name}":
        raise InvalidInput("data.url must name the blob that subject names "
                           "(https://<account>.blob.core.windows.net/<container>/<path>)")
    etag = data.get("eTag")
    if etag is not None and not isinstance(etag, str):
        raise InvalidInput("data.eTag must be a string")
    return match.group("container"), name, etag


def _path_of_event_url(url: Any) -> str | None:
    """``<container>/<blob>`` of an event's ``data.url`` (percent-decoded once, as storage encodes it)."""
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return unquote(path[1:]) if path.startswith("/") else None
