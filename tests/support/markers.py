"""A v1 folder rule with a marker, the folder it runs on, and claims that expire within a test."""

from __future__ import annotations

FOLDER = "incoming/2026-12-01/"


def v1_marker_rule(aml, marker: dict, **fields) -> dict:
    return {"name": "daily", "prefix": "incoming/", "include_subfolders": True, "marker": marker,
            "target": {"url": aml.published_pipeline_url()}, "experiment": "retrain",
            "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}, **fields}


def short_claims(monkeypatch) -> None:
    """Claims that expire in 3 s, so a crashed process's claim is taken over within a test."""
    for name, value in {"SUBMIT_DEADLINE_SECONDS": "1", "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "0.5",
                        "CLAIM_EXPIRY_SECONDS": "3", "RUN_LISTING_DELAY_SECONDS": "0.25"}.items():
        monkeypatch.setenv(name, value)
