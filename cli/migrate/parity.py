"""The parity check of an import: the body the old trigger (a Logic App, a v1 schedule) would have sent, key by key
against the body the imported rule sends; ``tags`` is the one difference expected (the app labels its runs). A date
the old trigger took from its own clock (a Logic App's ``utcNow()``) is rendered from one moment on both sides, so
equal by construction: its row says it may differ around midnight rather than "same"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.common.redaction import MASK, looks_secret, secret_name

EXPECTED_DIFFERENCES = ("tags",)
MISSING = "(absent)"
AROUND_MIDNIGHT = "may differ around midnight"
"""The verdict on a date the old trigger read from its clock when it ran, and the rule from the blob's last-modified
time: the same date unless the blob was written just before midnight (UTC) and the old trigger ran after it."""


@dataclass(frozen=True)
class ParityRow:
    key: str
    legacy: Any
    imported: Any
    may_differ: bool = False
    from_clock: bool = False
    """The old value was the old trigger's time of running (see AROUND_MIDNIGHT)."""

    @property
    def verdict(self) -> str:
        if self.legacy == self.imported:
            return AROUND_MIDNIGHT if self.from_clock else "same"
        return "expected" if self.may_differ else "DIFFERENT"


def compare_bodies(legacy: Mapping[str, Any], imported: Mapping[str, Any],
                   clock_keys: frozenset[str] = frozenset()) -> list[ParityRow]:
    """One row per key, nested objects by their dotted keys (``tags`` as one row), a missing key as MISSING;
    only a difference in ``tags`` is expected: every other key is reproduced exactly. ``clock_keys``: the dotted
    keys whose old value was the old trigger's time of running."""
    old, new = flat_body(legacy), flat_body(imported)
    return [ParityRow(key, old.get(key, MISSING), new.get(key, MISSING), key in EXPECTED_DIFFERENCES,
                      key in clock_keys) for key in sorted(old.keys() | new.keys())]


def parity_holds(rows: list[ParityRow]) -> bool:
    return all(row.verdict != "DIFFERENT" for row in rows)


def parity_table(blob: str, rows: list[ParityRow]) -> str:
    """The rows as a text table; values of secret-looking parameters shown as ``***`` (compared unmasked)."""
    shown = [(row.key, _shown(row.key, row.legacy), _shown(row.key, row.imported), row.verdict) for row in rows]
    header = ("key", "old trigger sent", "imported rule sends", "")
    widths = [min(48, max(len(line[column]) for line in (header, *shown))) for column in range(3)]
    lines = [f"parity for blob {blob!r}:"]
    for line in (header, *shown):
        cells = "  ".join(text.ljust(width) for text, width in zip(line[:3], widths, strict=True))
        lines.append(f"  {cells}  {line[3]}".rstrip())
    different = sum(row.verdict == "DIFFERENT" for row in rows)
    expected = sorted({row.key for row in rows if row.may_differ})
    lines.append(f"  {'parity holds' if not different else f'{different} key(s) differ'} "
                 f"(expected to differ: {', '.join(expected) or 'nothing'})")
    return "\n".join(lines)


def flat_body(body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``body``'s values by the dotted keys the parity table names (``tags`` as one)."""
    flat: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and name not in EXPECTED_DIFFERENCES:
            flat.update(flat_body(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _shown(key: str, value: Any) -> str:
    if key.startswith("ParameterAssignments.") and (
            secret_name(key.split(".", 1)[1]) or (isinstance(value, str) and looks_secret(value))):
        return MASK
    if key in EXPECTED_DIFFERENCES and isinstance(value, Mapping):
        return f"{{{len(value)} tags}}"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
