"""Freshness expectations, pure: which deadline a check stands for, the window it counts files in, and what it
decides (``arrived``, ``overdue``, then ``arrived_late`` when an overdue window's files land).

One state document per expectation holds the last deadline decided and its verdict, and the earlier ``overdue``
deadlines not yet resolved (the last ``OPEN_KEPT``). A check reads it, counts one window's files with one Find
Blobs by Tags (``arrivals_query``), and writes the next state conditionally on what it read: of two instances (or a
timer firing twice) one write wins, and only the winner logs the decision line.

An open deadline resolves only when the files since its window began cover ``min_files`` for every deadline from
it through the pending one (the next to decide): a late file is never counted both for an old deadline and for the
next one's window, so a missing export stays open. The oldest resolves first, one per check, each with one count
(the deadlines between come from the NCRONTAB, not from storage).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.core.common.errors import UnreadableJson
from shared.core.common.json_input import read_json
from shared.core.config.config_model import Freshness, Rule
from shared.core.ledger.decisions import Decision, Outcome
from shared.core.ledger.keys import (
    arrivals_query,
    freshness_folder_key,
    freshness_key,
    iso,
    iso_ms,
    parse_iso,
    rule_namespace,
)
from shared.core.ledger.subjects import UnreadableRecord

STATE_PREFIX = "freshness/"
"""Where expectation states live in the ledger container (never a record: no run is behind one)."""
ONE_SECOND = timedelta(seconds=1)
OPEN_KEPT = 30
"""How many deadlines back an ``overdue`` one is kept open (a month of daily deadlines); older ones are given up
(their ``overdue`` line was logged): this bounds the deadlines a resolution counts."""


class Verdict(str, enum.Enum):
    """What a state says of its deadline. STARTED: the first check's baseline, which decides nothing (files that
    came before the app counted them carry no arrival tag, so an old window would read as overdue)."""

    STARTED = "started"
    ARRIVED = Outcome.ARRIVED.value
    OVERDUE = Outcome.OVERDUE.value
    ARRIVED_LATE = Outcome.ARRIVED_LATE.value


@dataclass(frozen=True)
class Expectation:
    """One rule's expectation, with the names its state and its count go by."""

    rule: str
    freshness: Freshness

    @property
    def state_name(self) -> str:
        key = freshness_key(self.rule, self.freshness.folder, self.freshness.deadline.expression)
        return f"{STATE_PREFIX}{self.rule}/{key}.json"

    def query(self, since: datetime, until: datetime) -> str:
        """The tag expression for this expectation's files that arrived in [``since``, ``until``)."""
        folder = self.freshness.folder
        return arrivals_query(rule_namespace(self.rule), iso_ms(since), iso_ms(until),
                              freshness_folder_key(self.rule, folder) if folder else None)

    def deadline_due(self, now: datetime) -> datetime | None:
        """The latest deadline at or before ``now``."""
        return self.freshness.deadline.latest_at_or_before(now)

    def window_start(self, deadline: datetime) -> datetime:
        """The deadline before ``deadline``: its window's files arrived at or after it."""
        previous = self.freshness.deadline.latest_at_or_before(deadline - ONE_SECOND)
        assert previous is not None, "a validated expression fires at least once in any 29 years"
        return previous

    def following(self, deadline: datetime) -> datetime:
        """The deadline after ``deadline``."""
        after = self.freshness.deadline.earliest_after(deadline)
        assert after is not None, "a validated expression fires at least once in any 29 years"
        return after

    def deadlines_from(self, first: datetime, last: datetime) -> int:
        """How many deadlines there are from ``first`` through ``last`` (both deadlines, both counted)."""
        count, deadline = 1, first
        while deadline < last:
            deadline, count = self.following(deadline), count + 1
        return count

    def kept_from(self, deadline: datetime) -> str:
        """The oldest deadline a state decided at ``deadline`` keeps open: ``OPEN_KEPT`` deadlines before it."""
        for _ in range(OPEN_KEPT):
            deadline = self.window_start(deadline)
        return iso(deadline)


def expectations(rules: tuple[Rule, ...]) -> list[Expectation]:
    return [Expectation(rule.name, freshness) for rule in rules for freshness in rule.freshness]


