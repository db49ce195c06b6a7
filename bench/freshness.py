"""Freshness expectations: what they add to the per-blob path (the same new blobs with and without an expectation),
and the storage requests of one check over a ledger of n records (all but a few before the window)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bench.batches import rules_in_force
from bench.common import AZURITE_FIND, Bench, Row, counting_further_finds, in_parallel, own_storage
from localdev.host import deliver_blob
from localdev.http_counter import counting_requests
from shared.clients.common.clock import Clock
from shared.clients.process.services import process_services
from shared.core.ledger.keys import iso_ms, record_name, rule_namespace
from shared.core.ledger.ledger_record import RunState, new_claim
from shared.core.ledger.subjects import BlobSubject
from shared.flows.freshness.freshness import check_freshness

FOLDER = "fresh/"
DEADLINE = "0 0 6 * * *"
WINDOW_START = datetime(2026, 12, 1, 6, tzinfo=UTC)
IN_WINDOW = 3
"""Records of the window (the rest are history before it): an expectation of 3 files is met, one of 4 overdue."""


def freshness_rows(bench: Bench, records: tuple[int, ...], store: str, blobs: int = 200) -> None:
    bench.configure("bench-fresh", "bench-fresh-ledger", FOLDER)
    per_blob = [_per_blob_requests(bench, expectations, f"{FOLDER}{label}/", blobs)
                for label, expectations in (("without", []), ("with", [{"deadline": DEADLINE}]))]
    bench.rows.append(Row(f"freshness: per-blob path ({blobs} blobs)", f"{per_blob[1] / blobs:.2f} requests/blob",
                          f"{per_blob[0] / blobs:.2f} without an expectation", per_blob[1] / per_blob[0],
                          "nothing added", per_blob[1] == per_blob[0]))
    with own_storage(bench, store, "freshness"):
        for total in records:
            _check_rows(bench, total)


def _rule(bench: Bench, expectations: list[dict], prefix: str = FOLDER) -> dict:
    return {"name": "fresh", "prefix": prefix, "include_subfolders": True, "freshness": expectations,
            "target": {"url": bench.aml.published_pipeline_url()}, "experiment": "bench",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}


def _per_blob_requests(bench: Bench, expectations: list[dict], folder: str, blobs: int) -> int:
    """Storage requests for ``blobs`` new blobs' events under the rule (the same blobs' sizes either way)."""
    names = [f"{folder}{index:05d}.csv" for index in range(blobs)]
    bench.upload_many("bench-fresh", names)
    with rules_in_force(_rule(bench, expectations)):
        deliver_blob("bench-fresh", f"{folder}warm.csv")  # the process's container check, outside the count
        with counting_requests() as sent:
            for name in names:
                deliver_blob("bench-fresh", name)
    return bench.storage_requests(sent)


def _check_rows(bench: Bench, total: int) -> None:
    ledger_name = f"bench-fresh-{total}"
    bench.configure(f"bench-fresh-data-{total}", ledger_name, FOLDER)
    ledger = bench.ledger_storage.get_container_client(ledger_name)
    ledger.create_container()

    def put(index: int) -> None:
        at = WINDOW_START + timedelta(hours=1) if index < IN_WINDOW else WINDOW_START - timedelta(seconds=index)
        subject = BlobSubject(container=f"bench-fresh-data-{total}", blob=f"{FOLDER}{index:06d}.csv", etag="0x1")
        record = new_claim(rule_namespace("fresh"), f"{index:064x}", subject, "bench", iso_ms(at), 60).settled(
            RunState.SUBMITTED, iso_ms(at), {"run_id": f"run-{index}"})
        ledger.get_blob_client(record_name(rule_namespace("fresh"), f"{index:064x}")).upload_blob(
            json.dumps(record.to_json()).encode(), overwrite=True, metadata=record.metadata(), tags=record.tags())

    in_parallel(put, list(range(total)), "tagged records")
    for expected, verdict in ((IN_WINDOW, "arrived"), (IN_WINDOW + 1, "overdue")):
        with rules_in_force(_rule(bench, [{"deadline": DEADLINE, "min_files": expected}])):
            services = process_services()
            services.clock = _after_window_start(services.clock, timedelta(minutes=10))
            check_freshness(services)  # the baseline (and the container check)
            services.clock = _after_window_start(services.clock, timedelta(days=1, minutes=10))
            with counting_requests() as sent, counting_further_finds() as further:
                decisions = check_freshness(services)
            ledger.delete_blobs(*(blob.name for blob in ledger.list_blobs(name_starts_with="freshness/")))
        requests = bench.storage_requests(sent)
        bench.rows.append(Row(f"freshness: a check over {total:,} records",
                              f"{requests} requests ({len(further)} further Find pages)",
                              f"{verdict}, {IN_WINDOW} files in the window", None, "<= 3",
                              requests <= 3 and [d.outcome.value for d in decisions] == [verdict],
                              bound=AZURITE_FIND if further else ""))


def _after_window_start(clock: Clock, after: timedelta) -> Clock:
    """``clock`` with its wall time fixed at ``after`` the window's start."""
    return clock._replace(now=lambda: WINDOW_START + after)
