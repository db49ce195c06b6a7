"""Benchmarks: the app's own cost per new blob, per duplicate, in a burst, for a sweep, in memory and at import.

    ./dev bench [--only per-blob,duplicate,burst,sweep,memory,cold-start,status-page,run-events,markers,
                quiet-windows]
                [--iterations 1000]
                [--burst-blobs 1000] [--sweep-blobs 100000] [--sweep-store sql|memory] [--big-blob-mib 1024]
                [--status-records 10000]

Each figure is printed with a baseline measured in the same run, against Azurite and the local Azure ML
stand-in, and their ratio. Not part of the test run: it takes minutes and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import requests
from azure.core import MatchConditions
from azure.storage.blob import BlobServiceClient, ContainerClient

from bench.batches import marker_rows, quiet_window_rows
from bench.mariadb import MariaDb, programs
from bench.run_events import run_event_rows
from bench.status_page import status_page_rows
from localdev.aml_standin import AmlStandIn
from localdev.app_insights import QUIET_EXPORTER, IngestionEndpoint
from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.host import deliver_blob
from localdev.http_counter import counting_requests
from localdev.identity_endpoint import IdentityEndpoint
from shared.clients.process.services import process_services
from shared.core.blobs.csv_head import HEAD_BYTES
from shared.core.ledger.keys import blob_version_key, normalize_etag, record_name, rule_namespace
from shared.flows.sweep.sweep import SweepReport, find_missing, sweep

CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"
WORKERS = 16
WARM_UP = 10
BARE_EXPERIMENT = "bench-bare"
SECTIONS = ("per-blob", "duplicate", "burst", "sweep", "memory", "cold-start", "status-page", "run-events",
            "markers", "quiet-windows")
RUNTIME_DEPENDENCIES = ("azure.functions", "azurefunctions.extensions.bindings.blob", "azure.identity",
                        "azure.storage.blob", "requests")


@dataclass
class Row:
    figure: str
    app: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None
    bound: str = ""
    """Why a missed target cannot be met by this design, when it is understood (the README gives the detail)."""

    @property
    def failed(self) -> bool:
        return self.ok is False and not self.bound

    def __str__(self) -> str:
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else "-"
        verdict = f"missed: {self.bound}" if self.ok is False and self.bound else \
            {True: "met", False: "MISSED", None: ""}[self.ok]
        return f"{self.figure:<34} {self.app:<26} {self.baseline:<30} {ratio:>6}  {self.target:<22} {verdict}"


HEADER = f"{'figure':<34} {'app':<26} {'baseline (same run)':<30} {'ratio':>6}  {'target':<22} verdict"


class Rows(list):
    """Rows, each printed the moment it is measured: a later section failing loses nothing."""

    def append(self, row: Row) -> None:
        super().append(row)
        print(row, flush=True)

    def extend(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.append(row)


class Bench:
    """One Azure ML stand-in and one identity endpoint for every section; storage swappable per section."""

    def __init__(self, stack: ExitStack):
        self.aml = stack.enter_context(AmlStandIn())
        self.identity = stack.enter_context(IdentityEndpoint())
        self.rows: list[Row] = Rows()
        self.use_storage(stack.enter_context(Azurite()), stack.enter_context(Azurite()))

    def use_storage(self, data: Azurite, ledger: Azurite) -> None:
        """The watched account and the ledger's own (LEDGER_STORAGE), as a deployment may have them: one emulator
        process each, so their writes are served side by side."""
        self.azurite, self.ledger_azurite = data, ledger
        self.storage = BlobServiceClient.from_connection_string(data.connection_string)
        self.ledger_storage = BlobServiceClient.from_connection_string(ledger.connection_string)

    def storage_requests(self, sent: Counter) -> int:
        """Requests to either storage account, out of a ``counting_requests`` tally."""
        return sum(sent[server.endpoints["blob"].removeprefix("http://")]
                   for server in (self.azurite, self.ledger_azurite))

    def configure(self, container: str, ledger: str, prefix: str) -> None:
        """App settings watching ``container``/``prefix``, as a deployment would have them; fresh process state."""
        os.environ.update({
            "WATCH_CONTAINER": container, "WATCH_PREFIX": prefix, "WATCH_STORAGE": self.azurite.connection_string,
            "AzureWebJobsStorage": self.azurite.connection_string, "LEDGER_CONTAINER": ledger,
            "LEDGER_STORAGE": "BENCH_LEDGER_STORAGE", "BENCH_LEDGER_STORAGE": self.ledger_azurite.connection_string,
            "AML_PIPELINE_URL": self.aml.published_pipeline_url(), "AML_EXPERIMENT": "bench",
            "AML_DATA_PATH_PARAMETER": "input_datapath", "AML_DATASTORE": "workspaceblobstore",
            "AML_ALLOW_LOCAL_TARGETS": "true", **self.identity.environment(),
        })
        self.storage.get_container_client(container).create_container()
        process_services.cache_clear()

    def upload_many(self, container: str, names: list[str], data: bytes = CSV) -> dict[str, str]:
        client = self.storage.get_container_client(container)

        def put(name: str) -> tuple[str, str]:
            return name, normalize_etag(client.get_blob_client(name).upload_blob(data, overwrite=True)["etag"])

        return dict(in_parallel(put, names, f"uploading to {container}"))

    def bare_round_trips(self, container: str, names: list[str]) -> Callable[[int], None]:
        """The unavoidable work for one new blob, with the same SDK clients, and nothing else: ranged read,
        conditional create, POST, conditional update carrying the record's open tags (one request, as the app
        writes it), then the stamp's tag read and write."""
        data = self.storage.get_container_client(container)
        ledger = self.ledger_storage.get_container_client("bench-bare-ledger")
        if not ledger.exists():
            ledger.create_container()
        session = requests.Session()
        token = process_services().tokens.bearer("https://management.azure.com/.default")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps({"ExperimentName": BARE_EXPERIMENT, "ParameterAssignments": {}, "RunSource": "SDK"}).encode()
        url = self.aml.published_pipeline_url()

        def one(index: int) -> None:
            data.get_blob_client(names[index]).download_blob(offset=0, length=HEAD_BYTES).readall()
            record = ledger.get_blob_client(f"bare/{index}-{time.monotonic_ns()}.json")
            etag = record.upload_blob(b'{"state": "claimed"}', overwrite=False)["etag"]
            session.post(url, data=body, headers=headers, timeout=30).raise_for_status()
            record.upload_blob(b'{"state": "submitted"}', overwrite=True, etag=etag,
                               match_condition=MatchConditions.IfNotModified, tags={"aml_open": "1"})
            blob = data.get_blob_client(names[index])
            blob.set_blob_tags({**blob.get_blob_tags(), "bare": "submitted"})

        return one


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


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
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            ratio = percentile(app, fraction) / percentile(bare, fraction)
            bench.rows.append(Row(f"per new blob, {label}", ms(percentile(app, fraction)),
                                  f"{ms(percentile(bare, fraction))} (6 bare trips)", ratio, "ratio <= 1.25",
                                  ratio <= 1.25))
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
        # trip on every new blob. README, "Benchmarks".
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


