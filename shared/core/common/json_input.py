"""The one reader of JSON that comes from outside the app: rules files, settings that hold JSON, HTTP bodies, Event
Grid events, manifests, importer input. Bounded before anything is built from it, so no input can reach
``RecursionError``, Python's 4,300-digit ``int`` limit, or an infinite float: each of those is ``UnreadableJson``,
naming the source and the field.

Checked in this order, each before the next costs anything:

1. size, in bytes, before decoding;
2. nesting depth, by an iterative scan of the text (json's own parser recurses once per level and gives up near
   1,000 levels, deeper inputs may crash the interpreter);
3. numbers, from json's parse hooks: longer than ``max_number_chars`` or not finite (``1e400``, ``NaN``,
   ``Infinity``) are refused with the field they are in, and are never converted (``int()`` of 5,000 digits
   raises);
4. duplicate keys: refused, because Python keeps the last value and drops the first without a word, while other
   readers of the same file (an editor's schema check, Azure) may keep the first: the two would disagree on what
   it says.

Pure: no I/O; callers read the bytes and map the error to their edge (a configuration problem, a 400, an exit
code, a rejected blob).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from shared.core.common.errors import NotJson, UnreadableJson
from shared.core.common.redaction import mask_text

KIB = 1024


class Limits(NamedTuple):
    """What one source may hold; the defaults suit any source unless it says otherwise."""

    max_bytes: int = 64 * KIB
    max_depth: int = 32
    """Levels of nested lists and objects: the deepest real input (an Event Grid array for explain) has 5."""
    max_number_chars: int = 100
    """Characters one number may have: no parameter, count or time needs 100; ``int`` refuses past 4,300 digits."""


DEFAULT = Limits()
RULES_FILE = Limits(max_bytes=1024 * KIB)
"""A rules file: hundreds of rules fit in a few dozen KiB; 1 MiB leaves room and still loads at once."""
SETTING = Limits(max_bytes=64 * KIB)
"""An app setting holding JSON (AML_PARAMETERS): Azure caps app settings well below this."""
REQUEST_BODY = Limits(max_bytes=64 * KIB)
"""An HTTP body (the API answers 413 past this before reading it)."""
EVENT_FILE = Limits(max_bytes=1024 * KIB)
"""Event Grid events saved to a file (an Event Grid delivery is at most 1 MB)."""
MANIFEST = Limits(max_bytes=64 * KIB)
"""A marker's manifest.json: at most its head is read (64 KiB)."""
IMPORT_FILE = Limits(max_bytes=4 * 1024 * KIB, max_depth=64)
"""A Logic App export or an ARM template (ARM caps templates at 4 MB; scopes nest actions a few levels each), or a
list of v1 schedules."""
SERVICE_ANSWER = Limits(max_bytes=4 * 1024 * KIB, max_depth=64)
"""An answer from Azure ML or ARM: a workspace's list of v1 schedules (importer input) is the largest."""
SETTINGS_FILE = Limits(max_bytes=1024 * KIB)
"""A local.settings.json-style file the command line reads settings from."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')
"""What the depth scan needs: strings (so brackets inside them are not counted; an object's keys name the path)
and the structural characters."""


class _Refusal(NamedTuple):
    """A value json's hooks refused: kept in the parsed value so the walk after parsing can name its field."""

    why: str


class _DuplicateKeys(dict[str, Any]):
    """An object with a key given twice: the key, for the walk to report."""

    duplicate: str = ""


def read_json(data: str | bytes, *, source: str, limits: Limits = DEFAULT) -> Any:
    """The JSON value in ``data`` (bytes are read as UTF-8, a byte-order mark allowed), or ``UnreadableJson``
    naming ``source`` and the field; see the module's docstring for what is refused and why."""
    _check_size(len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass")), source, limits)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise NotJson(source, "", f"is not UTF-8 (byte {error.start})") from None
    _check_depth(text, source, limits.max_depth)
    try:
        value = json.loads(text, parse_int=_whole(limits), parse_float=_real(limits), parse_constant=_constant,
                           object_pairs_hook=_object)
    except json.JSONDecodeError as error:
        raise NotJson(source, "", f"is not valid JSON ({error.msg} at line {error.lineno} column "
                                         f"{error.colno})") from None
    except RecursionError:  # not reached past the scan; kept so no input can ever escape as RecursionError
        raise UnreadableJson(source, "", f"is nested more than {limits.max_depth} levels deep") from None
    for path, refusal in _refusals(value):
        raise UnreadableJson(source, path, refusal)
    return value


def read_json_file(path: Path, *, source: str, limits: Limits = DEFAULT) -> Any:
    """``read_json`` of the file at ``path``, its size checked before it is read: a huge file is never loaded."""
    _check_size(path.stat().st_size, source, limits)
    return read_json(path.read_bytes(), source=source, limits=limits)


def _check_size(size: int, source: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise UnreadableJson(source, "", f"is {size:,} bytes; at most {limits.max_bytes:,} are read")


def _check_depth(text: str, source: str, max_depth: int) -> None:
    """``UnreadableJson`` naming the path where lists and objects first nest deeper than ``max_depth``."""
    path: list[str | int] = []  # per open level: the key or index being read
    key_next = False
    for token in _TOKENS.finditer(text):
        found = token.group(0)
        if found in "[{":
            if len(path) == max_depth:
                raise UnreadableJson(source, _path_text(path), f"is nested more than {max_depth} levels deep")
            path.append(0 if found == "[" else "")
            key_next = found == "{"
        elif found in "]}":
            if path:
                path.pop()
            key_next = False
        elif found == ",":
            if path and isinstance(path[-1], int):
                path[-1] += 1
            key_next = bool(path) and isinstance(path[-1], str)
        elif found == ":":
            key_next = False
        elif key_next and path:
            path[-1] = found[1:-1][:60]
            key_next = False


def _whole(limits: Limits) -> Any:
    def parse(text: str) -> int | _Refusal:
        return _too_long(text, limits) or int(text)
    return parse


def _real(limits: Limits) -> Any:
    def parse(text: str) -> float | _Refusal:
        refused = _too_long(text, limits)
        if refused:
            return refused
        value = float(text)
        return value if math.isfinite(value) else _Refusal("is a number out of range (not finite)")
    return parse


def _too_long(text: str, limits: Limits) -> _Refusal | None:
    if len(text) <= limits.max_number_chars:
        return None
    return _Refusal(f"is a number of {len(text):,} characters; at most {limits.max_number_chars} are read")


def _constant(text: str) -> _Refusal:
    return _Refusal(f"is {text}, which JSON does not allow (a number must be finite)")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    marked, seen = _DuplicateKeys(value), set()
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def _refusals(value: Any) -> Iterator[tuple[str, str]]:
    """(field path, why) of every refused value, depth first in document order; without recursion."""
    pending: list[tuple[list[str | int], Any]] = [([], value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, _Refusal):
            yield _path_text(path), item.why
        elif isinstance(item, _DuplicateKeys):
            yield _path_text(path), f"has the key {item.duplicate!r} twice (only one value can be kept)"
        if isinstance(item, dict):
            pending.extend(([*path, key], child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend(([*path, index], child) for index, child in reversed(list(enumerate(item))))


def _path_text(path: list[str | int]) -> str:
    """``rules[2].parameters.alpha``: keys joined by '.', list items as ``[i]``; secret shapes in keys masked."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return mask_text(text)
