"""Memory: the peak RSS a fresh process grows by while it handles the event of a big blob, against a small one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import CSV, Bench, Row
from localdev.azurite import PROJECT_ROOT


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
