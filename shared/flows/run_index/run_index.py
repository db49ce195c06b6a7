"""Keeping the run index (``shared.core.run_index``) caught up: by its timer (``triggers/run_index.py``) and by a
view that finds it older than ``RUN_INDEX_MAX_AGE_SECONDS`` (``viewed_index``), and rebuilt from one listing of the
records when there is none. A view of a fresh index costs one read, however many records there are: on Azurite a
Find Blobs by Tags scans the whole container (a request per 5,000 blobs), so only the catch-up pays for it.

A catch-up costs one read of the index and one Find Blobs by Tags for the records changed since it last looked
(the ``aml_updated`` tag every record write carries, in the same request); only records that changed are read, and
only the days they changed on are recounted (one Find Blobs by Tags each, by the ``aml_day`` and ``aml_state``
tags). So its cost follows what happened since the last look, never the ledger's history. Nothing on a blob's
path writes the index: the records' tags are written with the records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.clients.process.services import Services
from shared.core.common.errors import Unavailable
from shared.core.ledger.decisions import LOGGER
from shared.core.ledger.keys import DAY_TAG, RECORD_NAME, RECORD_PREFIXES, STATE_TAG, UPDATED_TAG, iso_ms
from shared.core.run_index import run_index
from shared.core.run_index.run_index import CAUGHT_UP_AT, SUMMARY_NAME, Summary


@dataclass(frozen=True)
class IndexView:
    """The run index as a view shows it, and as of when."""

    summary: Summary
    as_of: datetime
    """Its last catch-up: the index's Last-Modified (storage's clock), or the start of the catch-up this view made."""


def viewed_index(services: Services, *, catch_up: bool = False) -> IndexView:
    """The run index for a view: as stored (one read) when its last catch-up is less than ``run_index_max_age``
    seconds old by storage's clock (whole seconds), else caught up now (the timer is not running, e.g. locally).
    ``catch_up``: this request changed a record (a Retry), so the view catches up to show it."""
    if not catch_up:
        found = services.ledger.read_dated(SUMMARY_NAME, parse=run_index.summary_from)
        if found is not None and found.document and found.age < services.config.run_index_max_age:
            return IndexView(found.document, found.last_modified)
    began = services.clock.now()
    return IndexView(current_index(services), began)


def current_index(services: Services) -> Summary:
    """The run index, caught up with the records now and written back (a conditional write) even when nothing
    changed: its Last-Modified is then the time of its last catch-up."""
    oldest_day = _oldest_day(services)
    began = iso_ms(services.clock.now())
    return _swapped(services, lambda found: {**_caught_up(services, found, oldest_day), CAUGHT_UP_AT: began})


def rebuild(services: Services) -> Summary:
    """The run index recounted from one listing of every record (a request per 5,000) and the newest records read:
    after an outage of the tag index, a clock far off, or to index records written before the index existed."""
    return _swapped(services, lambda _found: _rebuilt(services, _oldest_day(services)))


def _swapped(services: Services, change: Callable[[Summary | None], Summary]) -> Summary:
    """The index ``change`` makes of the stored one, written back if still as read. Losing that race every time
    (``Unavailable``) still answers what was caught up from the last read: the index is a cache of the records,
    so a page is served from it and the next reader writes it."""
    made: list[Summary] = []

    def remembered(found: Summary | None) -> Summary:
        made.append(change(found))
        return made[-1]

    try:
        summary = services.ledger.swap(SUMMARY_NAME, remembered, parse=run_index.summary_from)
    except Unavailable as error:
        if not made:
            raise
        LOGGER.warning("run index not written back (%s): this page is served from the index as caught up", error)
        return made[-1]
    assert summary is not None  # change always answers a document
    return summary


def _oldest_day(services: Services) -> str:
    """The first day the index counts: the lifecycle rule has deleted the records of the days before."""
    return run_index.day_of(services.clock.now() - timedelta(days=services.config.record_retention_days))


def _caught_up(services: Services, found: Summary | None, oldest_day: str) -> Summary:
    if not found:  # none yet, or unreadable (``summary_from``)
        return _rebuilt(services, oldest_day)
    changed = _changed(services, run_index.since(found))
    stale = set(run_index.stale(found, changed))
    if not stale:
        return found
    written = {name: at for name, at in changed if name in stale}
    days = {at[:10] for at in written.values()}
    days |= {found["seen"][name][:10] for name in stale if name in found["seen"]}
    counts = {day: _day(services, day) for day in sorted(days) if day >= oldest_day}
    return run_index.caught_up(found, _rows(services, sorted(stale)), written, counts,
                               max(written.values()), oldest_day)


def _rebuilt(services: Services, oldest_day: str) -> Summary:
    listed = sorted(((run_index.written_at(blob.tags, blob.last_modified), blob) for prefix in RECORD_PREFIXES
                     for page in services.ledger.listing(prefix, tags=True) for blob in page),
                    key=lambda found: run_index.newest_first(found[0], found[1].name), reverse=True)
    counts: dict[str, list[tuple[str, str]]] = {}
    for written, blob in listed:
        state = (blob.tags or {}).get(STATE_TAG) or (blob.metadata or {}).get("state", "unknown")
        counts.setdefault(written[:10], []).append((blob.name, state))
    days = {day: run_index.day_counts(found) for day, found in counts.items()}
    newest = listed[:run_index.RECENT_ROWS]
    rows = _rows(services, [blob.name for _written, blob in newest])
    watermark = listed[0][0] if listed else "1970-01-01T00:00:00.000Z"
    seen = {blob.name: written for written, blob in newest}
    return run_index.caught_up(run_index.empty(watermark), rows, seen, days, watermark, oldest_day)


def _changed(services: Services, since: str) -> list[tuple[str, str]]:
    """(record, time of its last write) of the run records written after ``since``, by their tags."""
    return [(blob.name, (blob.tags or {}).get(UPDATED_TAG, ""))
            for blob in services.ledger.container.find_blobs_by_tags(run_index.changed_query(since))
            if RECORD_NAME.fullmatch(blob.name)]


def _rows(services: Services, names: list[str]) -> list[dict[str, Any]]:
    return [run_index.record_summary(name, found[0]) for name in names if (found := services.ledger.read(name))]


def _day(services: Services, day: str) -> dict[str, dict[str, int]]:
    found = services.ledger.container.find_blobs_by_tags(run_index.day_query(day))
    return run_index.day_counts((blob.name, (blob.tags or {}).get(STATE_TAG, "unknown")) for blob in found
                                if RECORD_NAME.fullmatch(blob.name) and (blob.tags or {}).get(DAY_TAG) == day)

