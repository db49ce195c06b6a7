"""The Logic App expressions a template says exactly: the trigger's file name and path, a date written with
``utcNow('<format>')``, and those in ``toLower``/``toUpper``. Anything else has no placeholder (None): the importer
leaves it out and says why (``left_out_reason``).

A date only, never a time of day: utcNow() is when the Logic App ran, which its polling puts seconds to minutes
after the blob was written, while the rule writes the blob's last-modified time. Both give the same date but
around midnight; an hour, minute or second would differ on most runs."""

from __future__ import annotations

import re

from shared.core.templates.templates import escaped

_FIELDS = {"Name": "blob.name", "Path": "blob.path"}
_FIELD = re.compile(r"triggerBody\(\)\??\['(Name|Path)'\]")
_NOW = re.compile(r"utcNow\('([^']*)'\)|formatDateTime\(utcNow\(\),\s*'([^']*)'\)")
_CASE = re.compile(r"(toLower|toUpper)\((.*)\)")
_FILTERS = {"toLower": ("lower", str.lower), "toUpper": ("upper", str.upper)}
_INTERPOLATED = re.compile(r"@\{([^{}]*)\}")
_DOTNET_DATE = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d"}
_SEPARATORS = "-_./ "
_DOTNET_TOKEN = re.compile(r"([yMd])\1*|[-_./ ]")
"""A run of one .NET date letter (``dddd`` is a day's name, not two ``dd``), or a separator."""
_TIME_OF_DAY = re.compile(r"[HhmsfFtz]")
"""The .NET format letters of a time of day (hours, minutes, seconds, fractions, AM/PM, offset)."""
NOW_NOTE = ("utcNow() was when the Logic App ran; the rule writes the blob's last-modified time (UTC), which is "
            "the same date unless the blob was written just before midnight and polled after it")


def template_of(value: str, container: str) -> str | None:
    """``value`` (a body field's text) as a template, or None when an expression in it has no exact placeholder.
    ``container`` is the watched container (``triggerBody()?['Path']`` is ``/<container>/<path>``)."""
    if value.startswith("@@"):
        return escaped(value[1:])
    if value.startswith("@") and not value.startswith("@{"):
        return _expression(value[1:], container)
    parts, position = [], 0
    for found in _INTERPOLATED.finditer(value):
        expression = _expression(found[1], container)
        if expression is None:
            return None
        parts += [escaped(value[position:found.start()]), expression]
        position = found.end()
    return "".join([*parts, escaped(value[position:])])


def uses_now(value: str) -> bool:
    """Whether ``value`` reads the clock (its template writes the blob's last-modified time instead)."""
    return "utcNow(" in value


def left_out_reason(value: str) -> str:
    """Why ``value`` (an expression ``template_of`` gives no template for) is left out."""
    formats = [found[1] if found[1] is not None else found[2] for found in _NOW.finditer(value)]
    if any(_TIME_OF_DAY.search(dotnet) for dotnet in formats):
        return ("a time of day from utcNow(): the Logic App's time of running (its poll came after the write) is not "
                "the blob's last-modified time, so no placeholder gives it exactly; only a date is carried over")
    return "no placeholder gives its value exactly"


def _expression(expression: str, container: str) -> str | None:
    found = _parts(expression.strip(), container)
    return None if found is None else escaped(found[0]) + "{" + found[1] + "}"


def _parts(expression: str, container: str) -> tuple[str, str] | None:
    """(literal text before it, the placeholder inside its braces) for one expression, or None."""
    case = _CASE.fullmatch(expression)
    if case:
        inner = _parts(case[2].strip(), container)
        name, apply = _FILTERS[case[1]]
        return None if inner is None else (apply(inner[0]), f"{inner[1]}|{name}")
    field = _FIELD.fullmatch(expression)
    if field:
        return (f"/{container}/" if field[1] == "Path" else ""), _FIELDS[field[1]]
    now = _NOW.fullmatch(expression)
    date_format = _strftime(now[1] if now[1] is not None else now[2]) if now else None
    return None if date_format is None else ("", f"blob.last_modified:{date_format}")


def _strftime(dotnet: str) -> str | None:
    """A .NET custom date format of digits-only date parts (``yyyy-MM-dd``) as strftime, or None (a time of day,
    a name, anything else)."""
    tokens = [token[0] for token in _DOTNET_TOKEN.finditer(dotnet)]
    if not dotnet or "".join(tokens) != dotnet or not all(t in _DOTNET_DATE or t in _SEPARATORS for t in tokens):
        return None
    return "".join(_DOTNET_DATE.get(token, token) for token in tokens)