def sweep_rows(bench: Bench, total: int, store: str, missing: int = 1000) -> None:
    """The sweep against fresh storage of its own, so no other section's blobs weigh on it."""
    with ExitStack() as stack:
        stack.callback(bench.use_storage, bench.azurite, bench.ledger_azurite)
        urls: list[str | None] = [None, None]
        if store == "sql":
            database = stack.enter_context(MariaDb())
            urls = [database.database_url("sweep_data"), database.database_url("sweep_ledger")]
        bench.use_storage(*(stack.enter_context(Azurite(metadata_database=url)) for url in urls))
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


def in_parallel(work: Callable, items: list, what: str) -> list:
    """``work`` over ``items`` on WORKERS threads, in order, with progress on stderr for long setups."""
    results, step, started = [], max(1000, len(items) // 20), time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        for index, result in enumerate(pool.map(work, items), start=1):
            results.append(result)
            if len(items) >= 5000 and (index % step == 0 or index == len(items)):
                elapsed = time.perf_counter() - started
                print(f"   {what}: {index:,}/{len(items):,} in {elapsed:.0f} s ({index / elapsed:.0f}/s)",
                      file=sys.stderr, flush=True)
    return results


def memory(bench: Bench, big_mib: int) -> None:
    bench.configure("bench-memory", "bench-memory-ledger", "")
    container = bench.storage.get_container_client("bench-memory")
    bench.upload_many("bench-memory", ["warm.csv", "small.csv"], CSV + b"1,2,3,4,5,6,7\n" * 60)  # ~1 KiB
    big = container.get_blob_client("big.csv")
    block = CSV + b"125,256,6000,256,16,128,198\n" * (8 * 1024 * 1024 // 28)
    ids = []
    for index in range(max(1, big_mib * 1024 * 1024 // len(block))):
        block_id = f"{index:08d}"
        big.stage_block(block_id, block)
        ids.append(block_id)
    big.commit_block_list(ids)
    size = big.get_blob_properties().size
    peaks = {name: probe_peak_rss(name) for name in ("small.csv", "big.csv")}
    difference = (peaks["big.csv"] - peaks["small.csv"]) / 1024
    bench.rows.append(Row(f"memory: event of a {size / 2**30:.2f} GiB blob",
                          f"+{peaks['big.csv'] / 1024:.1f} MiB peak RSS",
                          f"+{peaks['small.csv'] / 1024:.1f} MiB for 1 KiB", None,
                          "within 10 MiB", abs(difference) <= 10))


def probe_peak_rss(blob: str) -> float:
    """KiB the peak RSS of a fresh process grows while it handles one event (after a warm-up event)."""
    result = subprocess.run([sys.executable, "-m", "bench.memory_probe", "bench-memory", blob], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=600, env=os.environ.copy())
    if result.returncode:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.splitlines()[-1])["growth_kib"]


def cold_start(rounds: int = 15) -> list[Row]:
    """Importing function_app with telemetry off and on, against importing its runtime dependencies alone; the
    three alternate, so all see the same machine load. "On" points at a local ingestion endpoint (nothing is
    logged at import, so nothing is posted)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "function_app.py", "shared", "triggers"],
                   cwd=PROJECT_ROOT, check=True)
    off = {name: value for name, value in os.environ.items()
           if name not in ("TRIGGER_RULES_FILE", "AZURE_MONITOR_OPENTELEMETRY")}
    dependencies = "import " + ", ".join(RUNTIME_DEPENDENCIES)

    def timed(code: str, env: dict[str, str]) -> float:
        return seconds(lambda: subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True))

    times: dict[str, list[float]] = {"bare": [], "off": [], "on": []}
    with IngestionEndpoint() as ingestion:
        on = {**off, **QUIET_EXPORTER, "AZURE_MONITOR_OPENTELEMETRY": "true",
              "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string}
        for _ in range(rounds):
            times["bare"].append(timed(dependencies, off))
            times["off"].append(timed("import function_app", off))
            times["on"].append(timed("import function_app", on))
    bare = statistics.median(times["bare"])
    baseline = f"{ms(bare)} (dependencies alone)"
    off_ratio, on_ratio = (statistics.median(times[mode]) / bare for mode in ("off", "on"))
    return [Row("cold start: import function_app", ms(statistics.median(times["off"])), baseline, off_ratio,
                "ratio <= 1.2", off_ratio <= 1.2),
            Row("cold start: telemetry on", ms(statistics.median(times["on"])), baseline, on_ratio,
                "- (opt-in)", None)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--iterations", type=int, default=1000, help="new blobs timed for the per-blob figure")
    parser.add_argument("--burst-blobs", type=int, default=1000)
    parser.add_argument("--sweep-blobs", type=int, default=100_000)
    parser.add_argument("--sweep-store", choices=("sql", "memory"), default="sql" if programs() else "memory",
                        help="Azurite's blob metadata for the sweep: in MariaDB (the default when installed; "
                             "indexed writes) or in memory (writes scan every blob: 100,000 take about an hour)")
    parser.add_argument("--big-blob-mib", type=int, default=1024)
    parser.add_argument("--status-records", type=int, default=10_000, help="ledger records under the status page")
    parser.add_argument("--run-records", type=int, default=200, help="records (runs) under the run-event figures")
    parser.add_argument("--marker-files", type=int, default=1000, help="data files one manifest lists")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    import logging

    logging.getLogger("aml_trigger").addHandler(logging.NullHandler())  # decisions are formatted, not printed
    logging.getLogger("aml_trigger").setLevel(logging.INFO)
    logging.getLogger("aml_trigger").propagate = False
    print(HEADER, flush=True)
    with ExitStack() as stack:
        bench = Bench(stack)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("per-blob/duplicate", lambda: per_blob_and_duplicate(bench, args.iterations, sections)),
            ("burst", lambda: burst(bench, args.burst_blobs + 1)),
            ("sweep", lambda: sweep_rows(bench, args.sweep_blobs, args.sweep_store)),
            ("memory", lambda: memory(bench, args.big_blob_mib)),
            ("cold-start", lambda: bench.rows.extend(cold_start())),
            ("status-page", lambda: status_page_rows(bench, args.status_records)),
            ("run-events", lambda: run_event_rows(bench, args.run_records)),
            ("markers", lambda: marker_rows(bench, args.marker_files)),
            ("quiet-windows", lambda: quiet_window_rows(bench, args.marker_files)),
        ]
        for name, step in steps:
            if set(name.split("/")) & sections:
                print(f"== {name}", file=sys.stderr, flush=True)
                step()
    print(f"\n{HEADER}")
    for row in bench.rows:
        print(row)
    return 1 if any(row.failed for row in bench.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
