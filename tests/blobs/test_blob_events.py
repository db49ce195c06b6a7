"""A BlobCreated event, as explain and a dead-letter replay are handed it: the container, blob and ETag it names,
or an InvalidInput naming the field that is wrong (Event Grid's and CloudEvents' shapes alike)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.blobs.blob_events import blob_from_event
from shared.core.common.errors import InvalidInput

pytestmark = pytest.mark.unit

_SUBJECT = "/blobServices/default/containers/incoming/blobs/daily/machines.csv"
_URL = "https://acct.blob.core.windows.net/incoming/daily/machines.csv"


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"eventType": "Microsoft.Storage.BlobCreated", "subject": _SUBJECT,
                             "data": {"url": _URL, "eTag": "0x8DC"}}
    event.update(changes)
    return event


def _refusal(event: Any) -> str:
    with pytest.raises(InvalidInput) as raised:
        blob_from_event(event, account="acct")
    return str(raised.value)


def test_an_event_grid_event_names_its_container_blob_and_etag() -> None:
    assert blob_from_event(_event(), account="acct") == ("incoming", "daily/machines.csv", "0x8DC")


def test_a_cloudevents_event_is_read_by_its_type_and_its_etag_and_url_may_be_left_out() -> None:
    event = {"type": "Microsoft.Storage.BlobCreated", "subject": _SUBJECT, "data": {}}
    assert blob_from_event(event, account="acct") == ("incoming", "daily/machines.csv", None)


def test_an_event_without_data_still_names_its_blob() -> None:
    event = _event()
    del event["data"]
    assert blob_from_event(event, account="acct") == ("incoming", "daily/machines.csv", None)
    assert blob_from_event(_event(data="not an object"), account="acct") == ("incoming", "daily/machines.csv", None)


def test_the_url_is_percent_decoded_once_as_storage_encodes_it() -> None:
    event = _event(subject="/blobServices/default/containers/incoming/blobs/day one/a.csv",
                   data={"url": "https://acct.blob.core.windows.net/incoming/day%20one/a.csv"})
    assert blob_from_event(event, account="acct") == ("incoming", "day one/a.csv", None)


@pytest.mark.parametrize(("event", "message"), [
    (["not", "an", "object"], "an event is a JSON object"),
    (_event(eventType="Microsoft.Storage.BlobDeleted"),
     "not a Microsoft.Storage.BlobCreated event (eventType 'Microsoft.Storage.BlobDeleted')"),
    ({"subject": _SUBJECT}, "not a Microsoft.Storage.BlobCreated event (eventType None)"),
    (_event(subject=None), "subject must be /blobServices/default/containers/<container>/blobs/<path>"),
    (_event(subject="/blobServices/default/containers/incoming/blobs/"),
     "subject must be /blobServices/default/containers/<container>/blobs/<path>"),
    (_event(subject="x/blobServices/default/containers/incoming/blobs/a.csv"),
     "subject must be /blobServices/default/containers/<container>/blobs/<path>"),
    (_event(subject="/blobServices/default/containers/in/coming/blobs/a.csv", data={}),
     "subject must be /blobServices/default/containers/<container>/blobs/<path>"),
    (_event(subject="/blobServices/default/containers/incoming/blobs/a/../b.csv"),
     "subject's blob 'a/../b.csv' has a '.' or '..' segment: it would leave the path it names"),
    (_event(data={"url": "https://acct.blob.core.windows.net/incoming/other.csv"}),
     "data.url must name the blob that subject names (https://<account>.blob.core.windows.net/<container>/<path>)"),
    (_event(data={"url": 7}), "data.url must name the blob that subject names"),
    (_event(data={"url": "https://acct.blob.core.windows.net"}), "data.url must name the blob that subject names"),
    (_event(data={"url": "Xincoming/daily/machines.csv"}), "data.url must name the blob that subject names"),
    (_event(data={"url": "https://[acct/incoming/daily/machines.csv"}),
     "data.url must name the blob that subject names"),
    (_event(data={"url": _URL, "eTag": 7}), "data.eTag must be a string"),
])
def test_a_malformed_event_is_refused_naming_the_field(event: Any, message: str) -> None:
    assert _refusal(event).startswith(message)


_ACCOUNT_ID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/"
_OTHER = "not the watched account 'acct': an event of another account is not replayed or explained against this one"
_NOT_AN_ID = ("must be a storage account's resource id (/subscriptions/<id>/resourceGroups/<group>/providers/"
              "Microsoft.Storage/storageAccounts/<account>)")


@pytest.mark.parametrize(("event", "message"), [
    (_event(topic=_ACCOUNT_ID + "other"), f"topic names storage account 'other', {_OTHER}"),
    (_event(topic=_ACCOUNT_ID + "o" * 150), f"topic names storage account '{'o' * 100}', {_OTHER}"),
    ({"specversion": "1.0", "source": _ACCOUNT_ID + "other", **_event()}, f"source names storage account 'other', "
                                                                         f"{_OTHER}"),
    (_event(data={"url": "https://other.blob.core.windows.net/incoming/daily/machines.csv"}),
     f"data.url names storage account 'other', {_OTHER}"),
    (_event(data={"url": "https://other.z07.blob.storage.azure.net/incoming/daily/machines.csv"}),
     f"data.url names storage account 'other', {_OTHER}"),
    (_event(topic=_ACCOUNT_ID + "acct/blobServices/default"), f"topic {_NOT_AN_ID}"),
    (_event(topic="x" + _ACCOUNT_ID + "acct"), f"topic {_NOT_AN_ID}"),
    (_event(topic="/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/acct"), f"topic {_NOT_AN_ID}"),
    (_event(topic=""), f"topic {_NOT_AN_ID}"),
    (_event(topic=7), f"topic {_NOT_AN_ID}"),
    ({"specversion": "1.0", "source": "s", **_event()}, f"source {_NOT_AN_ID}"),
])
def test_an_event_of_another_storage_account_is_refused_naming_the_field_that_says_so(event: Any,
                                                                                        message: str) -> None:
    assert _refusal(event) == message


def test_the_account_is_matched_case_insensitively_and_left_uncompared_where_unknown() -> None:
    shouted = _event(topic=_ACCOUNT_ID.upper() + "ACCT", data={"url": "https://ACCT.blob.core.windows.net/incoming/"
                                                                      "daily/machines.csv"})
    assert blob_from_event(shouted, account="acct") == ("incoming", "daily/machines.csv", None)
    custom_domain = _event(data={"url": "https://data.example.com/incoming/daily/machines.csv"})
    assert blob_from_event(custom_domain, account="acct") == ("incoming", "daily/machines.csv", None)
    other = _event(topic=_ACCOUNT_ID + "other", data={"url": "https://other.blob.core.windows.net/incoming/daily/"
                                                             "machines.csv"})
    assert blob_from_event(other, account=None) == ("incoming", "daily/machines.csv", None)
    with pytest.raises(InvalidInput, match=r"^topic must be a storage account's resource id"):
        blob_from_event(_event(topic="s"), account=None)
