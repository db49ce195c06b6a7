"""Backfill: run one rule over the blob versions already in storage whose Last-Modified falls in a window.

One listing of the rule's prefix (names, ETags, Last-Modified, sizes) and one of its ledger records (states in
metadata) say where each version stands (``shared.core.backfill.backfill.Standing``), without reading a blob or a
record; one that already ran also says how its run ended (``rejected``, ``completed``: the status page's words). A
dry run stops there. A run hands each version that would run to the path its event takes
(``process_blob``, then the one ``execute``), so a version that already ran is a duplicate and a backfill killed
midway and started again continues where it was. A deliberate rerun of what already ran is a manual request with
its own key (``rerun_request_id``), so it never takes the live key either; it may take only the versions whose run
ended one way (``Rerun.outcomes``).

Before each submission the rule's active runs are counted (one Find Blobs by Tags): at the rule's
``max_active_runs`` or the backfill's own cap, it waits for a slot (``wait``) or stops, saying so.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from azure.storage.blob import BlobProperties

from shared.clients.blobs.blob_data import read_blob_version
from shared.clients.process.services import Services
from shared.core.backfill.backfill import (
    BackfillReport,
    Candidate,
    Rerun,
    Standing,
    Window,
    claim_expires,
    rerun_request_id,
    standing,
)
from shared.core.common.errors import Conflict, Unprocessable
from shared.core.config.config_model import Rule
from shared.core.config.matching import rule_mismatch
from shared.core.ledger import ledger_record
from shared.core.ledger.decisions import Decision, Outcome, log_decision, log_event
from shared.core.ledger.keys import blob_version_key, iso, manual_key, manual_namespace, normalize_etag, rule_namespace
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.subjects import ManualSubject
from shared.core.runs.run_requests import manual_request, marker_batch
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.manual.manual_runs import find_rule
from shared.flows.runs.run_steps import execute
from shared.flows.sweep.sweep import CLOCK_MARGIN, process_one

POLL_SECONDS = 30.0
"""How often a backfill waiting for a slot counts the rule's active runs again."""


@dataclass(frozen=True)
class Pace:
    """How a backfill that runs goes: its cap of active runs, what it does when the cap is reached, its time."""

    max_active: int | None = None
    """The backfill's own cap on the rule's active runs (below the rule's ``max_active_runs`` if it has one)."""
    wait: Callable[[float], None] | None = None
    """Sleeps this many seconds while the cap is reached; None: stop there (run the backfill again later)."""
    budget: float | None = None
    """Seconds the whole backfill may take (an HTTP request's): every version's deadline ends with it, and none
    starts unless one submission attempt still fits (one cut short fails for now: the next backfill finishes it)."""
    progress: Callable[[int, int], None] | None = None
    """Called after each version with (processed, to run)."""
    listed: Callable[[BackfillReport], None] | None = None
    """Called after each listing page is taken in, with the report so far (its pages, blobs listed and versions
    in the window): a listing of a large prefix takes minutes."""
    workers: int = 1
    """Versions handled at once (each one's claim, read, POST and settle are I/O: a thread each)."""


def backfill(services: Services, *, rule: str, window: Window, run: bool = False, rerun: Rerun | None = None,
             pace: Pace = Pace()) -> tuple[BackfillReport, list[Candidate]]:
    """Where ``rule``'s versions in ``window`` stand and, with ``run``, their runs started (``rerun``: also a
    deliberate rerun, under its label, of each version that already ran the way it names)."""
    found = find_rule(services, rule)
    if not found.enabled:  # its events record skips; a backfill's would too, and then count as already run
        raise Conflict(f"rule {rule!r} is disabled (enabled: false): enable it before a backfill")
    if found.quiet_window is not None:
        raise Conflict(f"rule {rule!r} collects files under a quiet window (one run per quiet folder): a backfill "
                       "runs one version at a time, so it does not serve this rule")
    window.check_horizon(services.clock.now(), services.config.record_retention_days)
    report = BackfillReport(rule=rule, since=iso(window.since), until=iso(window.until), run=run,
                            rerun=None if rerun is None else rerun.label,
                            rerun_outcomes=None if rerun is None else rerun.words)
    ends_at = math.inf if pace.budget is None else services.clock.monotonic() + pace.budget
    candidates = plan(services, found, window, report, rerun, ends_at, pace.listed)
    todo = [candidate for candidate in candidates if candidate.standing.would_run]
    report.to_run = len(todo)
    if run:
        report.hold([candidate for candidate in candidates if candidate.standing is Standing.IN_HAND])
        _run(services, found, todo, report, pace, ends_at)
    log_event(logging.INFO, backfill=report.as_dict())
    return report, candidates


