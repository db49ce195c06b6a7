"""Templates: run parameters and input paths shaped by the event, e.g. ``scored/{blob.stem}/{trigger.time:%Y-%m-%d}``.

A small grammar read by a scanner, never by ``str.format`` (whose attribute access and format specs would run
what a rules file writes): a placeholder is ``{name[:format][|filter]...}``, ``{{`` and ``}}`` are braces. Every
name, format and filter comes from the fixed tables below; anything else is a load error naming the placeholder.
Parsed once at load; ``render`` fills one in from a ``TemplateContext`` and runs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from shared.core.common.errors import InvalidValue
from shared.core.common.records import NO_ENTRIES

BLOB = "blob"
OCCURRENCE = "occurrence"
BATCH = "batch"
BATCH_COUNT = "batch-count"
NAME = "name"
"""What a trigger provides: a blob version, a schedule's occurrence, a batch (and its file count), its name."""

PLACEHOLDERS = {
    "blob.name": BLOB, "blob.path": BLOB, "blob.folder": BLOB, "blob.stem": BLOB, "blob.etag": BLOB,
    "blob.last_modified": BLOB, "trigger.time": OCCURRENCE, "rule": NAME, "batch.folder": BATCH,
    "batch.count": BATCH_COUNT,
}
"""Every placeholder and what a trigger must provide for it (``blob.metadata.<key>`` needs a blob, too)."""
METADATA = "blob.metadata."
TIMES = ("blob.last_modified", "trigger.time")
"""The placeholders a format applies to; without one they are written as ISO 8601 in UTC."""
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
FILTERS = {"lower": str.lower, "upper": str.upper}
_FORMAT = re.compile(r"(?:%[YmdHMSjy%]|[A-Za-z0-9 _./:-])+")
"""strftime directives of digits only (no locale-dependent names), and plain characters between them."""
_METADATA_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A blob metadata name: a C# identifier (Azure's rule), matched case-insensitively as storage does."""
_ESCAPES = {"{{": "{", "}}": "}"}
_TOKENS = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")

class TemplateError(InvalidValue, ValueError):
    """A template that does not parse, or a value it needs that the trigger does not have."""


class Placeholder(NamedTuple):
    """One ``{...}``: the value's name, its time format (None: ISO 8601) and its filters, in order."""

    name: str
    format: str | None = None
    filters: tuple[str, ...] = ()

    @property
    def needs(self) -> str:
        """What the trigger must provide for this placeholder (one of BLOB, OCCURRENCE, BATCH, ...)."""
        return BLOB if self.name.startswith(METADATA) else PLACEHOLDERS[self.name]

    def __str__(self) -> str:
        return "{" + self.name + (f":{self.format}" if self.format is not None else "") + \
            "".join(f"|{name}" for name in self.filters) + "}"


class Template(NamedTuple):
    """A parsed template: literal text and placeholders, in order."""

    parts: tuple[str | Placeholder, ...]
    source: str = ""
    """The template as written."""

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(part for part in self.parts if isinstance(part, Placeholder))


class TemplateContext(NamedTuple):
    """What a trigger knows when its request is built: the values by placeholder name, and the blob's metadata."""

    values: Mapping[str, str | int | datetime] = NO_ENTRIES
    metadata: Mapping[str, str] = NO_ENTRIES


def escaped(text: str) -> str:
    """``text`` as a template that renders to itself: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def is_template(text: str) -> bool:
    """Whether ``text`` is read as a template: it has a brace (a placeholder, an escape, or a mistake)."""
    return "{" in text or "}" in text


def parse_template(text: str) -> Template:
    """``text`` parsed; TemplateError naming the first placeholder (or brace) that is not in the grammar."""
    parts: list[str | Placeholder] = []
    for token in _TOKENS.finditer(text):
        if token[1] is not None:
            parts.append(_placeholder(token[1]))
        elif token[0] in ("{", "}"):
            raise TemplateError(f"a lone {token[0]!r} at character {token.start() + 1}: write "
                                f"{token[0] * 2!r} for a literal brace, or a placeholder such as {{blob.name}}")
        else:
            parts.append(_ESCAPES.get(token[0], token[0]))
    return Template(tuple(parts), text)


def _placeholder(inside: str) -> Placeholder:
    head, *filters = inside.split("|")
    name, colon, spec = head.partition(":")
    shown = "{" + inside + "}"
    if name not in PLACEHOLDERS and not (name.startswith(METADATA) and _METADATA_KEY.fullmatch(name[len(METADATA):])):
        raise TemplateError(f"unknown placeholder {shown}: known are " + ", ".join(
            "{" + known + "}" for known in [*PLACEHOLDERS, METADATA + "<key>"]))
    if colon and name not in TIMES:
        raise TemplateError(f"{shown}: only {{blob.last_modified}} and {{trigger.time}} take a format")
    if colon and not _FORMAT.fullmatch(spec):
        raise TemplateError(f"{shown}: the format may hold %Y %m %d %H %M %S %j %y %% and letters, digits, "
                            "' ', '_', '.', '/', ':', '-'")
    for unknown in (name for name in filters if name not in FILTERS):
        raise TemplateError(f"{shown}: unknown filter {unknown!r}; known are " + ", ".join(FILTERS))
    return Placeholder(name, spec if colon else None, tuple(filters))


def missing(template: Template, provided: frozenset[str]) -> tuple[Placeholder, ...]:
    """The placeholders of ``template`` a trigger providing ``provided`` (BLOB, OCCURRENCE, ...) has no value for."""
    return tuple(placeholder for placeholder in template.placeholders if placeholder.needs not in provided)


def render(template: Template, context: TemplateContext) -> str:
    """``template`` filled in from ``context``; TemplateError naming a placeholder the context has no value for."""
    return "".join(part if isinstance(part, str) else _value(part, context) for part in template.parts)


def _value(placeholder: Placeholder, context: TemplateContext) -> str:
    value: str | int | datetime | None
    if placeholder.name.startswith(METADATA):
        key = placeholder.name[len(METADATA):]
        value = next((text for name, text in context.metadata.items() if name.lower() == key.lower()), None)
        if value is None:
            raise TemplateError(f"{placeholder}: the blob has no metadata {key!r}")
    else:
        value = context.values.get(placeholder.name)
        if value is None:
            raise TemplateError(f"{placeholder}: this run has no {placeholder.name}")
    text = value.astimezone(UTC).strftime(placeholder.format or ISO_FORMAT) if isinstance(value, datetime) \
        else str(value)
    for name in placeholder.filters:
        text = FILTERS[name](text)
    return text


def blob_values(path: str, etag: str, last_modified: datetime | None) -> dict[str, str | int | datetime]:
    """The ``blob.*`` values of the blob at ``path`` (inside its container); ``blob.folder`` ends with '/' ('' at
    the container's root), as ``batch.folder`` does."""
    folder, _, name = path.rpartition("/")
    stem = name.rpartition(".")[0] or name
    values: dict[str, str | int | datetime] = {
        "blob.name": name, "blob.path": path, "blob.folder": f"{folder}/" if folder else "", "blob.stem": stem,
        "blob.etag": etag}
    if last_modified is not None:
        values["blob.last_modified"] = last_modified
    return values
