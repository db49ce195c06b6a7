"""Reading the data a run gets: one ranged read of a blob version (its ETag, size and first 64 KiB), and the
version a schedule picks at fire time."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobProperties, ContainerClient

from shared.core.blobs.batches import Listed
from shared.core.blobs.csv_head import HEAD_BYTES
from shared.core.common.redaction import redact_url
from shared.core.config.config_model import BlobFilter, DataSource
from shared.core.config.matching import mismatch
from shared.core.ledger.keys import normalize_etag
from shared.core.runs.run_requests import BlobVersion, RunRequest

ZERO_BYTES = "zero-byte blob (its content arrives as a newer version)"
MISSING = "blob no longer exists"
LISTED_READERS = 8
"""Ranged reads of a manifest's files in flight at once (1,000 files: 10 s one at a time, 6 s so, on a busy machine)."""


class ListedBlob(Protocol):
    name: str
    last_modified: datetime
    size: int


def read_blob_version(blob: BlobClient, expected_etag: str | None = None, *,
                      empty_ok: bool = False) -> BlobVersion | str:
    """The blob's current version and first 64 KiB, or why there is nothing to process.

    With ``expected_etag`` (an event that names its version) a newer version is reported, not read: the newer
    version's own event starts its run. ``empty_ok``: a zero-byte blob is a version too (a ``_SUCCESS`` marker).
    """
    conditions: dict[str, Any] = {}
    if expected_etag:
        conditions = {"etag": f'"{normalize_etag(expected_etag)}"', "match_condition": MatchConditions.IfNotModified}
    try:
        downloader = blob.download_blob(offset=0, length=HEAD_BYTES, **conditions)
        head = downloader.readall()
    except ResourceNotFoundError:
        return MISSING
    except ResourceModifiedError:
        return "blob was overwritten since the event; the newer version's event starts its run"
    except HttpResponseError as error:
        # A ranged read of an empty blob (ADLS CreateFile before flush); the storage SDK sets error_code.
        if getattr(error, "error_code", None) != "InvalidRange":
            raise
        if not empty_ok:
            return ZERO_BYTES
        return _version(blob, blob.get_blob_properties(**conditions), 0, b"")
    size = _total_size(downloader.properties)
    if size == 0 and not empty_ok:
        return ZERO_BYTES
    return _version(blob, downloader.properties, size, head)


def _version(blob: BlobClient, properties: BlobProperties, size: int, head: bytes) -> BlobVersion:
    """The version as read; its last-modified time and metadata come with the read's answer (no request more)."""
    # A SAS in the client's URL must never travel into a job input or a response.
    return BlobVersion(container=blob.container_name, name=blob.blob_name, url=redact_url(blob.url),
                       etag=normalize_etag(properties.etag), size=size, head=head,
                       last_modified=properties.last_modified, metadata=dict(properties.metadata or {}))


def with_listed_files(request: RunRequest, container: ContainerClient) -> RunRequest:
    """``request`` with the files its manifest lists as they are now (a manifest marker's request), else itself."""
    if request.batch is None or not isinstance(request.batch.listed, tuple):
        return request
    return request.with_checked(read_listed(request.batch.listed, container))


def read_listed(names: Iterable[str], container: ContainerClient) -> tuple[Listed, ...]:
    """The files a manifest lists, one ranged read each (LISTED_READERS at a time, in the manifest's order):
    their versions, or why each is unusable."""
    with ThreadPoolExecutor(LISTED_READERS) as pool:
        return tuple(pool.map(lambda name: _listed(name, container), names))


def _listed(name: str, container: ContainerClient) -> Listed:
    version = read_blob_version(container.get_blob_client(name))
    if isinstance(version, str):
        return Listed(name, unusable="missing" if version == MISSING else version)
    return Listed(name, etag=version.etag, head=version.head, size=version.size)


def _total_size(properties: BlobProperties) -> int:
    """The whole blob's size: for a ranged read ``size`` is the range's, the total is in ``Content-Range``."""
    total = (properties.content_range or "").rpartition("/")[2]
    return int(total) if total.isdigit() else properties.size


def newest_blob(blobs: Iterable[ListedBlob], watch: BlobFilter) -> ListedBlob | None:
    """The newest non-empty blob ``watch`` takes: latest last-modified, then the greatest name on a tie."""
    candidates = (blob for blob in blobs if blob.size > 0 and mismatch(watch, blob.name) is None)
    return max(candidates, key=lambda blob: (blob.last_modified, blob.name), default=None)


def choose_data(data: DataSource, container: ContainerClient) -> BlobVersion | str:
    """The blob version a run gets now, read once (first 64 KiB); or why there is none."""
    if data.blob is not None:
        version = read_blob_version(container.get_blob_client(data.blob))
        return f"{data.blob}: {version}" if isinstance(version, str) else version
    assert data.newest is not None
    newest = newest_blob(container.list_blobs(name_starts_with=data.newest.prefix or None), data.newest)
    if newest is None:
        return (f"no data: no non-empty blob under {data.newest.prefix!r} ending with {data.newest.suffix!r}"
                + ("" if data.newest.include_subfolders else " (subfolders not included)"))
    version = read_blob_version(container.get_blob_client(newest.name))
    return f"{newest.name}: {version}" if isinstance(version, str) else version
