"""A backfill in a process of its own that stops in place once it holds claims, for its parent to SIGKILL.

Usage: python -m tests.support.backfill_worker SUBMITTED BACKFILL-ARGUMENTS...
The first SUBMITTED submissions go through; every later one prints ``holding`` and never returns, so each worker
thread holds its version's claim (written, not settled) until the process is killed.
"""

from __future__ import annotations

import itertools
import sys
import threading

from cli.__main__ import main
from shared.clients.aml.aml_client import PipelineSubmitter


def hold_after(submitted: int) -> None:
    submit, counter, lock = PipelineSubmitter.submit, itertools.count(), threading.Lock()

    def submit_or_hold(*args, **kwargs):
        with lock:  # whole lines: print() writes the text and its newline apart, so threads' lines interleave
            holding = next(counter) >= submitted
            if holding:
                sys.stdout.write("holding\n")
                sys.stdout.flush()
        if holding:
            threading.Event().wait()  # the claim stays held: the parent kills the process here
        return submit(*args, **kwargs)

    PipelineSubmitter.submit = submit_or_hold


if __name__ == "__main__":
    hold_after(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
