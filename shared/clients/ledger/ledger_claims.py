"""What claiming a key in the ledger answers: a claim to act on, a duplicate (already handled), or why neither
(busy with a live owner, lost to a newer owner); and a run in flight as its marker's listing shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from shared.core.common.errors import Conflict, Unavailable
from shared.core.ledger.ledger_record import LedgerRecord


class ClaimBusyError(Unavailable):
    """Another live process holds the claim and did not settle it before our deadline: try again later."""


class ClaimLostError(Conflict):
    """Our claim expired and was taken over before we settled it; the record was left to the new owner."""


class Claim(NamedTuple):
    """The right to act on one key, held until settled or expired."""

    record_name: str
    etag: str
    entry: LedgerRecord
    unknown_for: float | None = None
    """Taken over from an owner whose POST may have started a run (it left a claim, or a failure after an
    unknown outcome): seconds since that record was written, by the storage server's clock."""
    previous: LedgerRecord | None = None
    """The record taken over, if any: whose run an unknown outcome may have started."""

    @property
    def record(self) -> dict[str, Any]:
        """The record as stored."""
        return self.entry.to_json()

    @property
    def took_over(self) -> bool:
        return self.entry.took_over


class Duplicate(NamedTuple):
    """The key was already settled: nothing more to do."""

    entry: LedgerRecord

    @property
    def record(self) -> dict[str, Any]:
        """The record as stored (or as much of it as this process remembers)."""
        return self.entry.to_json()


class ActiveRun(NamedTuple):
    """A run started and not yet seen to end, as the record's open tags show it: no record read."""

    record: str
    run_id: str
    since: datetime
    times_pending: bool = False
    """The run ended and only its times are asked again (``shared.core.ledger.keys.TIMES_PENDING``): ``since`` is
    when its end was observed."""
