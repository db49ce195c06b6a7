"""A backfill's pure parts: its time window, what each listed blob version is to the ledger, the key a deliberate
rerun gets, and the report's words.

A backfill runs a rule over blob versions already in storage. A version's live key (``blob_version_key``) is the
one its event, the sweep and a manual submit claim, so a version that already ran is a duplicate, whichever ran
it first. Running again what already ran is a deliberate extra run (``Rerun``): a manual request whose request id
names the rerun's label and the live key, so it never takes the live key and a restarted rerun finds its own
records; it may be limited to versions whose run ended one way (``rejected``, ``failed``: the status page's words).
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.core.common.errors import InvalidInput
from shared.core.ledger.keys import iso
from shared.core.ledger.ledger_record import SETTLED_OUTCOMES, LedgerRecord, Outcome, Verdict
from shared.core.ledger.retention import sweep_horizon

RERUN_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
"""A rerun's label: short and plain, since it becomes part of a manual run's request id (at most 128 characters)."""
RERUN_PREFIX = "backfill"
RERUNNABLE = frozenset({*SETTLED_OUTCOMES, Outcome.RUNNING, Outcome.WAITING})
"""What became of a version that already ran (its record settled): the outcomes a rerun may be limited to."""
_RERUNNABLE_WORDS = tuple(sorted(outcome.value for outcome in RERUNNABLE))


@dataclass(frozen=True)
class Window:
    """``[since, until)``: a version whose Last-Modified is ``since`` is in it, one at ``until`` is not."""

    since: datetime
    until: datetime
    since_name: str = field(default="since", compare=False)
    """How the user named ``since`` (``--since`` on the command line), for the errors about it."""
    until_name: str = field(default="until", compare=False)

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise InvalidInput(f"{self.since_name} and {self.until_name} must name their time zone "
                               "(e.g. 2026-11-22T02:00:00Z)")
        if self.since >= self.until:
            raise InvalidInput(f"{self.since_name} ({iso(self.since)}) must be before {self.until_name} "
                               f"({iso(self.until)})")

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def check_horizon(self, now: datetime, retention_days: int) -> None:
        """Refuse a window that starts before the records' horizon (the sweep's): an older version's record may be
        deleted already, so the ledger could not tell it ran and the backfill would run it a second time."""
        horizon = (now - sweep_horizon(retention_days)).replace(microsecond=0)  # to the second, as it is shown
        if self.since < horizon:
            raise InvalidInput(
                f"{self.since_name} {iso(self.since)} is before the backfill horizon {iso(horizon)}: run records are "
                f"deleted after RECORD_RETENTION_DAYS ({retention_days} days) and the horizon stays one day inside it, "
                f"so a version older than that may have run with its record gone and would run a second time; "
                f"start the window at or after {iso(horizon)}")


class Standing(str, enum.Enum):
    """What the ledger says of one version before a backfill: whether the backfill would start its run."""

    NEVER_SEEN = "never seen"
    """No record: its event never came (or came before the rule existed)."""
    LEFT_OPEN = "left open"
    """Failed for now, or a claim past its expiry: the next claim takes it over (looking the run up first)."""
    IN_HAND = "in hand"
    """Claimed moments ago: its owner is on it; a backfill's claim would be a duplicate or wait for it."""
    ALREADY_RUN = "already run"
    """Settled (submitted, rejected, skipped, waiting, failed for good): a duplicate, unless rerun on purpose."""

    @property
    def would_run(self) -> bool:
        return self in (Standing.NEVER_SEEN, Standing.LEFT_OPEN)


def standing(record: LedgerRecord | None, age: float, expiry: float, margin: float) -> Standing:
    """Where a version stands, from its record's listing metadata (None: no record), ``age`` seconds old."""
    if record is None:
        return Standing.NEVER_SEEN
    judged = record.judged(age, expiry, margin)
    if judged.needs_work:
        return Standing.LEFT_OPEN
    return Standing.IN_HAND if judged is Verdict.LIVE else Standing.ALREADY_RUN


def claim_expires(record: LedgerRecord, written: datetime, expiry: float, margin: float) -> datetime:
    """When an in-hand version's claim, ``written`` then, counts as abandoned: from then on a backfill takes it over
    (looking its run up first, so a run its owner started is found, never started twice)."""
    own = expiry if record.claim_expiry_seconds is None else record.claim_expiry_seconds
    return written + timedelta(seconds=own + margin)


def rerun_label(text: str) -> str:
    """The label of a deliberate rerun, or the error that says what one must be."""
    if not RERUN_LABEL.fullmatch(text):
        raise InvalidInput(f"rerun label {text[:60]!r} must be 1 to 40 letters, digits, '.', '_' or '-', starting "
                           "with a letter or digit")
    return text


def rerun_outcomes(words: Iterable[object], what: str) -> frozenset[Outcome]:
    """The outcomes a rerun is limited to, from ``words``, or the error naming ``what`` (the flag or field)."""
    chosen = list(words)
    unknown = [word for word in chosen if word not in _RERUNNABLE_WORDS]  # a tuple: an unhashable JSON value is unknown
    if unknown or not chosen:
        named = ", ".join(repr(word)[:60] for word in unknown) or "no outcome"
        raise InvalidInput(f"{what} names {named}: name what became of the versions to run again, some of "
                           f"{', '.join(_RERUNNABLE_WORDS)} (the status page's outcomes of a run that already ran)")
    return frozenset(Outcome(str(word)) for word in chosen)


