"""Quiet windows, pure: a file's entry in its folder's open batch, the open batches a listing of entries holds,
when each fires, and the one run a batch asks for (on its folder, like a ``_SUCCESS`` marker's).

One entry blob per file version, created once (``If-None-Match: *``) and never deleted: a redelivered event finds
it and adds nothing, even after its batch ran. An entry without ``batch`` metadata is open; once its batch's run
is settled, the entry is marked with the batch's key, the oldest last, so until the last mark the
same oldest entry (whose name the batch key is hashed from) comes back and the ledger's claim answers for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote

from shared.rules.batches import Batch, marker_folder
from shared.rules.config_model import Rule
from shared.rules.keys import blob_version_key, iso, rule_namespace
from shared.rules.payloads import TRIGGERED_BY
from shared.rules.run_requests import BlobVersion, RunRequest

QUIET_PREFIX = "quiet/"


def entries_prefix(rule: str) -> str:
    """Where one rule's entries live in the ledger container: one listing holds its open batches."""
    return f"{QUIET_PREFIX}{rule}/"


def entry_name(rule: str, container: str, blob: str, etag: str) -> str:
    """A file version's entry: named by its version key, so every delivery of it names the same entry."""
    return f"{entries_prefix(rule)}{blob_version_key(container, blob, etag)}"


@dataclass(frozen=True)
class Entry:
    """One collected file version, as its entry's metadata says: when it arrived, and its batch once settled."""

    name: str
    blob: str
    etag: str
    arrived: datetime
    batch: str | None = None

    @property
    def folder(self) -> str:
        return marker_folder(self.blob)

    @property
    def metadata(self) -> dict[str, str]:
        """What the entry blob carries (metadata is ASCII: the blob name is percent-encoded)."""
        return {"blob": quote(self.blob), "etag": self.etag, "arrived": self.arrived.isoformat(),
                **({"batch": self.batch} if self.batch else {})}

    @classmethod
    def from_metadata(cls, name: str, metadata: Mapping[str, str]) -> Entry:
        return cls(name=name, blob=unquote(metadata["blob"]), etag=metadata["etag"],
                   arrived=datetime.fromisoformat(metadata["arrived"]), batch=metadata.get("batch"))


@dataclass(frozen=True)
class OpenBatch:
    """A folder's open entries, oldest first, and when the batch fires: ``seconds`` after the newest."""

    folder: str
    entries: tuple[Entry, ...]
    fires_at: datetime

    @property
    def oldest(self) -> Entry:
        return self.entries[0]


def open_batches(entries: Iterable[Entry], seconds: int) -> list[OpenBatch]:
    """The open batches among ``entries`` (settled ones skipped), one per folder, in folder order."""
    by_folder: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.batch is None:
            by_folder.setdefault(entry.folder, []).append(entry)
    batches = []
    for folder in sorted(by_folder):
        ordered = tuple(sorted(by_folder[folder], key=lambda entry: (entry.arrived, entry.name)))
        batches.append(OpenBatch(folder, ordered, ordered[-1].arrived + timedelta(seconds=seconds)))
    return batches


def batch_key(batch: OpenBatch) -> str:
    """The batch's ledger key, hashed from its oldest open entry: after a crash the same key comes back."""
    return "quiet-" + batch.oldest.name.rpartition("/")[2]


def quiet_request(rule: Rule, batch: OpenBatch, container: str, oldest_url: str) -> RunRequest:
    """The one run of a quiet batch: on its folder (the folder of ``oldest_url``, its oldest file's URL), its
    record listing the file versions it covers."""
    key = batch_key(batch)
    oldest = batch.oldest
    data = BlobVersion(container=container, name=oldest.blob, url=oldest_url,
                       etag=oldest.etag, size=0, head=b"")
    folder = Batch(folder=batch.folder)
    files = [{"blob": entry.blob, "etag": entry.etag} for entry in batch.entries]
    return RunRequest(
        namespace=rule_namespace(rule.name), key=key, run=rule.run, data=data, batch=folder,
        subject={"kind": "quiet-batch", "rule": rule.name, "container": container, "folder": batch.folder,
                 "oldest": oldest.name, "fires_at": iso(batch.fires_at)},
        tags={"triggered_by": TRIGGERED_BY, "trigger_rule": rule.name, "trigger_folder": f"{container}/{batch.folder}",
              "trigger_key": key},
        about={"rule": rule.name, "folder": batch.folder, "files": len(files), "key": key},
        record={"batch": {"folder": batch.folder, "files": files}}, disabled=not rule.enabled)


def batched_files(record: Mapping[str, object]) -> list[tuple[str, str]]:
    """The (blob, etag) pairs a settled quiet batch's record lists: the entries to mark as settled."""
    batch = record.get("batch")
    files = batch.get("files", []) if isinstance(batch, dict) else []
    return [(str(item["blob"]), str(item["etag"])) for item in files if isinstance(item, dict)]
