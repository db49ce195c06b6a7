"""Keeping the run index (``shared.core.run_index``) caught up: on each read of it (the status page, ``runs``), and
rebuilt from one listing of the records when there is none.

A catch-up costs one read of the index and one Find Blobs by Tags for the records changed since it last looked
(the ``aml_updated`` tag every record write carries, in the same request); only records that changed are read, and
only the days they changed on are recounted (one Find Blobs by Tags each, by the ``aml_day`` and ``aml_state``
tags). So its cost follows what happened since the last look, never the ledger's history. Nothing on a blob's
path writes the index: the records' tags are written with the records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from azure.storage.blob import BlobProperties

from shared.clients.process.services import Services
from shared.core.ledger.keys import DAY_TAG, RECORD_NAME, RECORD_PREFIXES, STATE_TAG, UPDATED_TAG
from shared.core.run_index import run_index
from shared.core.run_index.run_index import SCHEMA, SUMMARY_NAME, Summary


def current_index(services: Services, now: datetime, *, retention_days: int) -> Summary:
    """The run index, caught up with the records now (written back only when something changed)."""
    oldest_day = run_index.day_of(now - timedelta(days=retention_days))
    summary = services.ledger.swap(SUMMARY_NAME, lambda found: _caught_up(services, found, oldest_day))
    assert summary is not None  # _caught_up always answers a document
    return summary


def rebuild(services: Services, now: datetime, *, retention_days: int) -> Summary:
    """The run index recounted from one listing of every record (a request per 5,000) and the newest records read:
    after an outage of the tag index, a clock far off, or to index records written before the index existed."""
    oldest_day = run_index.day_of(now - timedelta(days=retention_days))
    summary = services.ledger.swap(SUMMARY_NAME, lambda _found: _rebuilt(services, oldest_day))
    assert summary is not None
    return summary


def _caught_up(services: Services, found: dict[str, Any] | None, oldest_day: str) -> Summary:
    if found is None or found.get("schema") != SCHEMA:
        return _rebuilt(services, oldest_day)
    container = services.ledger.container
    changed = [(blob.name, (blob.tags or {}).get(UPDATED_TAG, ""))
               for blob in container.find_blobs_by_tags(run_index.changed_query(run_index.since(found)))
               if RECORD_NAME.fullmatch(blob.name)]
    stale = set(run_index.stale(found, changed))
    if not stale:
        return found
    rows = _rows(services, sorted(stale))
    before = {row["record"]: str(row.get("updated_at") or "") for row in found["rows"]}
    days = {updated[:10] for name, updated in changed if name in stale}
    days |= {before[name][:10] for name in stale if before.get(name)}
    counts = {day: _day(services, day) for day in sorted(days) if day >= oldest_day}
    watermark = max(updated for _name, updated in changed)
    return run_index.caught_up(found, rows, counts, watermark, oldest_day)


def _rebuilt(services: Services, oldest_day: str) -> Summary:
    listed = [blob for prefix in RECORD_PREFIXES for page in services.ledger.listing(prefix) for blob in page]
    listed.sort(key=lambda blob: blob.last_modified, reverse=True)
    counts: dict[str, list[tuple[str, str]]] = {}
    for blob in listed:
        counts.setdefault(blob.last_modified.date().isoformat(), []).append(
            (blob.name, (blob.metadata or {}).get("state", "unknown")))
    days = {day: run_index.day_counts(found) for day, found in counts.items()}
    rows = _rows(services, [blob.name for blob in listed[:run_index.RECENT_ROWS]])
    watermark = _ms(listed[0]) if listed else "1970-01-01T00:00:00.000Z"
    return run_index.caught_up(run_index.empty(watermark), rows, days, watermark, oldest_day)


def _rows(services: Services, names: list[str]) -> list[dict[str, Any]]:
    return [run_index.record_summary(name, found[0]) for name in names if (found := services.ledger.read(name))]


def _day(services: Services, day: str) -> dict[str, dict[str, int]]:
    found = services.ledger.container.find_blobs_by_tags(run_index.day_query(day))
    return run_index.day_counts((blob.name, (blob.tags or {}).get(STATE_TAG, "unknown")) for blob in found
                                if RECORD_NAME.fullmatch(blob.name) and (blob.tags or {}).get(DAY_TAG) == day)


def _ms(blob: BlobProperties) -> str:
    return str(blob.last_modified.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
