"""A ledger record as a typed value, and the one rule that judges a record: settled, live, or to be taken over.

Pure (no storage): the claim path judges a record it read, the sweep judges a listing's metadata, both here.
The stored JSON is a persistent contract: ``from_json``/``to_json`` round-trip it exactly, keys this code does not
know included, so records written by older or newer code lose nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.core.common.records import NO_ENTRIES
from shared.core.common.redaction import masked
from shared.core.ledger.keys import (
    DAY_TAG,
    OPEN,
    OPEN_TAG,
    OWNER_TAG,
    RECORD_PREFIXES,
    RUN_TAG,
    SINCE_TAG,
    STATE_TAG,
    TAG_VALUE,
    TIMES_PENDING,
    UPDATED_TAG,
    active_owner,
    arrival_tags,
    record_name,
    rule_namespace,
)
from shared.core.ledger.run_status import RunOutcome, RunStatus, run_status
from shared.core.ledger.subjects import BlobSubject, Subject, UnreadableRecord, parse_subject, subject_json

SCHEMA_VERSION = 1
HISTORY_LIMIT = 20
_ECHOED = frozenset({"reason", "error"})
"""Outcome fields that may echo what a service answered, so may carry a secret it echoed: masked when stored."""


class RunState(enum.StrEnum):
    """A record's state, stored as its value. A record's life (docs/concepts.md draws it):

    - ``claimed``: an owner wrote the record (``new_claim``) and is on it until its claim expires.
    - then one of: ``submitted`` (Azure ML accepted the run; what became of it is ``run``), ``rejected`` (the data
      or Azure ML refused it for good), ``skipped`` (a disabled rule, no new data), ``waiting`` (its rule's or
      schedule's max_active_runs was reached: its gate lists it), or ``failed``: for good (``retryable`` false) or
      **failed for now** (``retryable`` true: the next event, tick, sweep or retry takes it over).
    - ``reopened`` turns a settled record back into a failure for now: an operator's retry, a sweep's replay of a
      disabled rule's skip, a waiting trigger's **turn** (a run of its rule ended), a data version whose run failed.
      Whoever claims it next takes it over (``Verdict``) and goes through the one protocol again.
    """

    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    FAILED = "failed"
    WAITING = "waiting"
    """max_active_runs was reached: the trigger waits for a slot (its rule's gate), started when a run ends."""

    @classmethod
    def parse(cls, stored: Any, record: str) -> RunState:
        """The state ``record`` stores; UnreadableRecord naming the record if it is not one of the app's."""
        if isinstance(stored, str) and stored in cls._value2member_map_:
            return cls(stored)
        raise UnreadableRecord(f"ledger record {record}: state {stored!r} is not one of "
                               f"{', '.join(state.value for state in cls)}")


SETTLED = frozenset({RunState.SUBMITTED, RunState.REJECTED, RunState.SKIPPED})
"""Final states: a key in one of them is never acted on again (a permanent failure is final too)."""


class Outcome(enum.StrEnum):
    """What became of a run, in one word: the value of its record's ``aml_state`` tag, which the run index counts
    by (the status page's runs per day and per rule) and the lifecycle rule deletes by. The one place these words
    are declared: infra/main.bicep's rules name ``SETTLED_OUTCOMES`` (tests/infra/test_infra.py ties them)."""

    COMPLETED = "completed"
    FAILED = "failed"
    """Azure ML's run failed, or the record failed for good (nothing retries it)."""
    CANCELED = "canceled"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    RUNNING = "running"
    """Submitted, and its run not seen to end (or its status unknown)."""
    STARTING = "starting"
    """Claimed: an owner is submitting it (or, past its claim's expiry, the next claim takes it over)."""
    WAITING = "waiting"
    FAILED_FOR_NOW = "failed for now"
    """Failed, retryable: the next event, tick, sweep or retry takes it over."""


SETTLED_OUTCOMES = frozenset({Outcome.COMPLETED, Outcome.FAILED, Outcome.CANCELED, Outcome.REJECTED,
                              Outcome.SKIPPED})
"""Outcomes nothing acts on again: the only ones the lifecycle rule deletes by age, so a record still running,
starting, waiting or failed for now is kept (its work would be lost)."""
_ENDED = {RunStatus.COMPLETED: Outcome.COMPLETED, RunStatus.FAILED: Outcome.FAILED,
          RunStatus.CANCELED: Outcome.CANCELED}
_BY_STATE = {RunState.CLAIMED: Outcome.STARTING, RunState.REJECTED: Outcome.REJECTED,
             RunState.SKIPPED: Outcome.SKIPPED, RunState.WAITING: Outcome.WAITING, RunState.FAILED: Outcome.FAILED}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Verdict(enum.Enum):
    SETTLED = "settled"
    """Final (or failed for good): a duplicate, never acted on again."""
    LIVE = "live"
    """Claimed within its expiry: its owner is on it; wait for it."""
    ABANDONED = "abandoned"
    """Take it over, but the earlier owner's POST may have started a run (a claim past its expiry, or a failure
    after an unknown outcome): look the run up before posting."""
    TAKE_OVER = "take over"
    """Failed for now with nothing started: take it over and post."""

    @property
    def needs_work(self) -> bool:
        return self in (Verdict.ABANDONED, Verdict.TAKE_OVER)


def verdict(state: RunState | None, retryable: bool, outcome_unknown: bool, age: float, expiry: float,
            margin: float = 0.0) -> Verdict:
    """What to do with a record in ``state``, written ``age`` seconds ago, whose claim expires after ``expiry``
    seconds; ``margin``: clock difference tolerated when ``age`` is not measured on the storage server's clock."""
    if state in SETTLED or state == RunState.WAITING or (state == RunState.FAILED and not retryable):
        return Verdict.SETTLED
    if state == RunState.FAILED:
        return Verdict.ABANDONED if outcome_unknown else Verdict.TAKE_OVER
    return Verdict.ABANDONED if age >= expiry + margin else Verdict.LIVE


class LedgerRecord(NamedTuple):
    """One key's record. Every field may be absent (None) in what storage holds: a process's memory of a
    settled key keeps only the state, the run and the occurrence. Its ``state`` moves as ``RunState`` says."""

    schema: int | None = None
    namespace: str | None = None
    key: str | None = None
    subject: Subject | None = None
    state: RunState | None = None
    owner: str | None = None
    claims: int | None = None
    first_claimed_at: str | None = None
    claimed_at: str | None = None
    claim_expiry_seconds: float | None = None
    updated_at: str | None = None
    retryable: bool | None = None
    outcome_unknown: bool | None = None
    run_id: str | None = None
    reason: str | None = None
    history: tuple[Mapping[str, Any], ...] = ()
    run: Mapping[str, Any] | None = None
    """What became of the run in Azure ML (``RunOutcome.to_json``); absent until its first status is known."""
    extra: Mapping[str, Any] = NO_ENTRIES
    """Every other stored key (run_url, attempts, error, data, ...), kept as stored."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], name: str | None = None) -> LedgerRecord:
        """The record stored as ``data`` (under ``name``, which errors name): its state and subject parsed once,
        UnreadableRecord if either is not one the app writes."""
        if not isinstance(data, Mapping):
            raise UnreadableRecord(f"ledger record {name or '(unnamed)'}: a ledger record is a JSON object, not "
                                   f"{type(data).__name__}")
        known = {field: data[field] for field in _FIELDS if data.get(field) is not None}
        where = name or _name_of(data)
        if "history" in known:
            known["history"] = tuple(known["history"])
        if "state" in known:
            known["state"] = RunState.parse(known["state"], where)
        if "subject" in known:
            known["subject"] = parse_subject(known["subject"], where)
        return cls(**known, extra={field: value for field, value in data.items() if field not in known})

    def to_json(self) -> dict[str, Any]:
        """The stored JSON: absent fields stay absent."""
        known = {name: getattr(self, name) for name in _FIELDS}
        known["history"] = list(self.history) or None
        known["state"] = None if self.state is None else self.state.value
        known["subject"] = None if self.subject is None else subject_json(self.subject)
        return {**self.extra, **{name: value for name, value in known.items() if value is not None}}

    @property
    def took_over(self) -> bool:
        return (self.claims or 1) > 1

    def judged(self, age: float, default_expiry: float, margin: float = 0.0) -> Verdict:
        """This record's verdict; a record that names no expiry of its own has ``default_expiry``."""
        expiry = default_expiry if self.claim_expiry_seconds is None else self.claim_expiry_seconds
        return verdict(self.state, bool(self.retryable), bool(self.outcome_unknown), age, expiry, margin)

    def settled(self, state: RunState, at: str, outcome: Mapping[str, Any]) -> LedgerRecord:
        """This claim's outcome: ``outcome``'s fields (None ones dropped, echoed ones masked) over the claim's."""
        merged = {**self.to_json(),
                  **{name: masked(value) if name in _ECHOED else value
                     for name, value in outcome.items() if value is not None},
                  "state": state.value, "updated_at": at, "retryable": bool(outcome.get("retryable", False))}
        merged.pop("claim_expiry_seconds", None)
        history = [*self.history, {"state": state.value, "at": at, "owner": self.owner}][-HISTORY_LIMIT:]
        return LedgerRecord.from_json(merged)._replace(history=tuple(history))

    def reopened(self, at: str, reason: str) -> LedgerRecord:
        """A settled record turned back into a retryable failure (an operator's retry, a waiting trigger's turn)."""
        history = [*self.history, {"state": "reopened", "at": at}][-HISTORY_LIMIT:]
        return self._replace(state=RunState.FAILED, retryable=True, reason=reason, updated_at=at,
                             history=tuple(history))

    def _index_tags(self, written_at: str | None) -> dict[str, str]:
        """The run index's tags on a run's own record (not a data claim): what became of its run (``Outcome``), the
        day its run was first claimed (so no later write moves it to another day) and this write's time (every
        write, an outcome's too, whatever ``updated_at`` says), when they are values a tag may hold."""
        outcome = self.outcome_word
        day = next((moment[:10] for moment in (self.first_claimed_at, self.claimed_at, written_at)
                    if moment and _DAY.match(moment)), None)
        if (not (self.namespace or "").startswith(RECORD_PREFIXES) or outcome is None or day is None
                or not (written_at and TAG_VALUE.fullmatch(written_at))):
            return {}
        return {STATE_TAG: outcome.value, DAY_TAG: day, UPDATED_TAG: written_at}

    @property
    def outcome_word(self) -> Outcome | None:
        """What became of this record's run: a submitted one's by its run's status (``running`` until it is seen
        to end), any other by its state (a retryable failure is ``failed for now``)."""
        if self.state == RunState.SUBMITTED:
            return _ENDED.get(run_status(str((self.run or {}).get("status", ""))), Outcome.RUNNING)
        if self.state == RunState.FAILED and self.retryable:
            return Outcome.FAILED_FOR_NOW
        return None if self.state is None else _BY_STATE[self.state]

    @property
    def outcome(self) -> RunOutcome | None:
        """The run's outcome in Azure ML, as far as it is known."""
        return None if self.run is None else RunOutcome.from_json(self.run)

    def with_outcome(self, outcome: RunOutcome) -> LedgerRecord:
        """This record with what is now known of its run; Azure ML's error masked like any echoed text."""
        document = outcome.to_json()
        if "error" in document:
            document["error"] = masked(document["error"])
        return self._replace(run=document)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str] | None, name: str | None = None) -> LedgerRecord:
        """What a listing shows of record ``name`` (its blob metadata): enough for a verdict, without reading it."""
        metadata = metadata or {}
        expiry = metadata.get("claim_expiry")
        status = metadata.get("run_status")
        state = metadata.get("state")
        return cls(state=None if state is None else RunState.parse(state, name or "(unnamed)"),
                   retryable=metadata.get("retryable") == "true",
                   claim_expiry_seconds=None if expiry is None else float(expiry),
                   run=None if status is None else {"status": status})

    def metadata(self) -> dict[str, str] | None:
        """The blob metadata stored beside the record, which the sweep judges from a listing without reading it."""
        if self.state is None:
            return None
        expiry = {} if self.claim_expiry_seconds is None else {"claim_expiry": str(self.claim_expiry_seconds)}
        status = {} if self.run is None else {"run_status": str(self.run.get("status"))}
        return {"state": self.state.value, "retryable": str(bool(self.retryable)).lower(), **expiry, **status}

    def tags(self, written_at: str | None = None) -> dict[str, str]:
        """The blob index tags written with the record, in the same request: its owner always, and while its run is
        submitted and not seen to end, the open tags (``shared.core.ledger.keys.OPEN_TAG``), or once it ended with its
        times pending (``TIMES_PENDING``, since its end was observed). Every write sends the whole set, so a write that
        ends a run (or settles its times) drops the open tags whether or not the service keeps tags on an overwrite
        without them. A run id or time no tag may hold leaves the record untagged as open: events still land. A
        data claim names its run too but is not a run's record (no event or GET ever ends it): never open.
        ``written_at``: the write's time, for the run index's tags (``_index_tags``)."""
        owner = {**({} if self.namespace is None else {OWNER_TAG: active_owner(self.namespace), **self._arrival()}),
                 **self._index_tags(written_at)}
        outcome = self.outcome
        pending = outcome is not None and outcome.terminal and outcome.times_pending
        since = outcome.observed_at if outcome is not None and pending else self.claimed_at or self.first_claimed_at
        if (self.state != RunState.SUBMITTED or (outcome is not None and outcome.terminal and not pending)
                or not (self.namespace or "").startswith(RECORD_PREFIXES)
                or not all(value and TAG_VALUE.fullmatch(value) for value in (self.run_id, since))):
            return owner
        return {**owner, OPEN_TAG: TIMES_PENDING if pending else OPEN, SINCE_TAG: str(since),
                RUN_TAG: str(self.run_id)}

    def _arrival(self) -> dict[str, str]:
        """The freshness tags (``arrival_tags``) of a record of one file version a rule took in; none for another
        record (a schedule's, a manual run's, a quiet batch's: its files' entries carry them) or a time no tag holds.
        The file arrived by its Last-Modified, so a backfill a month later counts it in its own month, not as new;
        its first claim bounds it too (earlier only on a clock behind storage's; all an older record kept)."""
        if not (self.namespace or "").startswith(rule_namespace("")) or not isinstance(self.subject, BlobSubject):
            return {}
        known = [moment for moment in (self.subject.last_modified, self.first_claimed_at) if moment]
        arrived = min(known) if known else None  # iso_ms texts sort in time order
        if not (arrived and TAG_VALUE.fullmatch(arrived)):
            return {}
        return arrival_tags(str(self.namespace), self.subject.blob, arrived)


