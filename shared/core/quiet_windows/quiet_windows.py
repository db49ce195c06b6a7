"""Quiet windows, pure: a file's entry in its folder's open batch, the folder's state (how far its fired batches
reach), the open batches a listing holds, when each fires, and the one run a batch asks for (on its folder, like a
``_SUCCESS`` marker's).

One entry blob per file version, created once (``If-None-Match: *``) and never written again: a redelivered event
finds it and adds nothing. Its Last-Modified (the storage server's clock, whole seconds) says when it arrived. A
folder's state, one small document per (rule, folder) swapped once per fired batch, holds the cut-off of the batches
fired so far: the newest Last-Modified they covered and the entries of exactly that second they covered. An entry is
open when it is newer than the cut-off, or of the cut-off's second and not among its names. The batch key is hashed
from the oldest open entry and the state advances only once the batch's record is settled (from the files the record
lists), so after a crash at any step the same key comes back and the ledger's claim answers for it.

Entries are not deleted by the app (a request per file): the storage account's lifecycle rule deletes those older
than ``ENTRY_RETENTION_DAYS`` (infra/main.bicep), and the cut-off keeps the older ones covered meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from shared.core.blobs.batches import Batch, marker_folder
from shared.core.config.config_model import Rule
from shared.core.ledger.keys import blob_version_key, iso, parse_iso, quiet_folder_key, rule_namespace
from shared.core.ledger.ledger_record import SETTLED, LedgerRecord, RunState
from shared.core.ledger.subjects import BatchFile, QuietBatchSubject
from shared.core.runs.payloads import TRIGGERED_BY
from shared.core.runs.run_requests import BlobVersion, RunRequest

QUIET_PREFIX = "quiet/"
"""Where entries live in the ledger container: the prefix the lifecycle rule in infra/main.bicep deletes under."""
FOLDERS_PREFIX = "quiet-folders/"
"""Where folder states live: outside QUIET_PREFIX, so the lifecycle rule never deletes a cut-off."""
LISTING_PREFIX = "quiet"
"""What both prefixes start with: one listing holds every rule's entries and folder states (a request per 5,000)."""
ENTRY_RETENTION_DAYS = 7
"""Days after which the lifecycle rule deletes an entry (``daysAfterModificationGreaterThan`` in infra)."""
COLLECT_HORIZON = timedelta(days=ENTRY_RETENTION_DAYS - 1)
"""The sweep collects no file older than this: its entry may be gone, and collecting it again would start a second
run. A day inside the retention, beyond Event Grid's longest retry (24 h), so no delivery finds its entry deleted."""


def entries_prefix(rule: str) -> str:
    """Where one rule's entries live in the ledger container."""
    return f"{QUIET_PREFIX}{rule}/"


def listed_rule(name: str) -> str:
    """The rule a listed entry or folder state belongs to (rule names hold no '/')."""
    return name.split("/", 2)[1]


def entry_name(rule: str, container: str, blob: str, etag: str) -> str:
    """A file version's entry: named by its version key, so every delivery of it names the same entry."""
    return f"{entries_prefix(rule)}{blob_version_key(container, blob, etag)}"


def folder_state_name(rule: str, folder: str) -> str:
    return f"{FOLDERS_PREFIX}{rule}/{quiet_folder_key(rule, folder)}.json"


def entry_metadata(blob: str, etag: str) -> dict[str, str]:
    """What an entry blob carries (metadata is ASCII: the blob name is percent-encoded)."""
    return {"blob": quote(blob), "etag": etag}


@dataclass(frozen=True)
class Entry:
    """One collected file version, as its entry's listing says: its file, and when it arrived (Last-Modified)."""

    name: str
    blob: str
    etag: str
    arrived: datetime

    @property
    def folder(self) -> str:
        return marker_folder(self.blob)

    @classmethod
    def listed(cls, name: str, metadata: Mapping[str, str], last_modified: datetime) -> Entry:
        return cls(name=name, blob=unquote(metadata["blob"]), etag=metadata["etag"], arrived=last_modified)


@dataclass(frozen=True)
class FolderState:
    """How far a folder's fired batches reach: every entry before ``cutoff``, and the entries of the ``cutoff``
    second named in ``at_cutoff``. ``at_cutoff_count`` is what a listing's metadata says of them (the names live
    in the document only, ``at_cutoff`` None until read): a listing with no more entries of that second than this
    holds only covered ones there (entries are never created in a past second), so it needs no read of the names."""

    folder: str
    cutoff: datetime
    at_cutoff: frozenset[str] | None = frozenset()
    at_cutoff_count: int = 0
    batch: str = ""

    def covers(self, entry: Entry) -> bool:
        """Whether a fired batch covered ``entry``; names unread: asked only when ``names_needed`` said no."""
        return entry.arrived < self.cutoff or (entry.arrived == self.cutoff and (
            self.at_cutoff is None or entry.name in self.at_cutoff))

    def names_needed(self, entries: Iterable[Entry]) -> bool:
        """Whether the listed ``entries`` hold more of the cut-off's second than it covers: only then are the
        names read (a file that arrived in the same second as the batch's newest, after its tick listed)."""
        return sum(entry.arrived == self.cutoff for entry in entries) > self.at_cutoff_count

    def advanced(self, covered: Iterable[Entry], batch: str) -> FolderState:
        """The state once ``covered`` (a settled batch's entries) is fired too; the same state if it already was
        (a second tick settling the same batch)."""
        entries = list(covered)
        newest = max((entry.arrived for entry in entries), default=self.cutoff)
        if newest < self.cutoff:
            return self
        names = frozenset(entry.name for entry in entries if entry.arrived == newest)
        at_cutoff = names | (self.at_cutoff or frozenset()) if newest == self.cutoff else names
        return FolderState(self.folder, newest, at_cutoff, len(at_cutoff), batch)

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "cutoff": iso(self.cutoff), "at_cutoff": sorted(self.at_cutoff or ()),
                "batch": self.batch}

    @property
    def metadata(self) -> dict[str, str]:
        """What a listing of folder states shows of this one, so a tick reads no document to know its cut-off."""
        return {"folder": quote(self.folder), "cutoff": iso(self.cutoff), "at_cutoff": str(self.at_cutoff_count)}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FolderState:
        names = frozenset(str(name) for name in document.get("at_cutoff", []))
        return cls(str(document["folder"]), parse_iso(str(document["cutoff"])), names, len(names),
                   str(document.get("batch", "")))

    @classmethod
    def listed(cls, metadata: Mapping[str, str]) -> FolderState:
        """A state as its listing's metadata says (its names unread)."""
        return cls(unquote(metadata["folder"]), parse_iso(metadata["cutoff"]), None, int(metadata["at_cutoff"]))


