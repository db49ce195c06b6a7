"""A v1 folder rule with a marker, the folder it runs on, and claims that expire within a test."""

from __future__ import annotations

import time

FOLDER = "incoming/2026-12-01/"


def v1_marker_rule(aml, marker: dict, **fields) -> dict:
    return {"name": "daily", "prefix": "incoming/", "include_subfolders": True, "marker": marker,
            "target": {"url": aml.published_pipeline_url()}, "experiment": "retrain",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}, **fields}


SHORT_CLAIM_EXPIRY = 6.0
"""Seconds a short claim lasts: twice the deadline (the least the settings allow), which a redelivery waits out
before giving up on a live claim."""


def short_claims(monkeypatch) -> None:
    """Claims that expire in 6 s, so a crashed process's claim is taken over within a test. The deadline (3 s, an
    attempt 1.5 s) leaves a taking-over delivery time for its reads, the lookup and the POST on a loaded machine: at
    1 s, a load average of 17 left it no time for one attempt."""
    for name, value in {"SUBMIT_DEADLINE_SECONDS": "3", "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "1.5", "CLAIM_EXPIRY_SECONDS":
                        str(int(SHORT_CLAIM_EXPIRY)), "RUN_LISTING_DELAY_SECONDS": "0.25"}.items():
        monkeypatch.setenv(name, value)


def wait_past_short_claims(crashed_at: float) -> None:
    """Sleep until a claim written before ``crashed_at`` (``time.monotonic()``) has expired on the storage server's
    clock, which judges its age in whole seconds."""
    time.sleep(max(0.0, crashed_at + SHORT_CLAIM_EXPIRY + 1.2 - time.monotonic()))
