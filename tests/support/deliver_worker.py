"""A separate process delivering one blob event, for the multi-process tests.

Usage: python -m tests.support.deliver_worker CONTAINER BLOB START_AT [--crash-after-claim | --crash-after-accept]
Imports and indexes the app first, waits until START_AT (epoch seconds) so all workers fire together,
delivers once, and prints its decisions as one JSON line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from tests.support.harness import deliver_blob, indexed_functions


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.outcomes.append(record.__dict__.get("aml_outcome", "?"))


def main(container: str, blob_name: str, start_at: float, crash_after_claim: bool, crash_after_accept: bool) -> None:
    collect = _Collect()
    logging.getLogger("aml_trigger").addHandler(collect)
    logging.getLogger("aml_trigger").setLevel(logging.INFO)
    indexed_functions()
    if crash_after_claim:
        from shared.clients.aml.aml_client import PipelineSubmitter

        PipelineSubmitter.submit = lambda *args, **kwargs: os._exit(137)  # the process dies holding the claim
    if crash_after_accept:
        from shared.clients.aml.aml_client import PipelineSubmitter

        submit = PipelineSubmitter.submit
        # Azure ML accepted the run and answered; the process dies before it could write the outcome.
        PipelineSubmitter.submit = lambda *args, **kwargs: (submit(*args, **kwargs), os._exit(137))
    time.sleep(max(0.0, start_at - time.time()))
    error = None
    try:
        deliver_blob(container, blob_name)
    except Exception as raised:  # reported to the parent, as the host would see it
        error = f"{type(raised).__name__}: {raised}"
    print(json.dumps({"pid": os.getpid(), "outcomes": collect.outcomes, "error": error}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), "--crash-after-claim" in sys.argv[4:],
         "--crash-after-accept" in sys.argv[4:])