@dataclass(frozen=True)
class Rerun:
    """A deliberate rerun of versions that already ran: its label (their keys' own part), and which of them it
    takes, by what became of their runs."""

    label: str
    outcomes: frozenset[Outcome] = RERUNNABLE

    def covers(self, outcome: Outcome | None) -> bool:
        return outcome in self.outcomes

    @property
    def words(self) -> list[str]:
        return sorted(outcome.value for outcome in self.outcomes)


def rerun(label: str | None, outcomes: Iterable[object] | None,
          names: tuple[str, str] = ("rerun_completed", "rerun_outcomes")) -> Rerun | None:
    """The rerun asked for (None: none), its errors naming the fields as the user named them (``names``)."""
    if label is None:
        if outcomes is not None:
            raise InvalidInput(f"{names[1]} limits a rerun: give {names[0]} too (the rerun's label)")
        return None
    return Rerun(rerun_label(label), RERUNNABLE if outcomes is None else rerun_outcomes(outcomes, names[1]))


def rerun_request_id(label: str, live_key: str) -> str:
    """The request id of a version's deliberate rerun: one per label and version, never the live key itself."""
    return f"{RERUN_PREFIX}:{rerun_label(label)}:{live_key}"


@dataclass(frozen=True)
class Candidate:
    """One listed version in the window, where it stands, and (once handled) what became of it."""

    blob: str
    etag: str
    last_modified: datetime
    standing: Standing
    rerun: str | None = None
    """The label of its deliberate rerun (it already ran under its live key); None: its live key's run."""
    retry_after: datetime | None = None
    """An in-hand version's claim expiry (``claim_expires``): a backfill run after it finishes the version."""
    outcome: Outcome | None = None
    """What became of its run under its live key, for a version that already ran."""

    def line(self) -> str:
        """How a backfill lists it: would it run, when it was written, which version, where it stands (and, one
        that already ran, how its run ended, and where its rerun stands)."""
        verb = ("would rerun" if self.rerun else "would run") if self.standing.would_run else "skip"
        stands = self.standing.value
        if self.outcome is not None:
            ran = f"{Standing.ALREADY_RUN.value}: {self.outcome.value}"
            stands = f"{ran}; rerun {self.rerun}: {stands}" if self.rerun else ran
        return f"{verb:<12} {iso(self.last_modified)}  {self.blob}  ({self.etag}, {stands})"


@dataclass
class BackfillReport:
    rule: str
    since: str
    until: str
    run: bool
    rerun: str | None = None
    """The label of a deliberate rerun of what already ran."""
    rerun_outcomes: list[str] | None = None
    """The outcomes that rerun takes (sorted)."""
    reruns: int = 0
    """Versions that already ran which the rerun takes (each runs unless its rerun ran already)."""
    listing_pages: int = 0
    blobs_listed: int = 0
    in_window: int = 0
    standings: Counter[str] = field(default_factory=Counter)
    """Where each version in the window stands under its live key."""
    already_run: Counter[str] = field(default_factory=Counter)
    """What became of the runs of those that already ran (the status page's outcome words)."""
    to_run: int = 0
    processed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why it stopped before the end (a cap of active runs, the time an HTTP request has): run it again."""
    in_hand: int = 0
    """Versions claimed by another owner (their event, another backfill, or one killed): left to it for now."""
    retry_after: str | None = None
    """When the last of those claims expires: a backfill run then finishes what their owners did not."""

    @property
    def left(self) -> int:
        return self.to_run - self.processed + self.in_hand

    def hold(self, held: list[Candidate]) -> None:
        """Count ``held`` (in-hand versions) as left, and say when a backfill may take them over."""
        self.in_hand = len(held)
        moments = [candidate.retry_after for candidate in held if candidate.retry_after is not None]
        self.retry_after = iso(max(moments)) if moments else None

    def summary(self) -> str:
        """One line: what was listed, where the versions stood, and what was done (or would be)."""
        stood = "; ".join(f"{count} {name}{self._how_they_ended(name)}"
                          for name, count in sorted(self.standings.items())) or "none"
        head = (f"backfill {self.rule} [{self.since}, {self.until}): listed {self.blobs_listed} blobs in "
                f"{self.listing_pages} listing pages; {self.in_window} versions in the window ({stood})")
        if self.rerun:
            head += f"; rerun {self.rerun} of {', '.join(self.rerun_outcomes or [])}: {self.reruns} versions"
        if not self.run:
            return f"{head}; dry run: {self.to_run} would run, nothing sent"
        done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items())) or "nothing"
        tail = f"; stopped: {self.stopped}" if self.stopped else ""
        held = (f" ({self.in_hand} in hand: claimed by another owner, or by a backfill that was killed; run again "
                f"after {self.retry_after} to finish them)") if self.in_hand else ""
        return f"{head}; {self.processed} of {self.to_run} processed: {done}; {self.left} left{held}{tail}"

    def _how_they_ended(self, standing_name: str) -> str:
        if standing_name != Standing.ALREADY_RUN.value or not self.already_run:
            return ""
        return ": " + ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.already_run.items()))

    def as_dict(self) -> dict[str, object]:
        return {**{name: value for name, value in vars(self).items() if name not in ("standings", "outcomes")},
                "standings": dict(self.standings), "outcomes": dict(self.outcomes), "left": self.left}
