"""Writes a stamp (``shared.core.blobs.stamps``) onto the blob version it is about, as blob index tags.

Needs the tags permission on the watched container (Storage Blob Data Owner has
``Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read`` and ``.../tags/write``; Storage Blob
Data Contributor has neither; a SAS needs ``t``). A stamp that cannot be written (no permission, throttling, the
blob overwritten meanwhile) is logged and never fails or repeats the run: the ledger record is what counts.
"""

from __future__ import annotations

import logging

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceModifiedError
from azure.storage.blob import ContainerClient

from shared.core.blobs.stamps import Stamp, merged_tags, stamp_of
from shared.core.ledger.decisions import Decision, log_event


def stamp_outcome(watched: ContainerClient, decision: Decision) -> None:
    """Stamp the blob version ``decision`` is about with its outcome, when it calls for one."""
    stamp = stamp_of(decision)
    if stamp is not None and decision.blob is not None and decision.etag is not None:
        write_stamp(watched, decision.blob, decision.etag, stamp)


def write_stamp(watched: ContainerClient, blob: str, etag: str, stamp: Stamp) -> bool:
    """Merge ``stamp`` into the tags of ``blob`` as long as it is still version ``etag``; True when written.

    Called again for the same blob and trigger (a run's final status), it replaces that trigger's tag alone.
    The tags are read, then written on the condition that the blob is still ``etag`` (the ETag the run's ranged
    read learned): the SDK sends it as ``x-ms-blob-if-match``, which Azure evaluates on Set Blob Tags from
    x-ms-version 2026-02-06 (412 when the blob was overwritten), so a newer version never gets an older one's
    stamp without a request to check first. Azurite ignores the condition (docs/operating.md, "From a file to its run").
    A user tagging the blob between the read and the write may lose that one change.
    """
    where = {"blob": blob, "etag": etag, "tag": stamp.key}
    client = watched.get_blob_client(blob)
    try:
        existing = client.get_blob_tags()
        tags = merged_tags(existing, stamp)
        if isinstance(tags, str):
            log_event(logging.WARNING, problem=f"stamp not written: {tags}", **where)
            return False
        if tags != existing:
            client.set_blob_tags(tags, etag=f'"{etag}"', match_condition=MatchConditions.IfNotModified)
    except ResourceModifiedError:
        log_event(logging.INFO, problem="stamp not written: the blob was overwritten since; the newer version gets "
                                        "its own", **where)
        return False
    except HttpResponseError as error:
        code = getattr(error, "error_code", None)  # the storage SDK sets it on the errors it raises
        log_event(logging.WARNING, problem=f"stamp not written: {error.status_code} {code}; the run and "
                                           "its record stand (the tags permission is Storage Blob Data Owner's)",
                  **where)
        return False
    except AzureError as error:
        log_event(logging.WARNING, problem=f"stamp not written: {type(error).__name__}; the run and its record "
                                           "stand", **where)
        return False
    return True
