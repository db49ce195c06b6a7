"""What a ledger record is about (its subject): one frozen value per kind of trigger, read once from what is stored.

The stored form is a persistent contract (tests/golden/ pins it): ``parse_subject`` reads it, ``subject_json``
writes it back key for key in the order the app has always written, and keys this code does not know are kept, so a
record written by newer code loses nothing when older code rewrites it (each kind's last field, ``extra``). Callers
dispatch with ``match`` on the type. Each kind is a ``NamedTuple`` (cheap to define at import: CONTRIBUTING.md), so
its stored shape is a table here, not a class attribute; and being a tuple, two subjects are equal field for field,
``extra`` included (a record read and written back keeps it as read, so no comparison the app makes changes), and
``extra``, a mapping, makes a subject unhashable (nothing keys a set or a dict by one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.core.common.errors import InvalidValue
from shared.core.common.records import NO_ENTRIES
from shared.core.ledger.keys import parse_iso

_CHECKS: dict[str, tuple[type, ...] | None] = {
    "text": (str,), "moment": (str,), "optional text": (str, type(None)), "count": (int,), "flag": (bool,),
    "any": None,  # stored as given (a manual run's overrides, checked when they are run again)
}
_NAMES = {str: "a string", type(None): "null", int: "a whole number", bool: "true or false"}


class UnreadableRecord(InvalidValue, ValueError):
    """A stored ledger record this code cannot read (an unknown or malformed state or subject): it names the record
    and the field, never a KeyError from deep inside a flow."""


class BlobSubject(NamedTuple):
    """One blob version's run: a rule's event, the sweep, an operator's submit of a watched blob (and a marker's)."""

    container: str
    blob: str
    etag: str
    size: int | None = None
    last_modified: str | None = None
    """The version's Last-Modified (``iso_ms``): when the file arrived, which freshness counts (``aml_arrived``),
    whenever it is run (its event, the sweep, a backfill a month later). Absent from records written before it."""
    extra: Mapping[str, Any] = NO_ENTRIES
    """Stored keys this code does not know, kept as stored (every kind has it)."""


class ScheduleSubject(NamedTuple):
    """One scheduled occurrence's run (the occurrence, not the tick's wall clock, is what it is about)."""

    schedule: str
    occurrence: str
    fired_at: str | None = None
    past_due: bool | None = None
    extra: Mapping[str, Any] = NO_ENTRIES


class ScheduleDataSubject(NamedTuple):
    """An only_if_new_data schedule's claim on a data version: which occurrence's run used it. Not a run's record."""

    schedule: str
    blob: str
    etag: str
    occurrence: str
    extra: Mapping[str, Any] = NO_ENTRIES


class ManualSubject(NamedTuple):
    """A deliberate extra run, kept as it was asked for (blob, overrides), so a retry or the sweep asks again."""

    rule: str
    request_id: str
    blob: str | None
    experiment: Any
    parameters: Any
    rerun_of: str | None = None
    """A backfill's deliberate second run of a version: the live key it runs again (absent otherwise)."""
    extra: Mapping[str, Any] = NO_ENTRIES


class BatchFile(NamedTuple):
    """One file version a quiet batch covers."""

    blob: str
    etag: str

    def to_json(self) -> dict[str, str]:
        return {"blob": self.blob, "etag": self.etag}


class QuietBatchSubject(NamedTuple):
    """A quiet window's batch of one folder: the file versions it covers from its claim on (oldest first)."""

    rule: str
    container: str
    folder: str
    oldest: str
    fires_at: str | None = None
    files: tuple[BatchFile, ...] | None = None
    """None or empty: the record lists none (it cannot be run again)."""
    extra: Mapping[str, Any] = NO_ENTRIES


