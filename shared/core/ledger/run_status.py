"""What became of a run in Azure ML, in the app's own words, and the one rule that merges what was observed of it.

Azure ML speaks of a run in four vocabularies: v1 run history ``status``, v1 pipeline ``StatusCode`` (names, or
the digits older answers carry), v2 ``JobStatus``, and the ``runStatus`` of a ``RunStatusChanged`` event. All
four map, case-insensitively, onto ``RunStatus``. Terminal: completed, failed, canceled. NotResponding, Paused
and Unknown are not terminal (a run that stopped answering can recover, a paused one can resume): the record
keeps them and the fallback keeps asking, although azure-ai-ml's wait loop stops on the first two.

Observations arrive repeated and in any order (Event Grid guarantees neither order nor a single delivery), so
``merged`` is commutative, associative and idempotent: a terminal observation beats any other, the first
terminal one wins among terminal ones and the latest among the rest (ties: the later stage); the error is the first
known one in that order, start and end the earliest known. Whatever order the same observations come in, the
record ends the same, and a terminal status never gives way to a non-terminal one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from shared.core.ledger.keys import parse_iso


class RunStatus(str, enum.Enum):
    """The app's run-status vocabulary, as records, answers and decision lines write it."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
        """Each member's value is its name in lower case: what records and decision lines store."""
        return name.lower()

    # Still going (NotResponding and Paused can recover or resume; Unknown is Azure ML's own word):
    QUEUED = enum.auto()
    RUNNING = enum.auto()
    FINALIZING = enum.auto()
    CANCELING = enum.auto()
    NOT_RESPONDING = enum.auto()
    PAUSED = enum.auto()
    UNKNOWN = enum.auto()
    # Ended: the only statuses a record's run never moves away from.
    COMPLETED = enum.auto()
    FAILED = enum.auto()
    CANCELED = enum.auto()

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})
ACTIVE = frozenset(RunStatus) - TERMINAL
"""A run in one of these still counts against a rule's active runs."""

_AZURE_WORDS = {
    **dict.fromkeys(("notstarted", "queued", "preparing", "provisioning", "starting", "unapproved", "0"),
                    RunStatus.QUEUED),
    **dict.fromkeys(("running", "1"), RunStatus.RUNNING),
    "finalizing": RunStatus.FINALIZING,
    "cancelrequested": RunStatus.CANCELING,
    "notresponding": RunStatus.NOT_RESPONDING,
    **dict.fromkeys(("pausing", "paused"), RunStatus.PAUSED),
    "unknown": RunStatus.UNKNOWN,
    **dict.fromkeys(("completed", "finished", "3"), RunStatus.COMPLETED),
    **dict.fromkeys(("failed", "2"), RunStatus.FAILED),
    **dict.fromkeys(("canceled", "cancelled", "4"), RunStatus.CANCELED),
}
"""Every word (and v1 pipeline digit: NotStarted, Running, Failed, Finished, Canceled = 0..4) Azure ML uses."""

MAX_STATUS_CHARS = 32
"""Longer than any of Azure ML's words written out (``CancelRequested``, ``Not Responding``): no run status."""
_FRACTION = re.compile(r"(\.\d{6})\d+")
_RANK = {status: rank for rank, status in enumerate(RunStatus)}
"""Ties between observations of the same moment: the later stage of a run wins."""


def run_status(azure_status: str) -> RunStatus:
    """The app's word for what Azure ML said; a word it has never used is ``unknown`` (its text kept beside)."""
    return _AZURE_WORDS.get(_normal(azure_status), RunStatus.UNKNOWN)


def is_azure_status(text: str) -> bool:
    """Whether ``text`` is a word (or digit) Azure ML uses for a run's status, in any of its four vocabularies."""
    return len(text) <= MAX_STATUS_CHARS and _normal(text) in _AZURE_WORDS


def _normal(text: str) -> str:
    return text.strip().replace(" ", "").replace("_", "").lower()


