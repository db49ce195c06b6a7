"""One run for a folder: 1,000 data files and the manifest that lists them, every event delivered as the host
would, against Azurite. Counts POSTs and storage requests (per file and in total) and times the manifest's event
(its listed files are read and checked before the POST)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import Bench, Row
from localdev.host import deliver_blob
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.flows.quiet_windows.quiet_windows import fire_due
from triggers.quiet_windows import QUIET_TICK

FOLDER = "daily/2026-12-01/"
QUIET_WINDOW = 60
TICK_SECONDS = int(QUIET_TICK.split()[0].removeprefix("*/"))


@contextlib.contextmanager
def rules_in_force(rule: dict[str, Any]) -> Iterator[None]:
    """``rule`` as the app's one rule (a rules file) while the block runs; fresh process state either side."""
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "rules.json"
        rules.write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
        os.environ["TRIGGER_RULES_FILE"] = str(rules)
        process_services.cache_clear()
        try:
            yield
        finally:
            del os.environ["TRIGGER_RULES_FILE"]
            process_services.cache_clear()


def marker_rows(bench: Bench, files: int) -> None:
    bench.configure("bench-markers", "bench-markers-ledger", FOLDER)
    names = [f"{FOLDER}part-{index:05d}.csv" for index in range(files)]
    bench.upload_many("bench-markers", names)
    listed = json.dumps({"files": [name.removeprefix(FOLDER) for name in names]}).encode()
    bench.upload_many("bench-markers", [FOLDER + "manifest.json"], listed)
    rule = {"name": "daily", "prefix": FOLDER, "marker": {"file": "manifest.json", "manifest": True},
            "target": {"url": bench.aml.published_pipeline_url()}, "experiment": "bench",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}
    with rules_in_force(rule):
        posts_before = len(bench.aml.received)
        with counting_requests() as sent:
            for name in names:
                deliver_blob("bench-markers", name)
            data_requests = bench.storage_requests(sent)
            started = time.perf_counter()
            deliver_blob("bench-markers", FOLDER + "manifest.json")
            marker_seconds = time.perf_counter() - started
        total = bench.storage_requests(sent)
        posts = len(bench.aml.received) - posts_before
    bench.rows.append(Row(f"marker: {files:,} files + manifest", f"{posts} POST", "", None, "exactly 1 POST",
                          posts == 1))
    bench.rows.append(Row("marker: storage requests per file", f"{total / files:.2f} ({total:,} in all)",
                          f"{data_requests} for the {files:,} data events", None, "<= 2 per file",
                          total <= 2 * files))
    bench.rows.append(Row("marker: manifest event -> POST", f"{marker_seconds:.2f} s",
                          f"{files:,} listed files read", None, "", None))


def quiet_window_rows(bench: Bench, files: int) -> None:
    """1,000 files into one quiet-window batch: their events, then the timer's ticks on a simulated clock (every
    TICK_SECONDS after the last file) until the one that POSTs; the real seconds that tick took are added."""
    bench.configure("bench-quiet", "bench-quiet-ledger", FOLDER)
    names = [f"{FOLDER}part-{index:05d}.csv" for index in range(files)]
    bench.upload_many("bench-quiet", names)
    rule = {"name": "quiet", "prefix": FOLDER, "quiet_window": {"seconds": QUIET_WINDOW},
            "target": {"url": bench.aml.published_pipeline_url()}, "experiment": "bench",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}
    with rules_in_force(rule):
        posts_before = len(bench.aml.received)
        services = process_services()
        real_clock = services.clock
        with counting_requests() as sent:
            for name in names:
                deliver_blob("bench-quiet", name)
            data_requests = bench.storage_requests(sent)
            waited, ticks, tick_seconds = 0, 0, 0.0
            while len(bench.aml.received) == posts_before and waited <= QUIET_WINDOW + TICK_SECONDS:
                waited += TICK_SECONDS
                later = timedelta(seconds=waited)
                services.clock = real_clock._replace(now=lambda later=later: real_clock.now() + later)
                started = time.perf_counter()
                fire_due(services)
                tick_seconds, ticks = time.perf_counter() - started, ticks + 1
        services.clock = real_clock
        total = bench.storage_requests(sent)
        posts = len(bench.aml.received) - posts_before
    bench.rows.append(Row(f"quiet window: {files:,} files", f"{posts} POST", f"{ticks} ticks", None,
                          "exactly 1 POST", posts == 1))
    per_batch = total - data_requests
    bench.rows.append(Row("quiet window: storage requests per file",
                          f"{data_requests / files:.2f} ({total:,} in all)",
                          f"{data_requests:,} for the {files:,} events, {per_batch} for {ticks} ticks + the run", None,
                          "<= 2 per file", data_requests <= 2 * files + 1))  # +1: the process's container check
    bench.rows.append(Row("quiet window: last file -> POST", f"{waited} s simulated + {tick_seconds:.2f} s",
                          f"window {QUIET_WINDOW} s, tick {TICK_SECONDS} s", None,
                          f"<= window + {TICK_SECONDS} s + work", waited <= QUIET_WINDOW + TICK_SECONDS))
