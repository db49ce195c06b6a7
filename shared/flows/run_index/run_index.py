"""Keeping the run index (``shared.core.run_index``) caught up: by its timer (``triggers/run_index.py``) and by a
view that finds it older than ``RUN_INDEX_MAX_AGE_SECONDS`` (``viewed_index``), and rebuilt from one listing of the
records when there is none. A view of a fresh index costs one read, however many records there are: on Azurite a
Find Blobs by Tags scans the whole container (a request per 5,000 blobs), so only the catch-up pays for it.

A catch-up costs one read of the index and one Find Blobs by Tags for the records changed since it last looked
(the ``aml_updated`` and ``aml_day`` tags every record write carries, in the same request); only the newest records
that changed are read (at most ``RECENT_ROWS``), and only the days of the records that changed are recounted (one
Find Blobs by Tags each, by the ``aml_day`` and ``aml_state`` tags: a record's day never moves). So its cost
follows what happened since the last look, never the ledger's history. Nothing on a blob's path writes the index:
the records' tags are written with the records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.storage.blob import BlobProperties, FilteredBlob

from shared.clients.process.services import Services
from shared.core.common.errors import Unavailable
from shared.core.config.config_model import AppConfig
from shared.core.ledger.decisions import LOGGER
from shared.core.ledger.keys import DAY_TAG, RECORD_NAME, RECORD_PREFIXES, STATE_TAG, UPDATED_TAG, iso_ms
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.subjects import UnreadableRecord
from shared.core.run_index import run_index
from shared.core.run_index.run_index import CAUGHT_UP_AT, CAUGHT_UP_BY, SUMMARY_NAME, CaughtUp, Summary


@dataclass(frozen=True)
class IndexView:
    """The run index as a view shows it, and as of when."""

    summary: Summary
    as_of: datetime
    """Its last catch-up: the index's Last-Modified (storage's clock), or the start of the catch-up this view made."""
    caught_up: CaughtUp = CaughtUp.TIMER
    """Whether it is shown as the timer left it or this view caught it up (and why)."""

    def note(self, config: AppConfig, *, listed: bool = False) -> str:
        """What the view says of it (``run_index.as_of_note``)."""
        return run_index.as_of_note(self.as_of, config.run_index_schedule, listed=listed, caught_up=self.caught_up,
                                    max_age=config.run_index_max_age)


def viewed_index(services: Services, *, catch_up: bool = False) -> IndexView:
    """The run index for a view: as stored (one read) when its last catch-up is less than ``run_index_max_age``
    seconds old by storage's clock (whole seconds), else caught up now (the timer is not running, e.g. locally).
    ``catch_up``: this request changed a record (a Retry), so the view catches up to show it."""
    as_read = None
    if not catch_up:
        found = services.ledger.read_dated(SUMMARY_NAME, parse=run_index.summary_from)
        if found is not None and found.document and found.age < services.config.run_index_max_age:
            by_view = found.document.get(CAUGHT_UP_BY) == "view"
            return IndexView(found.document, found.last_modified,
                             CaughtUp.EARLIER_VIEW if by_view else CaughtUp.TIMER)
        as_read = None if found is None else (found.document, found.etag)
    began = services.clock.now()
    return IndexView(current_index(services, by_view=True, as_read=as_read), began,
                     CaughtUp.RETRY if catch_up else CaughtUp.STALE)


def current_index(services: Services, *, by_view: bool = False,
                  as_read: tuple[Summary, str] | None = None) -> Summary:
    """The run index, caught up with the records now and written back (a conditional write) even when nothing
    changed: its Last-Modified is then the time of its last catch-up; ``by_view``: a view, not the timer, made it
    (``CAUGHT_UP_BY``); ``as_read``: the index and its ETag as the view just read them (not read again)."""
    oldest_day = _oldest_day(services)
    began = iso_ms(services.clock.now())
    stamp = {CAUGHT_UP_AT: began, CAUGHT_UP_BY: "view" if by_view else "timer"}
    return _swapped(services, lambda found: {**_caught_up(services, found, oldest_day), **stamp}, as_read)


def rebuild(services: Services) -> Summary:
    """The run index recounted from one listing of every record (a request per 5,000) and the newest records read:
    after an outage of the tag index, a clock far off, or to index records written before the index existed."""
    return _swapped(services, lambda _found: _rebuilt(services, _oldest_day(services)))


def _swapped(services: Services, change: Callable[[Summary | None], Summary],
             as_read: tuple[Summary, str] | None = None) -> Summary:
    """The index ``change`` makes of the stored one, written back if still as read. Losing that race every time
    (``Unavailable``) still answers what was caught up from the last read: the index is a cache of the records,
    so a page is served from it and the next reader writes it."""
    made: list[Summary] = []

    def remembered(found: Summary | None) -> Summary:
        made.append(change(found))
        return made[-1]

    try:
        summary = services.ledger.swap(SUMMARY_NAME, remembered, parse=run_index.summary_from, as_read=as_read)
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
    """``found`` with what changed since: the newest changed records read (at most ``RECENT_ROWS``, however many
    changed), and each day they belong to recounted (one Find each)."""
    if not found:  # none yet, or unreadable (``summary_from``)
        return _rebuilt(services, oldest_day)
    stale = run_index.stale(found, _changed(services, run_index.since(found)))
    if not stale:
        return found
    shown = run_index.newest(stale)
    counts = {day: _day(services, day) for day in sorted({change.day for change in stale}) if day >= oldest_day}
    return run_index.caught_up(found, _rows(services, [change.record for change in shown]),
                               {change.record: change.written for change in shown}, counts,
                               max(change.written for change in stale), oldest_day)


def _rebuilt(services: Services, oldest_day: str) -> Summary:
    listed = sorted(((run_index.written_at(blob.tags, blob.last_modified), blob) for prefix in RECORD_PREFIXES
                     for page in services.ledger.listing(prefix, tags=True) for blob in page),
                    key=lambda found: run_index.newest_first(found[0], found[1].name), reverse=True)
    counts: dict[str, list[tuple[str, str]]] = {}
    for written, blob in listed:
        outcome = listed_outcome(blob)
        counts.setdefault(_tag(blob, DAY_TAG) or written[:10], []).append((blob.name, outcome))
    days = {day: run_index.day_counts(found) for day, found in counts.items()}
    newest = listed[:run_index.RECENT_ROWS]
    rows = _rows(services, [blob.name for _written, blob in newest])
    watermark = listed[0][0] if listed else "1970-01-01T00:00:00.000Z"
    seen = {blob.name: written for written, blob in newest}
    return run_index.caught_up(run_index.empty(watermark), rows, seen, days, watermark, oldest_day)


def listed_outcome(blob: BlobProperties) -> str:
    """What became of a listed record's run (``Outcome``): its ``aml_state`` tag, or for an untagged record
    (written before the index's tags) from its listed metadata."""
    return _tag(blob, STATE_TAG) or _outcome(blob.metadata, blob.name)


def _outcome(metadata: dict[str, str] | None, name: str) -> str:
    try:
        outcome = LedgerRecord.from_metadata(metadata, name).outcome_word
    except UnreadableRecord:
        outcome = None
    return "unknown" if outcome is None else outcome.value


def _changed(services: Services, since: str) -> list[run_index.Change]:
    """The run records written after ``since``, with their last write's time and day, by their tags."""
    found = services.ledger.container.find_blobs_by_tags(run_index.changed_query(since))
    return [run_index.Change(blob.name, _tag(blob, UPDATED_TAG), _tag(blob, DAY_TAG)) for blob in found
            if RECORD_NAME.fullmatch(blob.name)]


def _tag(blob: FilteredBlob | BlobProperties, name: str) -> str:
    return (blob.tags or {}).get(name, "")


def _rows(services: Services, names: list[str]) -> list[dict[str, Any]]:
    return [run_index.record_summary(name, found[0]) for name in names if (found := services.ledger.read(name))]


def _day(services: Services, day: str) -> dict[str, dict[str, int]]:
    found = services.ledger.container.find_blobs_by_tags(run_index.day_query(day))
    return run_index.day_counts((blob.name, _tag(blob, STATE_TAG) or "unknown") for blob in found
                                if RECORD_NAME.fullmatch(blob.name) and _tag(blob, DAY_TAG) == day)