@dataclass(frozen=True)
class OpenBatch:
    """A folder's open entries, oldest first, and when the batch fires: ``seconds`` after the newest."""

    folder: str
    entries: tuple[Entry, ...]
    fires_at: datetime

    @property
    def oldest(self) -> Entry:
        return self.entries[0]


def by_folder(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """A listing's entries grouped by their file's folder."""
    grouped: dict[str, list[Entry]] = {}
    for entry in entries:
        grouped.setdefault(entry.folder, []).append(entry)
    return grouped


def open_batch(folder: str, entries: Iterable[Entry], state: FolderState | None, seconds: int) -> OpenBatch | None:
    """The folder's open batch: its entries that ``state`` does not cover (None: none are open)."""
    ordered = tuple(sorted((entry for entry in entries if state is None or not state.covers(entry)),
                           key=lambda entry: (entry.arrived, entry.name)))
    return OpenBatch(folder, ordered, ordered[-1].arrived + timedelta(seconds=seconds)) if ordered else None


def batch_key(oldest: str) -> str:
    """A batch's ledger key, hashed from (the name of) its oldest open entry: after a crash the same key comes
    back."""
    return "quiet-" + oldest.rpartition("/")[2]


def quiet_request(rule: Rule, batch: OpenBatch, container: str, oldest_url: str) -> RunRequest:
    """The one run of a quiet batch: on its folder (the folder of ``oldest_url``, its oldest file's URL). Its
    subject lists the file versions it covers from the claim on, whatever the record then settles as: the files
    its folder's state moves past (``batched_files``), and what a waiting batch's turn or a retry runs on
    (``recorded_request``)."""
    files = tuple(BatchFile(entry.blob, entry.etag) for entry in batch.entries)
    subject = QuietBatchSubject(rule=rule.name, container=container, folder=batch.folder, oldest=batch.oldest.name,
                                fires_at=iso(batch.fires_at), files=files)
    return _batch_request(rule, subject, files, oldest_url)


def recorded_request(rule: Rule, subject: QuietBatchSubject, oldest_url: str) -> RunRequest | None:
    """The run of the quiet batch a record's ``subject`` names, on the files it listed when claimed (None: it
    lists none)."""
    return _batch_request(rule, subject, subject.files, oldest_url) if subject.files else None


def recorded_oldest(subject: QuietBatchSubject) -> str | None:
    """The oldest file a quiet batch's recorded subject lists (its data's URL is that blob's), or None."""
    return subject.files[0].blob if subject.files else None


def _batch_request(rule: Rule, subject: QuietBatchSubject, files: tuple[BatchFile, ...],
                   oldest_url: str) -> RunRequest:
    """A quiet batch's request from its subject and files (oldest first): what a tick and a waiting batch's
    turn both build, so the key, tags and record are the same whichever starts it. A run's record keeps its
    folder, as a ``_SUCCESS`` marker's does: its files are in its subject already."""
    key = batch_key(subject.oldest)
    container, folder = subject.container, subject.folder
    data = BlobVersion(container=container, name=files[0].blob, url=oldest_url, etag=files[0].etag, size=0,
                       head=b"")
    return RunRequest(
        namespace=rule_namespace(rule.name), key=key, run=rule.run, data=data,
        batch=Batch(folder=folder, counted=len(files)), subject=subject,
        tags={"triggered_by": TRIGGERED_BY, "trigger_rule": rule.name, "trigger_folder": f"{container}/{folder}",
              "trigger_key": key},
        about={"rule": rule.name, "folder": folder, "files": len(files), "key": key},
        record={"batch": {"folder": folder}}, disabled=not rule.enabled, limit=rule.limit)


def batched_files(record: LedgerRecord | None) -> set[tuple[str, str]]:
    """The (blob, etag) pairs a quiet batch's record covers once final, as a blob's record covers its version:
    the files its subject lists, whether it was submitted, skipped (a disabled rule, superseded), rejected or
    failed for good; a retry runs it again on them, and a later file opens the folder's next batch. A waiting
    one (or one failed for now) covers none yet: its folder advances once it is started."""
    if record is None or not isinstance(record.subject, QuietBatchSubject):
        return set()
    final = record.state in SETTLED or (record.state == RunState.FAILED and not record.retryable)
    return {(item.blob, item.etag) for item in record.subject.files or ()} if final else set()
