"""How long run records are kept: the storage account's lifecycle rule deletes them (no request of the app's), and
nothing that could act on a blob version again may outlive its record.

Three things may act on a version after its first event, each within a horizon the retention must cover:
Event Grid retries a delivery for 24 hours; a dead-lettered event may be replayed for ``DEAD_LETTER_REPLAY_DAYS``;
the sweep looks back over blobs changed in the last retention days less ``SWEEP_MARGIN`` (``sweep_horizon``), so a
blob it finds still has its record. Pure.
"""

from __future__ import annotations

import math
from datetime import timedelta

EVENT_GRID_RETRY = timedelta(hours=24)
"""Event Grid's longest retry of one delivery (its default retry policy: 24 hours, then dead-letter)."""
DEAD_LETTER_REPLAY_DAYS = 14
"""Days within which a dead-lettered event may be replayed (docs/operating.md): an older one may find its record
gone and start a second run, so replay tools and people must not replay older ones."""
SWEEP_MARGIN = timedelta(days=1)
"""The sweep's horizon stays this far inside the retention: a record is written after its blob's last change, and
the lifecycle rule runs once a day, so a blob the sweep still looks at always has its record."""
MIN_RETENTION_DAYS = math.ceil((max(EVENT_GRID_RETRY, timedelta(days=DEAD_LETTER_REPLAY_DAYS))
                                + SWEEP_MARGIN) / timedelta(days=1))
"""The shortest retention exactly-once allows: the longest horizon (dead-letter replay) and the sweep's margin."""


def retention_problem(days: int) -> str | None:
    """Why ``days`` of retention is too short, or None."""
    if days >= MIN_RETENTION_DAYS:
        return None
    return (f"at least {MIN_RETENTION_DAYS} days: records must outlive Event Grid's 24 h of retries and the "
            f"{DEAD_LETTER_REPLAY_DAYS} days a dead-lettered event may be replayed, plus the day the sweep's horizon "
            "keeps inside the retention; a shorter one lets a late delivery or a sweep run a deleted record's "
            "blob again")


def sweep_horizon(days: int) -> timedelta:
    """How far back the sweep looks for blobs with no record: inside the retention by ``SWEEP_MARGIN``."""
    return timedelta(days=days) - SWEEP_MARGIN
