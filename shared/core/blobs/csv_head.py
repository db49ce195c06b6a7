"""Cheap checks on the first bytes of a CSV, so a broken file never costs a pipeline run."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence

HEAD_BYTES = 64 * 1024
"""How much of a blob is read to validate it: never the whole blob."""

_BOM = codecs.BOM_UTF8


def csv_head_problem(head: bytes, blob_size: int, required_columns: Sequence[str] = ()) -> str | None:
    """Why the blob is not a usable CSV, judged from its first bytes; None when it looks usable.

    Usable: UTF-8 (with or without BOM), a header row, and at least one data row in ``head`` or a blob
    larger than ``head``; plus every required column in the header.
    """
    truncated = blob_size > len(head)
    data = head[len(_BOM):] if head.startswith(_BOM) else head
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
    except UnicodeDecodeError as error:
        offset = error.start + (len(head) - len(data))
        return f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {offset})"
    if "\x00" in text:
        return "contains NUL bytes (binary or UTF-16 data, not UTF-8 CSV text)"
    if truncated:
        last_newline = max(text.rfind("\n"), text.rfind("\r"))
        if last_newline < 0:
            return f"no complete header row in the first {len(head):,} bytes"
        text = text[: last_newline + 1]
    try:
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows, None)
        if not header:
            return "no header row (the file starts with an empty line)"
        if not any(cell.strip() for cell in header):
            return f"the header row's {len(header)} column names are all empty ({text.splitlines()[0][:40]!r})"
        has_data_row = truncated or any(any(cell.strip() for cell in row) for row in rows)
    except csv.Error as error:
        return f"not parseable as CSV ({error})"
    if not has_data_row:
        return "no data rows (header only)"
    columns = {cell.strip() for cell in header}
    missing = [column for column in required_columns if column not in columns]
    if missing:
        shown = ", ".join(cell.strip() for cell in header[:20]) + (", ..." if len(header) > 20 else "")
        return f"missing required columns: {', '.join(missing)} (header has: {shown})" + _separator_hint(text, header)
    return None


_OTHER_SEPARATORS = ";\t|"
_CANDIDATES = "," + _OTHER_SEPARATORS
"""The separators the sniffer may choose from: a space or a colon inside values must not win over these."""
_SNIFFED_CHARS = 8 * 1024


def _separator_hint(text: str, header: Sequence[str]) -> str:
    """Why the columns may be missing: the file looks separated by something other than ',' (a guess; '' if none)."""
    try:
        separator = csv.Sniffer().sniff(text[:_SNIFFED_CHARS], delimiters=_CANDIDATES).delimiter
    except csv.Error:  # the sniffer raises when no separator is consistent
        return ""
    if separator not in _OTHER_SEPARATORS or not any(separator in cell for cell in header):
        return ""
    return f"; the file looks {separator!r}-separated, but columns are read as ','-separated"
