"""At most N active runs per rule or schedule (``max_active_runs``): the gate document and its decisions, pure.

One gate per rule or schedule (``gates/<namespace>.json`` in the ledger) names the records whose runs hold a slot
(``active``) and the triggers waiting for one (``waiting``, oldest trigger first). Every decision is one change of
that document written with its ETag (``Ledger.swap``), so two triggers deciding at once cannot both take the last
slot: the loser's write fails, it reads again and decides on what the winner wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.core.common.errors import InvalidValue

QUEUE = "queue"
"""Waiting triggers start in order, oldest first, as runs finish."""
LATEST = "latest"
"""Only the newest waiting trigger is kept; the others are recorded as superseded."""
POLICIES = (QUEUE, LATEST)
GATE_PREFIX = "gates/"


def gate_name(owner: str) -> str:
    """The gate of a rule's or schedule's namespace (``rules/<rule>``), beside its records."""
    return f"{GATE_PREFIX}{owner}.json"


class RunLimit(NamedTuple):
    """A rule's or schedule's ``max_active_runs`` and what its triggers do when that many runs are active."""

    most: int
    policy: str = QUEUE

    def describe(self) -> str:
        return f"at most {self.most} active run{'s' * (self.most != 1)}; more triggers {self.policy}"


class Waiting(NamedTuple):
    """A trigger waiting for a slot: its record, and when it was first claimed (its place in the queue)."""

    record: str
    """The waiting trigger's ledger record (reopened and run again when its turn comes)."""
    since: str
    """When its record was first claimed: the queue's order."""


class Gate(NamedTuple):
    active: tuple[str, ...] = ()
    waiting: tuple[Waiting, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Gate:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidValue(f"a gate is a JSON object, not {type(data).__name__}")
        return cls(tuple(str(name) for name in data.get("active", ())),
                   tuple(Waiting(str(entry["record"]), str(entry["since"])) for entry in data.get("waiting", ())))

    def to_json(self) -> dict[str, Any]:
        return {"active": list(self.active),
                "waiting": [{"record": entry.record, "since": entry.since} for entry in self.waiting]}

    def has_room(self, limit: RunLimit) -> bool:
        return len(self.active) < limit.most

    def next_up(self, limit: RunLimit) -> str | None:
        """The waiting trigger to start now: the oldest, when a slot is free."""
        return self.waiting[0].record if self.waiting and self.has_room(limit) else None

    def names(self, record: str) -> bool:
        """Whether ``record`` holds a slot or waits here."""
        return record in self.active or any(entry.record == record for entry in self.waiting)

    def released(self, record: str) -> Gate:
        """``record``'s run ended (or will never start): its slot is free; repeating it changes nothing."""
        return self._replace(active=tuple(name for name in self.active if name != record))

    def dropped(self, record: str) -> Gate:
        """``record`` no longer waits (it was settled some other way)."""
        return self._replace(waiting=tuple(entry for entry in self.waiting if entry.record != record))


class Admission(NamedTuple):
    """What a trigger's decision at the gate was: ``go`` (it holds a slot) or wait; ``superseded``: the records a
    ``latest`` decision replaced (the trigger itself among them when a newer one already waits)."""

    go: bool
    position: int = 0
    """1 for the first waiting trigger, when it waits."""
    superseded: tuple[str, ...] = ()
    kept: str | None = None
    """The newest waiting trigger a ``latest`` decision kept."""


def admit(gate: Gate, limit: RunLimit, record: str, since: str) -> tuple[Gate, Admission]:
    """The gate after ``record`` (first claimed at ``since``) asks for a slot, and the answer. A record already
    holding one goes again (a retry after a failure for now); a waiting one keeps its place (a duplicate or a
    crash recovery), so asking twice never gives a trigger two places."""
    if record in gate.active:
        return gate, Admission(go=True)
    others = tuple(entry for entry in gate.waiting if entry.record != record)
    mine = next((entry for entry in gate.waiting if entry.record == record), Waiting(record, since))
    if limit.policy == LATEST:
        newest = max((*others, mine), key=lambda entry: entry.since)
        superseded = tuple(entry.record for entry in (*others, mine) if entry is not newest)
        if newest is mine and gate.has_room(limit):
            return Gate((*gate.active, record), ()), Admission(go=True, superseded=superseded, kept=record)
        return gate._replace(waiting=(newest,)), Admission(go=False, position=1, superseded=superseded,
                                                           kept=newest.record)
    queue = tuple(sorted((*others, mine), key=lambda entry: entry.since))
    if gate.has_room(limit) and queue[0] is mine:
        return Gate((*gate.active, record), queue[1:]), Admission(go=True)
    return gate._replace(waiting=queue), Admission(go=False, position=queue.index(mine) + 1)


def waiting_reason(limit: RunLimit, owner: str, admission: Admission) -> str:
    """What a waiting record and its decision say."""
    return (f"waiting: {owner} has {limit.most} active run{'s' * (limit.most != 1)} (max_active_runs "
            f"{limit.most}, {limit.policy}); place {admission.position}, started when a run ends")


def superseded_reason(newer: str) -> str:
    return f"superseded by a newer trigger ({newer}) while max_active_runs was reached (policy latest)"
