"""Keeping the run index (``shared.core.run_index``) caught up: on each read of it (the status page, ``runs``), and
rebuilt from one listing of the records when there is none.

A catch-up costs one read of the index and one Find Blobs by Tags for the records changed since it last looked
(the ``aml_updated`` tag every record write carries, in the same request); only records that changed are read, and
only the days they changed on are recounted (one Find Blobs by Tags each, by the ``aml_day`` and ``aml_state``
tags). So its cost follows what happened since the last look, never the ledger's history. Nothing on a blob's
path writes the index: the records' tags are written with the records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from azure.storage.blob import BlobProperties

from shared.clients.process.services import Services
from shared.core.ledger.keys import DAY_TAG, RECORD_NAME, RECORD_PREFIXES, STATE_TAG, UPDATED_TAG
from shared.core.run_index import run_index
from shared.core.run_index.run_index import SCHEMA, SUMMARY_NAME, Summary


def current_index(services: Services) -> Summary:
    """The run index, caught up with the records now (written back only when something changed)."""
    oldest_day = _oldest_day(services)
    summary = services.ledger.swap(SUMMARY_NAME, lambda found: _caught_up(services, found, oldest_day))
    assert summary is not None  # _caught_up always answers a document
    return summary


def rebuild(services: Services) -> Summary:
    """The run index recounted from one listing of every record (a request per 5,000) and the newest records read:
    after an outage of the tag index, a clock far off, or to index records written before the index existed."""
    summary = services.ledger.swap(SUMMARY_NAME, lambda _found: _rebuilt(services, _oldest_day(services)))
    assert summary is not None
    return summary


def _oldest_day(services: Services) -> str:
    """The first day the index counts: the lifecycle rule has deleted the records of the days before."""
    return run_index.day_of(services.clock.now() - timedelta(days=services.config.record_retention_days))


def _caught_up(services: Services, found: dict[str, Any] | None, oldest_day: str) -> Summary:
    if found is None or found.get("schema") != SCHEMA:
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
    listed = [blob for prefix in RECORD_PREFIXES for page in services.ledger.listing(prefix) for blob in page]
    listed.sort(key=lambda blob: blob.last_modified, reverse=True)
    counts: dict[str, list[tuple[str, str]]] = {}
    for blob in listed:
        counts.setdefault(blob.last_modified.date().isoformat(), []).append(
            (blob.name, (blob.metadata or {}).get("state", "unknown")))
    days = {day: run_index.day_counts(found) for day, found in counts.items()}
    rows = _rows(services, [blob.name for blob in listed[:run_index.RECENT_ROWS]])
    newest = _ms(listed[0]) if listed else "1970-01-01T00:00:00.000Z"
    tagged = dict(_changed(services, run_index.since(run_index.empty(newest))))
    seen = {blob.name: tagged.get(blob.name, _ms(blob)) for blob in listed[:run_index.RECENT_ROWS]}
    watermark = max([newest, *tagged.values()])
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


def _ms(blob: BlobProperties) -> str:
    return str(blob.last_modified.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
