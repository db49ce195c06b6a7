"""One run for a folder: 1,000 data files and the manifest that lists them, every event delivered as the host
would, against Azurite. Counts POSTs and storage requests (per file and in total) and times the manifest's event
(its listed files are read and checked before the POST)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from localdev.host import deliver_blob
from localdev.http_counter import counting_requests
from shared.clients.services import process_services

if TYPE_CHECKING:
    from bench.__main__ import Bench

FOLDER = "daily/2026-12-01/"


def marker_rows(bench: Bench, files: int) -> None:
    from bench.__main__ import Row

    bench.configure("bench-markers", "bench-markers-ledger", FOLDER)
    names = [f"{FOLDER}part-{index:05d}.csv" for index in range(files)]
    bench.upload_many("bench-markers", names)
    listed = json.dumps({"files": [name.removeprefix(FOLDER) for name in names]}).encode()
    bench.upload_many("bench-markers", [FOLDER + "manifest.json"], listed)
    rule = {"name": "daily", "prefix": FOLDER, "marker": {"file": "manifest.json", "manifest": True},
            "target": {"url": bench.aml.published_pipeline_url()}, "experiment": "bench",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "rules.json"
        rules.write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
        os.environ["TRIGGER_RULES_FILE"] = str(rules)
        process_services.cache_clear()
        try:
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
        finally:
            del os.environ["TRIGGER_RULES_FILE"]
            process_services.cache_clear()
    bench.rows.append(Row(f"marker: {files:,} files + manifest", f"{posts} POST", "", None, "exactly 1 POST",
                          posts == 1))
    bench.rows.append(Row("marker: storage requests per file", f"{total / files:.2f} ({total:,} in all)",
                          f"{data_requests} for the {files:,} data events", None, "<= 2 per file",
                          total <= 2 * files))
    bench.rows.append(Row("marker: manifest event -> POST", f"{marker_seconds:.2f} s",
                          f"{files:,} listed files read", None, "", None))
