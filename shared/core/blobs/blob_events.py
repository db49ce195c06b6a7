"""An Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event, checked as the app checks every event
it is handed (``explain``, a dead-letter replay): which container, blob and version it names, and that it comes
from the watched account. Pure.

The blob trigger itself is handed no event: the Functions host reads the blob through ``WATCH_STORAGE``, and the
subscription that feeds it sits on the watched account's system topic, so the account check lives here, where
an event is read by the app itself."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from shared.core.blobs.blob_names import BlobNameError, checked_blob_name
from shared.core.common.errors import InvalidInput
from shared.core.storage.storage_endpoints import azure_storage_host

_SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")
_ACCOUNT_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/"
                         r"storageAccounts/(?P<account>[^/]+)$", re.IGNORECASE)


def blob_from_event(event: Any, *, account: str | None) -> tuple[str, str, str | None]:
    """Container, blob name and ETag of an Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event
    from storage account ``account`` (the watched one; None: a custom domain's, unknown, not compared): an event
    of another account names a blob that is not the watched one, even where container and path are the same."""
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
    if data.get("url") is not None:
        _check_url(data["url"], f"{match.group('container')}/{name}", account)
    _check_topic(event, account)
    etag = data.get("eTag")
    if etag is not None and not isinstance(etag, str):
        raise InvalidInput("data.eTag must be a string")
    return match.group("container"), name, etag


def _check_url(url: Any, path: str, account: str | None) -> None:
    """``data.url`` names the blob that ``subject`` names (``path``), and the watched account where its host is an
    account's; InvalidInput naming the field otherwise."""
    if _path_of_event_url(url) != path:
        raise InvalidInput("data.url must name the blob that subject names "
                           "(https://<account>.blob.core.windows.net/<container>/<path>)")
    host = azure_storage_host(urlsplit(url).hostname or "")
    if host is not None:
        _same_account("data.url", host.group("account"), account)


def _check_topic(event: dict[str, Any], account: str | None) -> None:
    """The account the event's ``topic`` (CloudEvents: ``source``) names, where given, is ``account``."""
    field = "source" if "specversion" in event else "topic"
    topic = event.get(field)
    if topic is not None:
        match = _ACCOUNT_ID.match(topic) if isinstance(topic, str) else None
        if match is None:
            raise InvalidInput(f"{field} must be a storage account's resource id "
                               "(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/"
                               "storageAccounts/<account>)")
        _same_account(field, match.group("account"), account)


def _same_account(field: str, named: str, account: str | None) -> None:
    if account is not None and named.lower() != account.lower():
        raise InvalidInput(f"{field} names storage account {named[:100]!r}, not the watched account {account!r}: "
                           "an event of another account is not replayed or explained against this one")


def _path_of_event_url(url: Any) -> str | None:
    """``<container>/<blob>`` of an event's ``data.url`` (percent-decoded once, as storage encodes it)."""
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return unquote(path[1:]) if path.startswith("/") else None