def moment(value: Any) -> str:
    """A time as Azure ML writes it (``2026-11-30T10:00:04.1234567Z``, seven digits and offsets included), as
    records write it: UTC to the millisecond; ValueError if it is not an ISO 8601 time."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from None
    else:
        raise ValueError(f"a time is an ISO 8601 text, not {type(value).__name__}")
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunOutcome(NamedTuple):
    """What is known of one run in Azure ML: its status (and Azure ML's own word), when that was observed, when
    the run started and ended, and Azure ML's error for a failed run. Stored as the record's ``run``."""

    status: RunStatus
    azure_status: str
    observed_at: str
    started_at: str | None = None
    ended_at: str | None = None
    error: Mapping[str, Any] | None = None
    times_unknown: str | None = None
    """Why an ended run's start, end and error cannot be known here (not asked), when that is so."""
    times_pending: bool = False
    """Whether that reason may pass (run history's discovery or GET failed for now): the fallback asks run history
    again (``shared.core.outcomes.record_changes.TIMES_HORIZON``); False: ``times_unknown`` is final."""

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    @property
    def duration_seconds(self) -> float | None:
        """End minus start, when both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (parse_iso(self.ended_at) - parse_iso(self.started_at)).total_seconds())

    def _order(self) -> tuple[bool, float, int, str]:
        """Terminal beats the rest; among terminal observations the first wins (a later report of the end, a
        RunCompleted after its RunStatusChanged, changes nothing), among the rest the latest."""
        seconds = parse_iso(self.observed_at).timestamp()
        return self.terminal, -seconds if self.terminal else seconds, _RANK[self.status], self.azure_status

    def to_json(self) -> dict[str, Any]:
        document = {"status": self.status.value, "azure_status": self.azure_status, "observed_at": self.observed_at,
                    "started_at": self.started_at, "ended_at": self.ended_at,
                    "duration_seconds": self.duration_seconds, "error": dict(self.error) if self.error else None,
                    "times_unknown": self.times_unknown, "times_pending": self.times_pending or None}
        return {name: value for name, value in document.items() if value is not None}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunOutcome:
        """The stored ``run``; ValueError if it is not one (a record written by hand, or by other code)."""
        try:
            return cls(status=RunStatus(document["status"]), azure_status=str(document["azure_status"]),
                       observed_at=str(document["observed_at"]), started_at=document.get("started_at"),
                       ended_at=document.get("ended_at"), error=document.get("error"),
                       times_unknown=document.get("times_unknown"),
                       times_pending=document.get("times_pending") is True)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"a record's run is not a run outcome: {error}") from None


def observed(azure_status: str, at: str, *, started_at: str | None = None, ended_at: str | None = None,
             error: Mapping[str, Any] | None = None) -> RunOutcome:
    """One observation of a run: what Azure ML said at ``at`` (an ISO time), with what it said of times and error."""
    return RunOutcome(run_status(azure_status), azure_status, at, started_at, ended_at, error or None)


def merged(current: RunOutcome | None, observation: RunOutcome) -> RunOutcome:
    """``current`` and ``observation`` as one: the same result in any order, a terminal status never lost."""
    if current is None:
        return observation
    first, second = sorted((current, observation), key=RunOutcome._order, reverse=True)
    started_at, ended_at = (_earliest(first.started_at, second.started_at),
                            _earliest(first.ended_at, second.ended_at))
    # An event's time gives an end but no start or error: why run history's are unknown still holds.
    why = None if started_at and ended_at else _why_times_unknown(first, second)
    return first._replace(started_at=started_at, ended_at=ended_at, error=first.error or second.error,
                   times_unknown=None if why is None else why.times_unknown,
                   times_pending=why is not None and why.times_pending)


def _why_times_unknown(first: RunOutcome, second: RunOutcome) -> RunOutcome | None:
    """The observation whose reason the merged one keeps: a final reason beats one that may pass (asking again
    cannot help), then ``first``'s."""
    reasons = [outcome for outcome in (first, second) if outcome.times_unknown]
    final = [outcome for outcome in reasons if not outcome.times_pending]
    return next(iter(final or reasons), None)


def _earliest(*moments: str | None) -> str | None:
    """The earliest known time: an event stands for a moment at or after it happened, Azure ML's own time for the
    moment itself, so the earliest is the truest."""
    known = [moment for moment in moments if moment is not None]
    return min(known, key=parse_iso) if known else None
