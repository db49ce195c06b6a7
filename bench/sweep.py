"""The catch-up sweep over a big container: finding the blobs without a record, then submitting them."""

from __future__ import annotations

import random
import sys
import time

from azure.storage.blob import ContainerClient

from bench.common import CSV, Bench, Row, in_parallel, own_storage
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.core.ledger.keys import blob_version_key, normalize_etag, record_name, rule_namespace
from shared.flows.sweep.sweep import SweepReport, find_missing, sweep


def sweep_rows(bench: Bench, total: int, store: str, missing: int = 1000) -> None:
    """The sweep against fresh storage of its own, so no other section's blobs weigh on it."""
    with own_storage(bench, store, "sweep"):
        measure_sweep(bench, total, missing)


def measure_sweep(bench: Bench, total: int, missing: int) -> None:
    bench.configure("bench-sweep", "bench-sweep-ledger", "sweep/")
    ledger = bench.ledger_storage.get_container_client("bench-sweep-ledger")
    ledger.create_container()
    names = [f"sweep/{index:06d}.csv" for index in range(total)]
    recorded = set(random.Random(2).sample(names, total - missing))
    fill_sweep(bench, names, recorded, ledger)
    services = process_services()
    with counting_requests() as sent:
        started = time.perf_counter()
        found = find_missing(services, SweepReport(started_at="bench"))
        find_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pages = sum(1 for _ in bench.storage.get_container_client("bench-sweep").list_blobs(
        name_starts_with="sweep/").by_page()) + sum(1 for _ in ledger.list_blobs(
            name_starts_with="rules/default/", include=["metadata"]).by_page())
    bare_seconds = time.perf_counter() - started
    expected = sorted(set(names) - recorded)
    bench.rows.append(Row(f"sweep: find {missing:,} of {total:,}",
                          f"{find_seconds:.1f} s, {bench.storage_requests(sent)} requests",
                          f"{bare_seconds:.1f} s, {pages} pages bare", find_seconds / bare_seconds,
                          "exactly the missing; requests ~ pages",
                          [m.name for m in found] == expected and bench.storage_requests(sent) <= pages + 2))
    started = time.perf_counter()
    report = sweep(services, max_blobs=missing)
    bench.rows.append(Row(f"sweep: submit the {missing:,} found", f"{time.perf_counter() - started:.1f} s",
                          f"{report.listing_pages} listing pages", None, "all submitted",
                          report.outcomes.get("submitted") == missing))


def fill_sweep(bench: Bench, names: list[str], recorded: set[str], ledger: ContainerClient) -> None:
    """Each blob, then its ledger record if it has one: both accounts are written at once."""
    data = bench.storage.get_container_client("bench-sweep")
    namespace = rule_namespace("default")
    print(f"   (sweep: writing {len(names):,} blobs and {len(recorded):,} ledger records)", file=sys.stderr,
          flush=True)

    def put(name: str) -> None:
        etag = normalize_etag(data.get_blob_client(name).upload_blob(CSV, overwrite=True)["etag"])
        if name in recorded:
            ledger.get_blob_client(record_name(namespace, blob_version_key("bench-sweep", name, etag))).upload_blob(
                b'{"schema": 1, "state": "submitted"}', overwrite=True,
                metadata={"state": "submitted", "retryable": "false"})

    in_parallel(put, names, "sweep blobs and records")
