"""The status page over a big ledger: records read and storage requests per page view (the first page and a
later one), against Azurite. A page reads only the records it shows; the rest comes from the ledger's listing."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

from bench.common import Bench, Row, in_parallel
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.core.ledger.keys import record_name, rule_namespace
from shared.operations.status import status_page


def status_page_rows(bench: Bench, total: int) -> None:
    bench.configure("bench-status", "bench-status-ledger", "")
    ledger = bench.ledger_storage.get_container_client("bench-status-ledger")
    ledger.create_container()

    def put(index: int) -> None:
        record = {"schema": 1, "state": "failed" if index % 10 == 0 else "submitted", "attempts": 1,
                  "subject": {"kind": "blob", "blob": f"status/{index:06d}.csv", "etag": "0x1"},
                  "updated_at": "2026-11-22T02:00:00Z"}
        ledger.get_blob_client(record_name(rule_namespace("default"), f"{index:064x}")).upload_blob(
            json.dumps(record).encode(), overwrite=True,
            metadata={"state": record["state"], "retryable": "false"})

    in_parallel(put, list(range(total)), "status page records")
    services = process_services()
    reads: list[str] = []
    real_read = services.ledger.read
    services.ledger.read = lambda name: reads.append(name) or real_read(name)  # type: ignore[method-assign]
    for label, body in (("first page", b""), ("page 40", b"action=filter&page=40")):
        reads.clear()
        request = status_page.PageRequest(method="POST" if body else "GET", url="http://bench/api/status", body=body)
        with counting_requests() as sent:
            started = time.perf_counter()
            shown = status_page.respond(request, env=dict(os.environ), services=lambda: services,
                                        now=datetime.now(UTC), new_session=lambda: "0" * 32)
            elapsed = time.perf_counter() - started
        rows = shown.body.count("<td>rule:default</td>")
        bench.rows.append(Row(f"status page: {label} of {total:,}",
                              f"{len(reads)} records read, {elapsed:.1f} s",
                              f"{bench.storage_requests(sent)} storage requests", None,
                              f"reads = rows shown ({status_page.PAGE_SIZE})",
                              shown.status == 200 and len(reads) == rows == status_page.PAGE_SIZE))
