"""A v2 batch-endpoint rule on the Azure ML stand-in, and the rules file that sets it, for tests beyond v1."""

from __future__ import annotations

import json

WORKSPACE = "/subscriptions/sub-1/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws"
DATA_INPUT = {"parameter": "input_data", "datastore": "workspaceblobstore"}


def rules_file(tmp_path, monkeypatch, rules: list[dict]) -> None:
    """Write ``rules`` as this test's rules file and point TRIGGER_RULES_FILE at it."""
    (tmp_path / "rules.json").write_text(json.dumps({"rules": rules}), encoding="utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))


def batch_rule(aml, **fields) -> dict:
    """A rule that sends incoming/ blobs to the stand-in's batch endpoint, deployment blue; ``fields`` added."""
    return {"name": "v2", "prefix": "incoming/", "experiment": "batch-retrain", "data_path": DATA_INPUT,
            "target": {"url": aml.batch_endpoint_url(), "deployment": "blue", "workspace": WORKSPACE}, **fields}
