"""Dead-lettered Event Grid events, read: what a dead-letter blob holds, and which live path each event takes.

Event Grid writes the events it could not deliver to ``<container>/<SUBSCRIPTION NAME IN UPPER CASE>/<YYYY>/<M>/
<D>/<H>/<guid>.json``: a JSON array of one or more events, each the event as it was sent plus, in the Event Grid
schema, ``deadLetterReason``, ``deliveryAttempts``, ``lastDeliveryOutcome``, ``publishTime`` and
``lastDeliveryAttemptTime``; in the CloudEvents 1.0 schema the same words in lower case (Microsoft's "Event Grid
message delivery and retry" and "Set dead-letter location and retry policy"). The dead-letter fields are taken
off, so the event handed on is the one the live function would have received.

Replayed blobs are moved under ``replayed/`` in the same container: Event Grid's own names start with an upper-case
subscription name, which sorts before ``r``, so the waiting blobs come first in a listing and one page counts them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.core.blobs.blob_events import blob_from_event
from shared.core.common.errors import InvalidInput, UnreadableJson
from shared.core.common.json_input import EVENT_FILE, read_json
from shared.core.ledger.keys import iso
from shared.core.ledger.retention import sweep_horizon
from shared.core.ledger.run_status import moment
from shared.core.outcomes.run_events import RUN_EVENT_TYPES, parse_run_event

REPLAYED_PREFIX = "replayed/"
COUNTED = 1000
"""Waiting dead letters are counted from one listing page of this many names; more show as ``1000+``."""
DEAD_LETTER_FIELDS = ("deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "publishTime",
                      "lastDeliveryAttemptTime")
"""What Event Grid adds to a dead-lettered event (Event Grid schema; CloudEvents 1.0: the same, lower case)."""
_ADDED = frozenset(name.lower() for name in DEAD_LETTER_FIELDS)
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
TOO_OLD = "too old"
"""The outcome counted for an event older than the replay horizon: not handled, its blob left waiting."""


class Path(str, enum.Enum):
    """The live function an event goes to."""

    BLOB = "blob"
    """A BlobCreated event: the blob trigger's path (``process_blob``)."""
    RUN_EVENT = "run event"
    """An Azure ML run event: the run-event function's path (``record_run_event``)."""


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered event: as it was sent, the path it takes, and why Event Grid gave up on it."""

    event: Mapping[str, Any]
    path: Path
    reason: str
    attempts: Any
    event_time: datetime

    @property
    def schema(self) -> str:
        return "cloudevents" if "specversion" in self.event else "eventgrid"


def read_dead_letters(content: bytes, source: str) -> list[DeadLetter]:
    """The events of one dead-letter blob, or InvalidInput naming ``source`` and what is wrong."""
    try:
        value = read_json(content, source=source, limits=EVENT_FILE)
    except UnreadableJson as error:  # too large, too deep, not JSON: the reader names source and field
        raise InvalidInput(str(error)) from None
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{source}: expected a JSON array of one or more events")
    return [_dead_letter(event, f"{source}[{index}]") for index, event in enumerate(value)]


def _dead_letter(event: Any, where: str) -> DeadLetter:
    if not isinstance(event, dict):
        raise InvalidInput(f"{where}: an event is a JSON object")
    sent = {name: value for name, value in event.items() if name.lower() not in _ADDED}
    kind = sent.get("type") if "specversion" in sent else sent.get("eventType")
    if kind == BLOB_CREATED:
        path = Path.BLOB
    elif kind in RUN_EVENT_TYPES:
        path = Path.RUN_EVENT
    else:
        raise InvalidInput(f"{where}: event type {str(kind)[:100]!r} is not one this app subscribes to")
    lowered = {name.lower(): value for name, value in event.items()}
    return DeadLetter(sent, path, str(lowered.get("deadletterreason", "unknown")), lowered.get("deliveryattempts"),
                      _event_time(sent, where))


def _event_time(event: Mapping[str, Any], where: str) -> datetime:
    """When the event happened: its age decides whether its record (if it ran) may already be deleted."""
    name = "time" if "specversion" in event else "eventTime"
    try:
        return datetime.fromisoformat(moment(event.get(name)).replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidInput(f"{where}.{name}: {error}") from None


def replay_horizon(now: datetime, retention_days: int) -> datetime:
    """The oldest event time replayed: the records' horizon (the sweep's), so a version that ran still has its
    record and a replay of its event is a duplicate, never a second run."""
    return now - sweep_horizon(retention_days)


@dataclass(frozen=True)
class Watched:
    """What a replayed event must belong to: the watched account (None: not known, see ``blob_from_event``) and
    container, and the replay horizon."""

    account: str | None
    container: str
    horizon: datetime


@dataclass(frozen=True)
class Checked:
    """One blob's events checked: those a replay hands on, how many are too old, and why the others are not."""

    handed_on: list[DeadLetter]
    refused: list[str]
    """Each refused event's place in the blob and why."""
    too_old: int
    horizon: datetime

    @property
    def reasons(self) -> list[str]:
        """Why the blob stays waiting (none: it is moved aside once its events are handled)."""
        return self.refused + ([too_old_reason(self.too_old, self.horizon)] if self.too_old else [])


def check_dead_letters(letters: list[DeadLetter], watched: Watched, source: str) -> Checked:
    """Each event checked as the live path checks it, without I/O: the one decision a dry run and a replay share.
    An event too old or refused is not handed on and keeps its blob waiting; the others are handed on."""
    recent = [(index, letter) for index, letter in enumerate(letters) if letter.event_time >= watched.horizon]
    verdicts = [(letter, f"{source}[{index}]", _refusal(letter, watched)) for index, letter in recent]
    return Checked(handed_on=[letter for letter, _, why in verdicts if why is None],
                   refused=[f"{where}: {why}" for _, where, why in verdicts if why is not None],
                   too_old=len(letters) - len(recent), horizon=watched.horizon)


def _refusal(letter: DeadLetter, watched: Watched) -> str | None:
    """The live path's own reading of the event (a run event's workspace and record are checked as it is
    handled: one the app does not take is ignored there, its blob moved aside)."""
    try:
        if letter.path is Path.RUN_EVENT:
            parse_run_event(letter.event)
            return None
        container, _, _ = blob_from_event(dict(letter.event), account=watched.account)
    except InvalidInput as error:
        return str(error)
    return None if container == watched.container else f"container is not {watched.container!r}"


def too_old_reason(count: int, horizon: datetime) -> str:
    return (f"{count} event(s) older than the replay horizon {iso(horizon)} (RECORD_RETENTION_DAYS less a day): "
            "their run records may be deleted, so a replay could run them a second time; not replayed")


def waiting_count(first_page: list[str]) -> str:
    """How many dead letters wait, from the names of the container's first listing page (``COUNTED`` at most)."""
    waiting = sum(1 for name in first_page if not name.startswith(REPLAYED_PREFIX))
    return f"{COUNTED}+" if waiting >= COUNTED else str(waiting)


def replayed_name(name: str) -> str:
    return REPLAYED_PREFIX + name
