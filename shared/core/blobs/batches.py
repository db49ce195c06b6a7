"""One run for a folder of files, started by a marker blob: which folder a marker completes, what a manifest
lists, and why a batch must not run. Pure: the flows read the blobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from shared.core.blobs.blob_names import blob_name_problem
from shared.core.blobs.csv_head import csv_head_problem
from shared.core.common.errors import UnreadableJson
from shared.core.common.json_input import MANIFEST, read_json
from shared.core.common.redaction import mask_text
from shared.core.ledger.keys import file_folder

MAX_REASONS = 10
"""Listed files a rejection names one by one; the rest are counted (a reason stays readable in a log line)."""


class Listed(NamedTuple):
    """A file a manifest lists, as read once its marker version was claimed: its version, or why it is unusable."""

    name: str
    etag: str | None = None
    head: bytes = b""
    size: int = 0
    unusable: str | None = None


class Batch(NamedTuple):
    """The files a marker version starts one run on: its folder, or (a manifest) the files it lists."""

    folder: str
    listed: tuple[str, ...] | str | None = None
    """A manifest's blob names, or why it cannot be read; None: the run gets the folder."""
    checked: tuple[Listed, ...] = ()
    """The listed files as read once the marker version was claimed."""
    counted: int | None = None
    """How many files the batch holds, when known without a listing (a quiet window's); not ``count``, which a
    tuple has."""

    @property
    def file_count(self) -> int | None:
        """How many files the run gets: a manifest's listed files, a quiet window's; None for a marker's folder."""
        return len(self.listed) if isinstance(self.listed, tuple) else self.counted

    def problem(self, manifest: str, required_columns: Sequence[str]) -> str | None:
        """Why the batch must not run (the manifest named ``manifest`` unreadable, a listed file unusable)."""
        if isinstance(self.listed, str):
            return f"manifest {manifest}: {self.listed}"
        if self.listed is None:
            return None
        problem = batch_problem(self.checked, required_columns)
        return f"manifest {manifest}: {problem}" if problem else None

    @property
    def record(self) -> dict[str, object]:
        """What a submitted run's record keeps: the folder, and the versions of the files it ran on."""
        files = [{"blob": item.name, "etag": item.etag} for item in self.checked]
        return {"batch": {"folder": self.folder, **({"files": files} if files else {})}}


def marker_folder(marker_name: str) -> str:
    """The folder a marker blob completes, as a path ending with '/' ('' at the container's root)."""
    return file_folder(marker_name)


def manifest_files(head: bytes, size: int, folder: str) -> tuple[str, ...] | str:
    """The blob names a manifest lists (relative to its folder, as ``{"files": ["part-1.csv", ...]}``), or why it
    cannot be read."""
    if size > len(head):
        return f"the manifest is {size:,} bytes; at most {len(head):,} are read"
    try:
        document = read_json(head, source="the manifest", limits=MANIFEST)
    except UnreadableJson as error:
        return str(error)
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list) or not files or not all(isinstance(name, str) for name in files):
        return 'the manifest must be {"files": ["part-1.csv", ...]}: a non-empty list of file names in its folder'
    for name in files:
        problem = blob_name_problem(folder + name) if not name.startswith("/") else "starts with '/'"
        if problem:
            return mask_text(f"the manifest lists {name!r}, which {problem}")  # logged and stored
    if len(set(files)) != len(files):
        return "the manifest lists a file twice"
    return tuple(folder + name for name in files)


def batch_problem(listed: Sequence[Listed], required_columns: Sequence[str]) -> str | None:
    """Why a manifest's batch must not run: every listed file that is missing or not a usable CSV, by name."""
    problems = []
    for item in listed:
        why = item.unusable or csv_head_problem(item.head, item.size, required_columns)
        if why:
            problems.append(f"{item.name}: {why}")
    if not problems:
        return None
    shown = "; ".join(problems[:MAX_REASONS])
    more = f"; and {len(problems) - MAX_REASONS} more" if len(problems) > MAX_REASONS else ""
    return f"{len(problems)} of {len(listed)} listed files are not usable: {shown}{more}"