def plan(services: Services, rule: Rule, window: Window, report: BackfillReport, rerun: Rerun | None,
         ends_at: float = math.inf, listed: Callable[[BackfillReport], None] | None = None) -> list[Candidate]:
    """Every version of ``rule`` in ``window``, oldest first, with where it stands (under its rerun key, for one
    that already ran the way ``rerun`` names); Unprocessable if the listings outlast ``ends_at`` (monotonic)."""
    container = services.config.watch_container
    pages = _Pages(services, rule, report, ends_at, listed)
    live = _standings(services, rule_namespace(rule.name), pages)
    reruns = _standings(services, manual_namespace(rule.name), pages) if rerun else {}
    candidates = []
    for name, etag, modified in _versions(services, rule, window, pages):
        key = blob_version_key(container, name, etag)
        stood = live.get(key, _UNSEEN)
        report.standings[stood.standing.value] += 1
        report.in_window += 1
        if stood.outcome is not None:
            report.already_run[stood.outcome.value] += 1
        if rerun and stood.standing is Standing.ALREADY_RUN and rerun.covers(stood.outcome):
            report.reruns += 1
            again = reruns.get(manual_key(rule.name, rerun_request_id(rerun.label, key)), _UNSEEN)
            candidates.append(Candidate(name, etag, modified, again.standing, rerun.label, again.retry_after,
                                        stood.outcome))
        else:
            candidates.append(Candidate(name, etag, modified, stood.standing, retry_after=stood.retry_after,
                                        outcome=stood.outcome))
    return sorted(candidates, key=lambda candidate: (candidate.last_modified, candidate.blob))


def _run(services: Services, rule: Rule, todo: list[Candidate], report: BackfillReport, pace: Pace,
         ends_at: float) -> None:
    """Up to ``pace.workers`` versions at a time, each one's outcomes merged here as it finishes, none started
    unless an attempt fits before ``ends_at``. An exception from the progress hook (an interruption) stops it: the
    versions in flight finish, no other one starts."""
    slots = _Slots(services, rule, min(rule.limit.most if rule.limit else math.inf, pace.max_active or math.inf))
    with ThreadPoolExecutor(pace.workers) as pool:
        running: set[Future[_Tally]] = set()
        for candidate in todo:
            if services.clock.monotonic() + services.config.retry.attempt_timeout > ends_at:
                report.stopped = "out of time for this request; the rest is left for the next backfill"
                break
            if not slots.take(pace.wait, report):
                break
            running.add(pool.submit(_one, services, rule, candidate, slots, ends_at))
            while len(running) >= pace.workers:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                _merge(finished, report, pace)
        _merge(wait(running).done, report, pace)


def _one(services: Services, rule: Rule, candidate: Candidate, slots: _Slots, ends_at: float) -> _Tally:
    tally = _Tally()
    try:
        deadline = min(services.clock.monotonic() + services.config.retry.deadline, ends_at)
        process_one(tally, candidate.blob, partial(_process, services, rule, candidate, deadline))
    finally:
        slots.give_back()
    return tally


def _merge(finished: set[Future[_Tally]], report: BackfillReport, pace: Pace) -> None:
    for future in finished:
        tally = future.result()  # storage unreachable (AzureError) ends the backfill, as it ends a sweep
        report.outcomes.update(tally.outcomes)
        report.errors.extend(tally.errors)
        report.processed += 1
        if pace.progress:
            pace.progress(report.processed, report.to_run)


@dataclass
class _Tally:
    """One version's outcomes, counted on its worker's thread, merged into the report on the backfill's."""

    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


