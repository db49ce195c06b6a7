"""The status page and ``runs`` over a big ledger: storage requests and the app's time per view, against Azurite.

The records are seeded as the app writes them (metadata and the run index's tags), spread over the last 14 days.
The first view ever builds the run index from one listing (once; its cost grows with the ledger and is shown on
its own row); every later first page reads the index and asks Find Blobs by Tags what changed since, so its cost
stays flat however many records there are. A page past the index (40) still lists the ledger.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import Bench, Row, in_parallel
from localdev.http_counter import counting_requests
from shared.clients.process.services import Services, process_services
from shared.core.ledger.keys import DAY_TAG, OWNER_TAG, STATE_TAG, UPDATED_TAG, record_name, rule_namespace
from shared.operations.http.records import list_runs
from shared.operations.status import status_page

MAX_REQUESTS, MAX_SECONDS = 10, 0.3
"""The first page's budget (issue 28): storage requests and the app's time, flat in the number of records."""


def status_page_rows(bench: Bench, total: int) -> None:
    bench.configure("bench-status", "bench-status-ledger", "")
    ledger = bench.ledger_storage.get_container_client("bench-status-ledger")
    ledger.create_container()
    now = datetime.now(UTC)
    started = time.perf_counter()
    in_parallel(lambda index: _put(ledger, index, now - (total - index) * timedelta(days=14) / total),
                list(range(total)), "status page records")
    print(f"   seeded {total:,} records in {time.perf_counter() - started:.0f} s", flush=True)
    services = process_services()
    reads: list[str] = []
    real_read = services.ledger.read
    services.ledger.read = lambda name: reads.append(name) or real_read(name)  # type: ignore[method-assign]
    env = dict(os.environ)
    views: list[tuple[str, Callable[[], object], bool]] = [
        ("status page: index built (once)", lambda: _page(services, env, b""), False),
        ("status page: first page", lambda: _page(services, env, b""), True),
        ("runs (API, CLI): first 50", lambda: list_runs(services), True),
        ("status page: page 40 (listing)", lambda: _page(services, env, b"action=filter&page=40"), False)]
    for label, view, budgeted in views:
        reads.clear()
        with counting_requests() as sent:
            began = time.perf_counter()
            shown = view()
            elapsed = time.perf_counter() - began
        requests = bench.storage_requests(sent)
        flat = requests <= MAX_REQUESTS and elapsed <= MAX_SECONDS
        bench.rows.append(Row(f"{label} of {total:,}", f"{len(reads)} blobs read, {elapsed * 1000:.0f} ms",
                              f"{requests} storage requests", None,
                              f"<= {MAX_REQUESTS} requests, {MAX_SECONDS * 1000:.0f} ms" if budgeted else "-",
                              (flat and _shows_a_page(shown)) if budgeted else None))


def _put(ledger, index: int, at: datetime) -> None:
    """One record as the app writes it: the JSON, its metadata, and its tags (owner, state, day, time)."""
    state = "failed" if index % 10 == 0 else "submitted"
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record = {"schema": 1, "state": state, "attempts": 1, "updated_at": stamp,
              "subject": {"kind": "blob", "container": "status", "blob": f"status/{index:06d}.csv",
                          "etag": "0x1"}}
    ledger.get_blob_client(record_name(rule_namespace("default"), f"{index:064x}")).upload_blob(
        json.dumps(record).encode(), overwrite=True, metadata={"state": state, "retryable": "false"},
        tags={OWNER_TAG: "rules/default", STATE_TAG: state, DAY_TAG: stamp[:10], UPDATED_TAG: stamp})


def _page(services: Services, env: dict[str, str], body: bytes) -> status_page.PageResponse:
    request = status_page.PageRequest(method="POST" if body else "GET", url="http://bench/api/status", body=body)
    return status_page.respond(request, env=env, services=lambda: services, now=datetime.now(UTC),
                               new_session=lambda: "0" * 32)


def _shows_a_page(shown: object) -> bool:
    """A whole first page: 25 rows on the status page, 50 runs from ``runs``."""
    if isinstance(shown, list):
        return len(shown) == 50
    assert isinstance(shown, status_page.PageResponse)
    return shown.status == 200 and shown.body.count('title="rule:default"') == status_page.PAGE_SIZE
