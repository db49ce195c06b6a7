"""The status page, ``runs`` and a freshness check over a big ledger: storage requests and the app's time per view,
against Azurite (on MariaDB by default: 100,000 records fill at a steady rate there, not in O(n^2)).

The records are seeded with the app's own record API (a claim, settled, its outcome; its metadata and tags as the
ledger writes them), spread over the last 14 days, the counts filled one after another (1,000, then 9,000 more,
...). At each count the index is built once from one listing (its cost grows with the ledger and is shown on its
own row); a first page while the index is fresh reads it alone, so its requests stay flat however many records
there are; the timer's catch-up asks Find Blobs by Tags what changed since (on Azurite's SQL store a Find scans
every blob: ``counting_further_finds``), and so does a first page that finds the index older than its max age.
Each row gives the wall time and, beside it, the bench process's CPU time (the app's own work: Azurite and MariaDB
are processes of their own).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from bench.common import AZURITE_FIND, Bench, Row, counting_further_finds, in_parallel, own_storage
from localdev.http_counter import counting_requests
from shared.clients.process.services import Services, process_services
from shared.core.ledger.keys import iso_ms, record_name, rule_namespace
from shared.core.ledger.ledger_record import LedgerRecord, RunState, new_claim
from shared.core.ledger.run_status import observed
from shared.core.ledger.subjects import BlobSubject
from shared.core.run_index.run_index import SUMMARY_NAME
from shared.flows.run_index.run_index import current_index
from shared.operations.http.records import ListedRuns, list_runs
from shared.operations.status import status_page

MAX_REQUESTS, MAX_SECONDS = 10, 0.3
"""The first page's budget (issue 28): storage requests and the app's time, flat in the number of records."""
LEDGER = "bench-status-ledger"


def status_page_rows(bench: Bench, totals: tuple[int, ...], store: str) -> None:
    with own_storage(bench, store, "status"):
        bench.configure("bench-status", LEDGER, "")
        ledger = bench.ledger_storage.get_container_client(LEDGER)
        ledger.create_container()
        now, seeded = datetime.now(UTC), 0
        for total in sorted(totals):
            _seed(ledger, seeded, total, now)
            seeded = total
            with contextlib.suppress(ResourceNotFoundError):  # each count's index is built afresh
                ledger.delete_blob(SUMMARY_NAME)
            _view_rows(bench, total)


def _seed(ledger: ContainerClient, seeded: int, total: int, now: datetime) -> None:
    """Records ``seeded`` to ``total`` (the newer ones of ``total`` spread over 14 days up to ``now``)."""
    started = time.perf_counter()
    in_parallel(lambda index: _put(ledger, index, now - (total - index) * timedelta(days=14) / total),
                list(range(seeded, total)), "status page records")
    print(f"   seeded {total - seeded:,} records (now {total:,}) in {time.perf_counter() - started:.0f} s", flush=True)


def _view_rows(bench: Bench, total: int) -> None:
    process_services.cache_clear()
    services = process_services()
    reads: list[str] = []
    for method in ("read", "read_dated"):  # a record or the index, and the index with its date
        setattr(services.ledger, method, _noting(reads, getattr(services.ledger, method)))
    env = dict(os.environ)
    stale = replace(services, config=services.config._replace(run_index_max_age=0))  # every view catches up
    views: list[tuple[str, Callable[[], object], bool]] = [
        ("status page: index built (once)", lambda: _page(services, env, b""), False),
        ("status page: first page (fresh index)", lambda: _page(services, env, b""), True),
        ("runs (API, CLI): first 50 (fresh index)", lambda: list_runs(services), True),
        ("run index: the timer's catch-up", lambda: current_index(services), False),
        ("status page: first page (stale index)", lambda: _page(stale, env, b""), False)]
    for label, view, budgeted in views:
        reads.clear()
        with counting_requests() as sent, counting_further_finds() as further:
            began, began_cpu = time.perf_counter(), time.process_time()
            shown = view()
            elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        requests = bench.storage_requests(sent)
        flat = requests <= MAX_REQUESTS and elapsed <= MAX_SECONDS
        bench.rows.append(Row(f"{label} of {total:,}",
                              f"{len(reads)} read, {elapsed * 1000:.0f} ms ({cpu * 1000:.0f} CPU)",
                              f"{requests} requests ({len(further)} further Find pages)", None,
                              f"<= {MAX_REQUESTS} requests, {MAX_SECONDS * 1000:.0f} ms" if budgeted else "-",
                              (flat and _shows_a_page(shown)) if budgeted else None,
                              bound=AZURITE_FIND if further else ""))


def _noting(reads: list[str], read: Callable[..., object]) -> Callable[..., object]:
    return lambda name, *args, **kwargs: reads.append(name) or read(name, *args, **kwargs)


def seeded_record(index: int, at: datetime) -> LedgerRecord:
    """Record ``index`` as the app writes it at ``at``: a run that completed (every 10th failed to submit, every
    50th still open in Azure ML), claimed and settled through the app's own record API."""
    stamp = iso_ms(at)
    subject = BlobSubject(container="bench-status", blob=f"status/{index:06d}.csv", etag="0x1")
    claim = new_claim(rule_namespace("default"), f"{index:064x}", subject, "bench", stamp, 60)
    if index % 10 == 0:
        return claim.settled(RunState.FAILED, stamp, {"reason": "rejected by the bench", "retryable": False})
    submitted = claim.settled(RunState.SUBMITTED, stamp, {"run_id": f"run-{index}"})
    if index % 50 == 1:
        return submitted
    return submitted.with_outcome(observed("Completed", stamp, started_at=iso_ms(at - timedelta(minutes=3)),
                                           ended_at=stamp))


def _put(ledger: ContainerClient, index: int, at: datetime) -> None:
    record = seeded_record(index, at)
    ledger.get_blob_client(record_name(rule_namespace("default"), f"{index:064x}")).upload_blob(
        json.dumps(record.to_json()).encode(), overwrite=True, metadata=record.metadata(),
        tags=record.tags(iso_ms(at)))


def _page(services: Services, env: dict[str, str], body: bytes) -> status_page.PageResponse:
    request = status_page.PageRequest(method="POST" if body else "GET", url="http://bench/api/status", body=body)
    return status_page.respond(request, env=env, services=lambda: services, now=datetime.now(UTC),
                               new_session=lambda: "0" * 32)


def _shows_a_page(shown: object) -> bool:
    """A whole first page: 25 rows on the status page, 50 runs from ``runs``."""
    if isinstance(shown, ListedRuns):
        return len(shown.runs) == 50
    assert isinstance(shown, status_page.PageResponse)
    return shown.status == 200 and shown.body.count('title="rule:default"') == status_page.PAGE_SIZE
