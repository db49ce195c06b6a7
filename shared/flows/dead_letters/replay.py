"""Replay what Event Grid dead-lettered: each event checked as a live one is, handed to the live path it missed (the
blob trigger's, or the run-event function's), then its blob moved under ``replayed/``.

Exactly once holds as it does live: a blob version's key, or a run event's record, was claimed or written the first
time, so an event replayed twice (a replay killed after handling and before the move) is a duplicate. A blob with
an event that cannot be handled stays where it is, with the reason in its metadata and in the report; its other
events, handled or not, are handled again next time (as duplicates where they were). Moving is a copy of what was
read under ``replayed/``, then a delete on the condition that the blob is still what was read; a move that fails
(the blob changed, or another replay moved it) keeps that blob waiting and the replay goes on. A dry run checks
each event with the same function (``check_dead_letters``), so it keeps waiting what the replay would keep.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from shared.clients.process.services import Services
from shared.core.blobs.blob_events import blob_from_event
from shared.core.common.errors import InvalidInput, TriggerError
from shared.core.common.json_input import EVENT_FILE
from shared.core.common.redaction import mask_text
from shared.core.dead_letters.dead_letters import (
    COUNTED,
    REPLAYED_PREFIX,
    TOO_OLD,
    DeadLetter,
    Path,
    Watched,
    check_dead_letters,
    read_dead_letters,
    replay_horizon,
    replayed_name,
    waiting_count,
)
from shared.core.ledger.decisions import Decision, Outcome, log_event
from shared.core.ledger.keys import iso
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.outcomes.event_intake import record_run_event

_MAX_REASON_CHARS = 500
"""A failure's reason kept in the report and the blob's metadata: enough to name it."""


@dataclass
class ReplayReport:
    dry_run: bool
    blobs: int = 0
    events: int = 0
    schemas: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    """Blobs whose events were all handled, moved under ``replayed/``."""
    failed: dict[str, str] = field(default_factory=dict)
    """Blob name -> why it stays."""

    def summary(self) -> str:
        done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items())) or "nothing"
        schemas = ", ".join(f"{count} {name}" for name, count in sorted(self.schemas.items())) or "none"
        if self.dry_run:
            too_old = f"{self.outcomes[TOO_OLD]} {TOO_OLD}; " if self.outcomes[TOO_OLD] else ""
            return (f"replay-dead-letters (dry run): {self.blobs} blobs, {self.events} events ({schemas}); "
                    f"{too_old}{len(self.failed)} blobs would stay; nothing handled or moved")
        return (f"replay-dead-letters: {self.blobs} blobs, {self.events} events ({schemas}): {done}; "
                f"{self.replayed} blobs moved under {REPLAYED_PREFIX}; {len(self.failed)} left waiting")

    def as_dict(self) -> dict[str, object]:
        return {**vars(self), "schemas": dict(self.schemas), "outcomes": dict(self.outcomes)}


def waiting_dead_letters(services: Services) -> str:
    """How many dead-lettered blobs wait: one listing page (``1000+`` beyond); ``no container`` without one."""
    try:
        for page in services.dead_letters.list_blobs(results_per_page=COUNTED).by_page():
            return waiting_count([blob.name for blob in page])  # the first page alone
    except ResourceNotFoundError:
        return "no container"
    return waiting_count([])


def replay_dead_letters(services: Services, *, dry_run: bool = False) -> ReplayReport:
    """Every waiting dead-letter blob: read and checked; unless ``dry_run``, handled and moved aside."""
    report = ReplayReport(dry_run=dry_run)
    for name, size in _waiting(services):
        report.blobs += 1
        _replay_blob(services, name, size, report)
    log_event(logging.INFO, replay=report.as_dict())
    return report


def _replay_blob(services: Services, name: str, size: int, report: ReplayReport) -> None:
    """One blob: read, checked, handled (unless a dry run) and moved aside; or left waiting with why."""
    try:
        content, etag = _read_and_handle(services, name, size, report)
    except AzureError:
        raise  # storage unreachable: nothing could be recorded for the rest either
    except Exception as error:  # one blob's failure (a refusal, a bug), named and kept; the others still run
        _stays(services, name, report, str(error) if isinstance(error, TriggerError)
               else f"{type(error).__name__}: {error}")
        return
    if report.dry_run:
        return
    try:
        _move_aside(services, name, content, etag)
    except HttpResponseError as error:  # 412: changed since it was read (or moved by another replay); 404: gone
        _stays(services, name, report, f"handled, but not moved under {REPLAYED_PREFIX}: {error.status_code} "
               f"{type(error).__name__} (changed or moved since it was read); a later replay finds its events "
               "duplicates")
        return
    report.replayed += 1


def _read_and_handle(services: Services, name: str, size: int, report: ReplayReport) -> tuple[bytes, str]:
    """The blob, refused by its listed size before any byte is read, then read no further than that size; its
    events checked and those that pass handled (unless a dry run). InvalidInput if any keeps it waiting."""
    source = f"dead letter {name}"
    if size > EVENT_FILE.max_bytes:
        raise InvalidInput(f"{source} is {size:,} bytes; at most {EVENT_FILE.max_bytes:,} are read")
    if size == 0:
        raise InvalidInput(f"{source} is empty: expected a JSON array of one or more events")
    content, etag = _read(services, name, size)
    letters = read_dead_letters(content, source)
    report.events += len(letters)
    report.schemas.update(letter.schema for letter in letters)
    checked = check_dead_letters(letters, _watched(services), source)
    if not report.dry_run:
        for letter in checked.handed_on:
            report.outcomes.update(decision.outcome.value for decision in _handle(services, letter))
    if checked.too_old:
        report.outcomes[TOO_OLD] += checked.too_old
    if checked.reasons:
        raise InvalidInput("; ".join(checked.reasons))
    return content, etag


def _read(services: Services, name: str, size: int) -> tuple[bytes, str]:
    """The blob's first ``size`` bytes (its listed size: one that grew since reads as cut, and is refused as not
    JSON) and the ETag they were read at."""
    downloaded = services.dead_letters.get_blob_client(name).download_blob(offset=0, length=size)
    return downloaded.readall(), downloaded.properties.etag


def _watched(services: Services) -> Watched:
    """Older events are not replayed: their records may be deleted, so a replay could start a second run."""
    return Watched(account=services.config.watch_storage.account_name, container=services.config.watch_container,
                   horizon=replay_horizon(services.clock.now(), services.config.record_retention_days))


def _handle(services: Services, letter: DeadLetter) -> list[Decision]:
    """The event (checked) through the live path it missed, and what was decided (a run event the app does not
    take, or one that changed nothing, counts as ignored: its own line says why)."""
    if letter.path is Path.RUN_EVENT:
        decided = record_run_event(letter.event, services)
        return [decided or Decision(Outcome.IGNORED, reason="run event not taken")]
    _, name, etag = blob_from_event(dict(letter.event), account=services.config.watch_storage.account_name)
    return process_blob(services.watched.get_blob_client(name), services, expected_etag=etag)


def _stays(services: Services, name: str, report: ReplayReport, why: str) -> None:
    """The blob stays waiting; why (masked), in the report and in its metadata (for whoever looks at the
    container)."""
    report.failed[name] = mask_text(why)[:_MAX_REASON_CHARS]
    log_event(logging.WARNING, problem="dead letter not replayed", blob=name, reason=report.failed[name])
    if not report.dry_run:
        try:
            services.dead_letters.get_blob_client(name).set_blob_metadata(
                {"replay_failed_at": iso(services.clock.now()), "replay_error": report.failed[name][:250]})
        except AzureError as metadata_error:
            log_event(logging.WARNING, problem=f"reason not written to its metadata: {type(metadata_error).__name__}",
                      blob=name)


def _move_aside(services: Services, name: str, content: bytes, etag: str) -> None:
    services.dead_letters.upload_blob(replayed_name(name), content, overwrite=True,
                                      metadata={"replayed_at": iso(services.clock.now())})
    services.dead_letters.delete_blob(name, etag=etag, match_condition=MatchConditions.IfNotModified)


def _waiting(services: Services) -> Iterator[tuple[str, int]]:
    """Names and sizes of the waiting dead-letter blobs (all pages); none when the container does not exist."""
    try:
        for page in services.dead_letters.list_blobs().by_page():
            yield from ((blob.name, blob.size) for blob in page if not blob.name.startswith(REPLAYED_PREFIX))
    except ResourceNotFoundError:
        return
