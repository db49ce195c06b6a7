"""The catch-up sweep: every blob version a rule watches that the ledger has no settled record of gets processed,
so no file is lost when Event Grid delivery failed or the app was down.

Cost grows with listing pages, not blobs: per rule one listing of the watched prefix and one of the rule's ledger
records (both carry what the diff needs: names, ETags, sizes; record states in metadata), compared in memory.
Only the versions found missing are then read and submitted, through the same path as blob events. Manual runs
an HTTP call left failed for now (it answered 202) are finished here too, from one listing of each rule's manual
records.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobProperties

from shared.clients.process.services import Services
from shared.core.common.errors import OperationError, TriggerError
from shared.core.common.redaction import mask_text
from shared.core.config.config_model import Rule
from shared.core.config.matching import rule_mismatch
from shared.core.ledger.decisions import Decision, log_event
from shared.core.ledger.keys import blob_version_key, iso, manual_namespace, normalize_etag, rule_namespace
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.retention import sweep_horizon
from shared.core.ledger.subjects import BlobSubject, UnreadableRecord
from shared.core.quiet_windows.quiet_windows import COLLECT_HORIZON, entries_prefix
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.manual.manual_runs import finish_manual, rerun, started


@dataclass(frozen=True)
class MissingVersion:
    name: str
    etag: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class SkippedVersion:
    """A record a rule wrote while disabled, as read (with its ETag, so reopening it is conditional)."""

    rule: Rule
    record: str
    content: dict[str, Any]
    etag: str


_MAX_ERROR_CHARS = 500
"""An unexpected error's text kept in the sweep's report: enough to name it; some messages quote their input."""
CLOCK_MARGIN = 5.0
"""Seconds of clock difference between this machine and storage tolerated when judging a claim abandoned."""


@dataclass
class SweepReport:
    started_at: str
    stopped_for_time: bool = False
    listing_pages: int = 0
    blobs_listed: int = 0
    records_listed: int = 0
    missing: int = 0
    processed: int = 0
    left_for_next_sweep: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {**{name: value for name, value in vars(self).items() if name != "outcomes"},
                "outcomes": dict(self.outcomes)}


def find_missing(services: Services, report: SweepReport) -> list[MissingVersion]:
    """Blob versions some rule watches whose record is absent, failed for now, or an abandoned claim."""
    missing: dict[tuple[str, str], set[str]] = {}
    now = services.clock.now()
    for rule in services.config.rules:
        if not rule.enabled:  # switched off: its events record skips; nothing is caught up until it is on again
            continue
        handled = _collected_keys(services, rule, report) if rule.quiet_window else _handled_keys(
            services, rule, now, report)
        for name, etag in _watched_versions(services, rule, now, report):
            if blob_version_key(services.config.watch_container, name, etag) not in handled:
                missing.setdefault((name, etag), set()).add(rule.name)
    return [MissingVersion(name, etag, tuple(sorted(rules))) for (name, etag), rules in sorted(missing.items())]


def find_open_manual(services: Services, report: SweepReport) -> list[str]:
    """Manual records of configured rules failed for now or abandoned: what a 202 from ``POST /api/runs`` left
    for the sweep. One listing for all rules (usually one empty page)."""
    now = services.clock.now()
    rules = {f"{manual_namespace(rule.name)}/" for rule in services.config.rules}
    return [record.name for record in _records(services, manual_namespace(""), report)
            if record.name[:record.name.rindex("/") + 1] in rules and _needs_work(services, record, now)]


def find_skipped_while_disabled(services: Services, since: datetime, report: SweepReport) -> list[SkippedVersion]:
    """Records an enabled rule wrote while it was disabled, on or after ``since``: what turning it back on does not
    replay by itself. The listing says which records are skipped; only those written since are read."""
    found = []
    for rule in services.config.rules:
        if not rule.enabled:
            continue
        for listed in _records(services, rule_namespace(rule.name) + "/", report):
            if listed.last_modified < since or (listed.metadata or {}).get("state") != RunState.SKIPPED:
                continue
            read = services.ledger.read(listed.name)
            if read is not None and read[0].get("disabled") is True:
                found.append(SkippedVersion(rule, listed.name, read[0], read[1]))
    return found


def sweep(services: Services, *, max_blobs: int, budget: float | None = None,
          progress: Callable[[int, int], None] | None = None, since: datetime | None = None) -> SweepReport:
    """Process up to ``max_blobs`` missing versions and open manual records; the rest wait for the next sweep.

    ``since``: also run the blobs a rule recorded as skipped while it was disabled, from that moment on (an
    operator's choice after turning a rule back on; a plain sweep never replays them).

    With a ``budget`` (seconds, e.g. the function timeout less a margin), nothing is started unless a whole
    deadline (SUBMIT_DEADLINE_SECONDS) still fits in it: the host never kills a sweep in the middle of a POST.
    Recorded and logged.
    """
    started = services.clock.monotonic()
    report = SweepReport(started_at=iso(services.clock.now()))
    missing = find_missing(services, report)
    open_manual = find_open_manual(services, report)
    report.missing = len(missing) + len(open_manual)
    work = [(version.name, partial(_process_missing, services, version)) for version in missing]
    work += [(name, partial(_finish_manual, services, name)) for name in open_manual]
    if since is not None:
        replays = find_skipped_while_disabled(services, since, report)
        report.missing += len(replays)
        work += [(skipped.record, partial(_replay, services, skipped)) for skipped in replays]
    todo = work[:max_blobs]
    report.left_for_next_sweep = len(work) - len(todo)
    for index, (name, process) in enumerate(todo, start=1):
        if budget is not None and services.clock.monotonic() - started + services.config.retry.deadline > budget:
            report.stopped_for_time = True
            report.left_for_next_sweep += len(todo) - index + 1
            break
        process_one(report, name, process)
        report.processed = index
        if progress:
            progress(index, len(todo))
    services.ledger.remember(f"state/sweeps/{report.started_at}.json", report.as_dict())
    log_event(logging.INFO, sweep=report.as_dict())
    return report


class Tally(Protocol):
    """What a pass over many versions counts: outcomes by word, and what failed (a sweep's, a backfill's)."""

    outcomes: Counter[str]
    errors: list[str]


def process_one(report: Tally, name: str, process: Callable[[], list[Decision]]) -> None:
    """One blob version or record, its outcomes counted; whatever it raises stays its own, so no one blob keeps
    the sweep (or a backfill) from the others. Only storage itself unreachable (AzureError) ends the pass:
    nothing could be recorded for the rest either, and the next tick tries again."""
    try:
        for decision in process():
            report.outcomes[decision.outcome.value] += 1
    except TriggerError as error:  # failing for now, or a record it cannot finish: the next sweep retries it
        if error.retryable or isinstance(error, OperationError):
            report.outcomes["failed"] += 1
            report.errors.append(mask_text(f"{name}: {error}"))  # logged and stored: may echo Azure ML's error
        else:
            _unexpected(report, f"{name}: {error}")
    except AzureError:
        raise
    except Exception as error:  # a bug or an input no check foresaw: named, counted, the others still run
        _unexpected(report, f"{name}: unexpected {type(error).__name__}: {error}")


def _unexpected(report: Tally, text: str) -> None:
    """One version the sweep could not handle: counted as an error, masked before it is cut (a cut could split a
    secret the mask would no longer know), logged."""
    report.outcomes["error"] += 1
    report.errors.append(mask_text(text)[:_MAX_ERROR_CHARS])
    log_event(logging.ERROR, sweep_error=report.errors[-1])


def _process_missing(services: Services, version: MissingVersion) -> list[Decision]:
    """The version, for the rules that miss it only: a disabled rule watching it too records nothing."""
    rules = [rule for rule in services.config.rules if rule.name in version.rules]
    return process_blob(services.watched.get_blob_client(version.name), services, expected_etag=version.etag,
                        only=rules)


def _replay(services: Services, skipped: SkippedVersion) -> list[Decision]:
    """Reopen a disabled rule's skip, then run it as its trigger would have: a blob version as its event would, a
    quiet batch on the files its record lists (its folder's state moved past them when it was skipped)."""
    subject = LedgerRecord.from_json(skipped.content, skipped.record).subject
    reopen = partial(services.ledger.reopen, skipped.record, skipped.content, skipped.etag,
                     reason=f"replayed by a sweep since (was skipped: {skipped.content.get('reason')})")
    if not isinstance(subject, BlobSubject):
        return [started(rerun(services, skipped.record, subject, None, reopen=reopen))]
    reopen()
    blob = services.watched.get_blob_client(subject.blob)
    return process_blob(blob, services, expected_etag=subject.etag, only=[skipped.rule])


def _finish_manual(services: Services, record: str) -> list[Decision]:
    return [finish_manual(services, record)]


def _watched_versions(services: Services, rule: Rule, now: datetime, report: SweepReport
                      ) -> Iterator[tuple[str, str]]:
    """(name, ETag) of every non-empty blob the rule watches changed within the records' retention less a day (an
    older blob's record may have been deleted: running it again would start a 2nd run), one listing page at a
    time; under a quiet window, none older than COLLECT_HORIZON (its entry may have been deleted likewise)."""
    horizons = [sweep_horizon(services.config.record_retention_days)] + ([COLLECT_HORIZON] if rule.quiet_window
                                                                          else [])
    oldest = now - min(horizons)
    pages = services.watched.list_blobs(name_starts_with=rule.watch.prefix or None).by_page()
    for page in pages:
        report.listing_pages += 1
        for blob in page:
            report.blobs_listed += 1
            if (blob.size > 0 or rule.marker) and rule_mismatch(rule, blob.name) is None and (
                    blob.last_modified >= oldest):
                yield blob.name, normalize_etag(blob.etag)


def _handled_keys(services: Services, rule: Rule, now: datetime, report: SweepReport) -> set[str]:
    """Keys whose record is settled, or claimed recently (someone is on it): everything else needs work."""
    namespace = rule_namespace(rule.name) + "/"
    return {record.name[len(namespace):].removesuffix(".json")
            for record in _records(services, namespace, report) if not _needs_work(services, record, now)}


def _collected_keys(services: Services, rule: Rule, report: SweepReport) -> set[str]:
    """Under a quiet window, the versions with an entry (collected into a batch): their runs are the batches'."""
    prefix = entries_prefix(rule.name)
    return {entry.name[len(prefix):] for entry in _records(services, prefix, report)}


def _records(services: Services, prefix: str, report: SweepReport) -> Iterator[BlobProperties]:
    """The ledger's records under ``prefix``, one listing page at a time, counted in the report."""
    for page in services.ledger.listing(prefix):
        report.listing_pages += 1
        for record in page:
            report.records_listed += 1
            yield record


def _needs_work(services: Services, record: BlobProperties, now: datetime) -> bool:
    """Failed for now, or a claim past its own expiry (judged by the claim itself, on the server's time). A state
    the app does not write needs work too: its processing reports the record by name, and the listing goes on."""
    age = (now - record.last_modified).total_seconds()
    try:
        listed = LedgerRecord.from_metadata(record.metadata, record.name)
    except UnreadableRecord:
        return True
    return listed.judged(age, services.config.claim_expiry, CLOCK_MARGIN).needs_work