class _Slots:
    """The cap of active runs: the rule's runs tagged open (one Find Blobs by Tags) plus this backfill's own
    submissions in flight (not tagged yet), checked and taken under one lock, so workers never overshoot it."""

    def __init__(self, services: Services, rule: Rule, most: float):
        self.services, self.rule, self.most = services, rule, most
        self.in_flight = 0
        self.lock = threading.Lock()

    def take(self, wait_for: Callable[[float], None] | None, report: BackfillReport) -> bool:
        """True once a slot is this backfill's; False (saying why in ``report``) when it will not wait."""
        while True:
            with self.lock:
                active = self._active()
                if active < self.most:
                    self.in_flight += 1
                    return True
            if wait_for is None:
                report.stopped = (f"{active} runs of rule {self.rule.name!r} are active (at most {self.most:g}: "
                                  "max_active_runs or --max-active); run the backfill again once runs end")
                return False
            wait_for(POLL_SECONDS)

    def give_back(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def _active(self) -> int:
        if self.most is math.inf:
            return self.in_flight
        return len(self.services.ledger.active_runs(rule_namespace(self.rule.name))) + self.in_flight


def _process(services: Services, rule: Rule, candidate: Candidate, deadline: float) -> list[Decision]:
    """A version's run through the path its event takes; a rerun's through a manual request of its own."""
    blob = services.watched.get_blob_client(candidate.blob)
    if candidate.rerun is None:
        return process_blob(blob, services, expected_etag=candidate.etag, only=[rule], deadline=deadline)
    where: dict[str, Any] = {"rule": rule.name, "container": services.config.watch_container, "blob": candidate.blob}
    version = read_blob_version(blob, candidate.etag, empty_ok=rule.marker is not None)
    if isinstance(version, str):
        return [log_decision(Decision(Outcome.IGNORED, reason=version, etag=candidate.etag, **where))]
    live_key = blob_version_key(version.container, version.name, version.etag)
    request = manual_request(rule.name, rule.run, version, request_id=rerun_request_id(candidate.rerun, live_key),
                             blob=version.name, experiment=None, parameters=None)
    if rule.marker is not None:
        request = request.with_batch(marker_batch(rule, version))
    assert isinstance(request.subject, ManualSubject)  # a manual request's subject, by construction
    request = request._replace(limit=rule.limit, subject=request.subject._replace(rerun_of=live_key))
    return [execute(request, services, deadline)]


class _Pages:
    """The planning's listing pages, counted in the report, each read only within the backfill's time."""

    def __init__(self, services: Services, rule: Rule, report: BackfillReport, ends_at: float,
                 listed: Callable[[BackfillReport], None] | None):
        self.services, self.rule, self.report, self.ends_at, self.listed = services, rule, report, ends_at, listed

    def show(self) -> None:
        """A page taken in (its blobs counted, its versions planned): the report so far, to whoever watches."""
        if self.listed:
            self.listed(self.report)

    def read(self) -> None:
        """One more page read; Unprocessable once the time is spent (an HTTP request's), before any run."""
        self.report.listing_pages += 1
        if self.services.clock.monotonic() > self.ends_at:
            raise Unprocessable(
                f"planning the backfill of rule {self.rule.name!r} outlasted this request's time after "
                f"{self.report.listing_pages} listing pages ({self.report.blobs_listed} blobs): nothing was run. "
                "The listing covers the rule's whole prefix whatever the window, so use the command line "
                "(./dev cli backfill), which has no such limit")


def _versions(services: Services, rule: Rule, window: Window, pages: _Pages) -> Iterator[tuple[str, str, datetime]]:
    """(name, ETag, Last-Modified) of each version the rule watches in ``window``, one listing page at a time."""
    report = pages.report
    for page in services.watched.list_blobs(name_starts_with=rule.watch.prefix or None).by_page():
        pages.read()
        for blob in page:
            report.blobs_listed += 1
            if ((blob.size > 0 or rule.marker) and window.holds(blob.last_modified)
                    and rule_mismatch(rule, blob.name) is None):
                yield blob.name, normalize_etag(blob.etag), blob.last_modified
        pages.show()  # its versions planned: the generator resumes here once the last one is taken


class _Stood(NamedTuple):
    """Where a version stands under one key; in hand, when its claim expires; already run, how its run ended."""

    standing: Standing
    retry_after: datetime | None = None
    outcome: ledger_record.Outcome | None = None


_UNSEEN = _Stood(Standing.NEVER_SEEN)


def _standings(services: Services, namespace: str, pages: _Pages) -> dict[str, _Stood]:
    """Each key recorded under ``namespace`` and where it stands, from one listing of the records' metadata."""
    now = services.clock.now()
    prefix = namespace + "/"
    found = {}
    for page in services.ledger.listing(prefix):
        pages.read()
        for record in page:
            found[record.name[len(prefix):].removesuffix(".json")] = _standing(services, record, now)
        pages.show()
    return found


def _standing(services: Services, record: BlobProperties, now: datetime) -> _Stood:
    age = (now - record.last_modified).total_seconds()
    parsed = LedgerRecord.from_metadata(record.metadata)
    stands = standing(parsed, age, services.config.claim_expiry, CLOCK_MARGIN)
    if stands is Standing.ALREADY_RUN:
        return _Stood(stands, outcome=parsed.outcome_word)
    if stands is Standing.IN_HAND:
        return _Stood(stands, claim_expires(parsed, record.last_modified, services.config.claim_expiry, CLOCK_MARGIN))
    return _Stood(stands)