def new_claim(namespace: str, key: str, subject: Subject, owner: str, at: str, expiry: float,
              previous: LedgerRecord | None = None) -> LedgerRecord:
    """A claim by ``owner``: the first one, or one taking ``previous`` over (its claim count and history kept)."""
    base = previous or LedgerRecord()
    history = list(base.history)
    if previous is not None:
        history.append({"state": f"taken over from {previous.state}", "at": at, "owner": owner,
                        "previous_owner": previous.owner})
    history.append({"state": RunState.CLAIMED.value, "at": at, "owner": owner})
    return LedgerRecord(schema=SCHEMA_VERSION, namespace=namespace, key=key, subject=subject,
                        state=RunState.CLAIMED, owner=owner, claims=(base.claims or 0) + 1,
                        first_claimed_at=base.first_claimed_at or at, claimed_at=at,
                        claim_expiry_seconds=expiry, updated_at=at, history=tuple(history[-HISTORY_LIMIT:]))


def _name_of(data: Mapping[str, Any]) -> str:
    """The record's name as its own namespace and key tell it, for an error about a record read without its name."""
    namespace, key = data.get("namespace"), data.get("key")
    return record_name(namespace, key) if isinstance(namespace, str) and isinstance(key, str) else "(unnamed)"


_FIELDS = tuple(name for name in LedgerRecord._fields if name != "extra")