Subject = BlobSubject | ScheduleSubject | ScheduleDataSubject | ManualSubject | QuietBatchSubject
_SHAPES: dict[type[Subject], Mapping[str, str]] = {
    BlobSubject: {"container": "text", "blob": "text", "etag": "text", "size": "count?", "last_modified": "moment?"},
    ScheduleSubject: {"schedule": "text", "occurrence": "moment", "fired_at": "text?", "past_due": "flag?"},
    ScheduleDataSubject: {"schedule": "text", "blob": "text", "etag": "text", "occurrence": "moment"},
    ManualSubject: {"rule": "text", "request_id": "text", "blob": "optional text", "experiment": "any",
                    "parameters": "any", "rerun_of": "text?"},
    QuietBatchSubject: {"rule": "text", "container": "text", "folder": "text", "oldest": "text", "fires_at": "text?"},
}
"""Each kind's stored fields (in stored order) and their checks in ``_CHECKS``; a check ending in ``?``: the field
may be absent (records written before it existed), and stays absent. A quiet batch's ``files`` is read apart."""
_KINDS: dict[str, type[Subject]] = {"blob": BlobSubject, "schedule": ScheduleSubject,
                                    "schedule-data": ScheduleDataSubject, "manual": ManualSubject,
                                    "quiet-batch": QuietBatchSubject}
"""Each kind by the word it stores, in the order a refusal lists them."""
_WORDS: dict[type[Subject], str] = {kind: word for word, kind in _KINDS.items()}


def subject_kind(subject: Subject) -> str:
    """The word ``subject``'s kind is stored as (``"blob"``, ``"manual"``, ...)."""
    return _WORDS[type(subject)]


def subject_json(subject: Subject) -> dict[str, Any]:
    """``subject``'s stored form, exactly as the app writes it: its kind, its shape's fields (an optional one only
    when set), the keys this code does not know, copied (``extra`` may be the read-only ``NO_ENTRIES``, which JSON
    cannot write), then a quiet batch's files."""
    shaped = {name: getattr(subject, name) for name, check in _SHAPES[type(subject)].items()
              if not (check.endswith("?") and getattr(subject, name) is None)}
    files = subject.files if isinstance(subject, QuietBatchSubject) else None
    listed = {} if files is None else {"files": [item.to_json() for item in files]}
    return {"kind": subject_kind(subject), **shaped, **subject.extra, **listed}


def parse_subject(stored: Any, record: str) -> Subject:
    """The subject ``record`` stores; UnreadableRecord naming the record and the field if it is not one the app
    writes."""
    if not isinstance(stored, Mapping):
        raise UnreadableRecord(f"ledger record {record}: subject must be a JSON object, not {type(stored).__name__}")
    named = stored.get("kind")
    kind = _KINDS.get(named) if isinstance(named, str) else None
    if kind is None:
        raise UnreadableRecord(f"ledger record {record}: subject kind {named!r} is not one this app "
                               f"writes ({', '.join(_KINDS)})")
    values = {name: _checked(stored, name, check, record) for name, check in _SHAPES[kind].items()}
    if kind is QuietBatchSubject and "files" in stored:
        values["files"] = _files(stored["files"], record)
    known = {"kind", *values}
    return kind(**values, extra={name: value for name, value in stored.items() if name not in known})


def _checked(stored: Mapping[str, Any], name: str, check: str, record: str) -> Any:
    if name not in stored and check.endswith("?"):
        return None
    if name not in stored:
        raise UnreadableRecord(f"ledger record {record}: subject field {name!r} is missing")
    value, types = stored[name], _CHECKS[check.removesuffix("?")]
    if types is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
        wanted = " or ".join(_NAMES[each] for each in types)
        raise UnreadableRecord(f"ledger record {record}: subject field {name!r} must be {wanted}, "
                               f"not {type(value).__name__}")
    if check.removesuffix("?") == "moment" and not _is_moment(value):
        raise UnreadableRecord(f"ledger record {record}: subject field {name!r} must be an ISO 8601 time, "
                               f"not {value[:40]!r}")
    return value


def _is_moment(text: str) -> bool:
    try:
        parse_iso(text)
    except ValueError:
        return False
    return True


def _files(stored: Any, record: str) -> tuple[BatchFile, ...]:
    if not isinstance(stored, list):
        raise UnreadableRecord(f"ledger record {record}: subject field 'files' must be a list, "
                               f"not {type(stored).__name__}")
    for index, item in enumerate(stored):
        if not isinstance(item, Mapping):
            raise UnreadableRecord(f"ledger record {record}: subject field 'files' item {index} must be a JSON "
                                   f"object, not {type(item).__name__}")
    return tuple(BatchFile(_checked(item, "blob", "text", record), _checked(item, "etag", "text", record))
                 for item in stored)
