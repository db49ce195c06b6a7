"""What every benchmark section shares: one Azure ML stand-in, an identity endpoint and Azurite (``Bench``), the
table's rows (``Row``) and the timing helpers."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core import MatchConditions
from azure.storage.blob import BlobServiceClient
from requests.adapters import HTTPAdapter

from bench.mariadb import MariaDb
from localdev.aml_standin import AmlStandIn
from localdev.azurite import Azurite
from localdev.identity_endpoint import IdentityEndpoint
from shared.clients.process.services import process_services
from shared.core.blobs.csv_head import HEAD_BYTES
from shared.core.ledger.keys import normalize_etag

CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"
WORKERS = 16
BARE_EXPERIMENT = "bench-bare"


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


AZURITE_FIND = "Azurite's Find scans"
"""Why a target over a big ledger is missed on Azurite's SQL store: its Find Blobs by Tags scans every blob (a
further page per 5,000), where Azure answers from its tag index (see ``counting_further_finds``)."""
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


@contextmanager
def counting_further_finds() -> Iterator[list[str]]:
    """Within the block, the Find Blobs by Tags requests that asked for a further page (a ``marker``). Azurite's
    SQL store pages a Find by the blobs it scans (5,000 a request, matching or not). Azure answers from its tag
    index, up to 5,000 matches a page, and documents that it "may return fewer results than maxresults" with a
    continuation: how many pages a Find of a few matches takes there is not measured here."""
    further: list[str] = []
    original = HTTPAdapter.send

    def send(adapter: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        query = parse_qs(urlsplit(request.url).query)
        if query.get("comp") == ["blobs"] and "marker" in query:
            further.append(request.url)
        return original(adapter, request, *args, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield further
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


@contextmanager
def own_storage(bench: Bench, store: str, name: str) -> Iterator[None]:
    """Fresh storage for one section (the watched account and the ledger's), so no other section's blobs weigh on
    it; the shared pair again after. ``store``: Azurite in memory, or its blob metadata in a throwaway MariaDB
    (``sql``: writes indexed, so 100,000 blobs fill at a steady rate)."""
    with ExitStack() as stack:
        stack.callback(bench.use_storage, bench.azurite, bench.ledger_azurite)
        urls: list[str | None] = [None, None]
        if store == "sql":
            database = stack.enter_context(MariaDb())
            urls = [database.database_url(f"{name}_data"), database.database_url(f"{name}_ledger")]
        bench.use_storage(*(stack.enter_context(Azurite(metadata_database=url)) for url in urls))
        yield


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"

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
