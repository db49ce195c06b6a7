"""Benchmarks: the app's own cost per new blob, per duplicate, in a burst, for a sweep, in memory and at import.

    ./dev bench [--only per-blob,duplicate,burst,sweep,memory,cold-start,status-page,run-events,markers,
                quiet-windows,freshness]
                [--iterations 1000]
                [--burst-blobs 1000] [--sweep-blobs 100000] [--sweep-store sql|memory] [--big-blob-mib 1024]
                [--status-records 1000,10000,100000] [--freshness-records 1000,10000,100000]
                [--records-store sql|memory]

Each figure is printed with a baseline measured in the same run, against Azurite and the local Azure ML
stand-in, and their ratio. Not part of the test run: it takes minutes and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack

from bench.batches import marker_rows, quiet_window_rows
from bench.blobs import burst, per_blob_and_duplicate
from bench.cold_start import cold_start
from bench.common import HEADER, Bench
from bench.freshness import freshness_rows
from bench.mariadb import programs
from bench.memory import memory
from bench.run_events import run_event_rows
from bench.status_page import status_page_rows
from bench.sweep import sweep_rows

SECTIONS = ("per-blob", "duplicate", "burst", "sweep", "memory", "cold-start", "status-page", "run-events",
            "markers", "quiet-windows", "freshness")


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
    parser.add_argument("--status-records", default="1000,10000,100000",
                        help="ledger records under the status page and runs, comma-separated")
    parser.add_argument("--records-store", choices=("sql", "memory"), default="sql" if programs() else "memory",
                        help="Azurite's blob metadata under the status page and freshness ledgers: MariaDB (the "
                             "default when installed) or memory (n records fill in O(n^2): 100,000 take hours)")
    parser.add_argument("--run-records", type=int, default=200, help="records (runs) under the run-event figures")
    parser.add_argument("--freshness-records", default="1000,10000,100000",
                        help="ledger records under a freshness check, comma-separated")
    parser.add_argument("--marker-files", type=int, default=1000, help="data files one manifest lists")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
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
            ("status-page", lambda: status_page_rows(bench, _counts(args.status_records), args.records_store)),
            ("run-events", lambda: run_event_rows(bench, args.run_records)),
            ("markers", lambda: marker_rows(bench, args.marker_files)),
            ("quiet-windows", lambda: quiet_window_rows(bench, args.marker_files)),
            ("freshness", lambda: freshness_rows(bench, _counts(args.freshness_records), args.records_store)),
        ]
        for name, step in steps:
            if set(name.split("/")) & sections:
                print(f"== {name}", file=sys.stderr, flush=True)
                step()
    print(f"\n{HEADER}")
    for row in bench.rows:
        print(row)
    return 1 if any(row.failed for row in bench.rows) else 0


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(count) for count in text.split(","))


if __name__ == "__main__":
    sys.exit(main())