@dataclass(frozen=True)
class FreshnessState:
    """The last deadline an expectation decided: its verdict, the files counted since ``since``, and when."""

    deadline: str
    verdict: str
    since: str
    files: int
    expected: int
    decided_at: str
    earlier: tuple[FreshnessState, ...] = ()
    """Earlier deadlines still ``overdue``, oldest first (each resolved when its files land)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FreshnessState:
        fields = {name: document[name] for name in cls.__dataclass_fields__ if name != "earlier"}
        return cls(**fields, earlier=tuple(cls.from_json(item) for item in document.get("earlier", ())))

    @property
    def unresolved(self) -> bool:
        """Overdue and not yet resolved: each check counts its window again until the files land."""
        return self.verdict == Verdict.OVERDUE.value

    @property
    def oldest_open(self) -> FreshnessState | None:
        """The overdue deadline to resolve first: the oldest earlier one, else this one if overdue."""
        return self.earlier[0] if self.earlier else self if self.unresolved else None

    def still_open(self, kept_from: str) -> tuple[FreshnessState, ...]:
        """What the next deadline's state keeps open: the earlier ones and this one if overdue, from ``kept_from``
        on."""
        own = (replace(self, earlier=()),) if self.unresolved else ()
        return tuple(state for state in self.earlier + own if state.deadline >= kept_from)

    def decision(self, expectation: Expectation) -> Decision:
        """The line this state's write logs."""
        where = f"under {expectation.freshness.folder!r}" if expectation.freshness.folder else "for the rule"
        texts = {Verdict.ARRIVED.value: f"{self.files} new file(s) {where} since {self.since}, "
                                        f"{self.expected} expected by {self.deadline}",
                 Verdict.OVERDUE.value: f"only {self.files} new file(s) {where} since {self.since}, "
                                        f"{self.expected} expected by {self.deadline}",
                 Verdict.ARRIVED_LATE.value: f"{self.files} new file(s) {where} since {self.since} by "
                                             f"{self.decided_at}: the data due by {self.deadline} landed late"}
        return Decision(Outcome(self.verdict), reason=texts[self.verdict], rule=expectation.rule,
                        folder=expectation.freshness.folder or None, deadline=self.deadline, since=self.since,
                        files=self.files, expected=self.expected)


def baseline(deadline: datetime, expectation: Expectation, at: datetime) -> FreshnessState:
    """The first state: ``deadline`` taken as decided, so the first decision is the next deadline's."""
    return FreshnessState(iso(deadline), Verdict.STARTED.value, iso(deadline), 0, expectation.freshness.min_files,
                          iso(at))


def decided(deadline: datetime, since: datetime, files: int, expectation: Expectation, at: datetime,
            previous: FreshnessState) -> FreshnessState:
    """``deadline``'s verdict from the ``files`` counted in its window; ``previous``'s open deadlines kept open."""
    expected = expectation.freshness.min_files
    verdict = Verdict.ARRIVED if files >= expected else Verdict.OVERDUE
    return FreshnessState(iso(deadline), verdict.value, iso(since), files, expected, iso(at),
                          previous.still_open(expectation.kept_from(deadline)))


@dataclass(frozen=True)
class Resolution:
    """The count that resolves ``state``'s oldest open deadline: ``needed`` files in [``since``, ``until``)."""

    since: datetime
    until: datetime
    needed: int


def resolution(expectation: Expectation, state: FreshnessState) -> Resolution | None:
    """The oldest open deadline's count: from its window's start to the pending deadline (the one after
    ``state``'s), ``min_files`` for each deadline from it through the pending one. So one late file cannot resolve
    two deadlines, nor one deadline late and count for the next on time. None: nothing open."""
    oldest = state.oldest_open
    if oldest is None:
        return None
    pending = expectation.following(parse_iso(state.deadline))
    deadlines = expectation.deadlines_from(parse_iso(oldest.deadline), pending)
    return Resolution(parse_iso(oldest.since), pending, expectation.freshness.min_files * deadlines)


def resolved(state: FreshnessState, files: int, needed: int, at: datetime,
             ) -> tuple[FreshnessState, FreshnessState] | None:
    """``state`` once its oldest open deadline has the ``needed`` files (``resolution``), and that deadline
    resolved (its line, with ``needed`` as expected); None while it has not."""
    oldest = state.oldest_open
    assert oldest is not None, "only a state with an open deadline is resolved"
    if files < needed:
        return None
    late = replace(oldest, verdict=Verdict.ARRIVED_LATE.value, files=files, expected=needed, decided_at=iso(at))
    return (replace(state, earlier=state.earlier[1:]) if state.earlier else late), late


def state_document(name: str, raw: bytes) -> dict[str, Any]:
    """A stored state's JSON, checked readable: else ``UnreadableRecord`` naming the document and what is wrong,
    never a KeyError from inside a check."""
    try:
        document = read_json(raw, source=f"freshness state {name}")  # bounded: a deep document is refused
    except UnreadableJson as error:
        raise UnreadableRecord(str(error)) from None
    try:
        _check(FreshnessState.from_json(document))
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableRecord(f"freshness state {name}: {type(error).__name__}: {error}") from None
    return dict(document)


def _check(state: FreshnessState) -> None:
    """Raise ValueError or TypeError unless ``state`` (and the earlier ones it keeps) holds what a check uses."""
    Verdict(state.verdict)
    for moment in (state.deadline, state.since):
        parse_iso(moment)
    if not isinstance(state.files, int) or not isinstance(state.expected, int):
        raise TypeError(f"files {state.files!r} and expected {state.expected!r} must be whole numbers")
    for earlier in state.earlier:
        _check(earlier)
