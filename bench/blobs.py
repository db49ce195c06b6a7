"""The app's own cost per new blob and per duplicate, and a burst of repeated deliveries, each against the bare
round trips the same work needs."""

from __future__ import annotations

import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import BARE_EXPERIMENT, WORKERS, Bench, Row, ms, percentile, seconds
from localdev.host import deliver_blob
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.core.blobs.csv_head import HEAD_BYTES

WARM_UP = 10


def per_blob_and_duplicate(bench: Bench, iterations: int, sections: set[str]) -> None:
    bench.configure("bench-events", "bench-ledger", "incoming/")
    names = [f"incoming/new-{index:05d}.csv" for index in range(iterations + WARM_UP)]
    bench.upload_many("bench-events", names)
    for name in names[:WARM_UP]:  # token, clients, ledger container
        deliver_blob("bench-events", name)
    bare_one = bench.bare_round_trips("bench-events", names)
    for index in range(WARM_UP):
        bare_one(index)
    app: list[float] = []
    bare: list[float] = []
    for index in range(WARM_UP, len(names)):  # alternating, so both see the same moments of the machine
        app.append(seconds(lambda index=index: deliver_blob("bench-events", names[index])))
        bare.append(seconds(lambda index=index: bare_one(index)))
    app_runs = [run for run in bench.aml.accepted if run.body["ExperimentName"] != BARE_EXPERIMENT]
    assert len(app_runs) == len(names), "every new blob must have started a run"
    if "per-blob" in sections:
        for label, fraction, target in (("p50", 0.5, 1.20), ("p99", 0.99, 1.25)):
            ratio = percentile(app, fraction) / percentile(bare, fraction)
            bench.rows.append(Row(f"per new blob, {label}", ms(percentile(app, fraction)),
                                  f"{ms(percentile(bare, fraction))} (6 bare trips)", ratio, f"ratio <= {target:.2f}",
                                  ratio <= target))
    if "duplicate" in sections:
        duplicate_rows(bench, names[WARM_UP:])


def duplicate_rows(bench: Bench, names: list[str]) -> None:
    posts_before = len(bench.aml.received)
    data = bench.storage.get_container_client("bench-events")
    bare = [seconds(lambda name=name: data.get_blob_client(name).download_blob(offset=0, length=HEAD_BYTES).readall())
            for name in names]
    for instance in ("same instance", "another instance"):
        if instance == "another instance":
            process_services.cache_clear()  # a fresh process: nothing remembered
            deliver_blob("bench-events", names[0])  # its own warm-up (token, clients)
        with counting_requests() as sent:
            timings = [seconds(lambda name=name: deliver_blob("bench-events", name)) for name in names[1:]]
        trips = bench.storage_requests(sent) / len(timings)
        posts = len(bench.aml.received) - posts_before
        ratio = statistics.median(timings) / statistics.median(bare)
        # Another instance must ask the ledger: the blob binding carries no ETag, so the ranged read is needed to
        # learn the version (floor: 2 trips), and claim-first ordering spends the 409 + record read here to save a
        # trip on every new blob (docs/benchmarks.md).
        bench.rows.append(Row(f"per duplicate, {instance}", f"{ms(statistics.median(timings))}, {trips:.1f} trips",
                              f"{ms(statistics.median(bare))} (1 ranged read)", ratio, "<= 1 trip, no POST",
                              trips <= 1 and posts == 0,
                              bound="" if instance == "same instance" or posts else "no ETag in the binding"))


def burst(bench: Bench, distinct: int) -> None:
    bench.configure("bench-burst", "bench-burst-ledger", "burst/")
    names = [f"burst/{index:05d}.csv" for index in range(distinct)]
    bench.upload_many("bench-burst", names)
    deliver_blob("bench-burst", names[0])  # warm-up: token, clients, ledger container
    deliveries = names[1:] * 2
    random.Random(1).shuffle(deliveries)
    posts_before = len(bench.aml.accepted)
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda name: deliver_blob("bench-burst", name), deliveries))
    app_seconds = time.perf_counter() - started
    posts = len(bench.aml.accepted) - posts_before
    bare_one = bench.bare_round_trips("bench-burst", names)
    data = bench.storage.get_container_client("bench-burst")
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:  # the same load bare: 4 trips per new blob, 1 read per repeat
        list(pool.map(bare_one, range(1, distinct)))
        list(pool.map(lambda name: data.get_blob_client(name).download_blob(offset=0, length=HEAD_BYTES).readall(),
                      names[1:]))
    bare_seconds = time.perf_counter() - started
    bench.rows.append(Row(f"burst: {len(deliveries)} deliveries, {WORKERS} workers",
                          f"{len(deliveries) / app_seconds:.0f} events/s, {posts} POSTs",
                          f"{len(deliveries) / bare_seconds:.0f} events/s bare", app_seconds / bare_seconds,
                          f"exactly {distinct - 1} POSTs", posts == distinct - 1))
