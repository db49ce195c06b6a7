"""A v2 batch-endpoint rule on the Azure ML stand-in, and the rules file that sets it, for tests beyond v1."""

from __future__ import annotations

import hashlib
import json
import uuid

WORKSPACE = "/subscriptions/sub-1/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws"
DATA_INPUT = {"parameter": "input_data", "datastore": "workspaceblobstore"}
REPEATABILITY_NAMESPACE = uuid.UUID("6f1a3c52-2c57-4e61-9a1e-6d1f6a3e2b7c")


def expected_request_id(key: str) -> str:
    """The repeatability_request-id a key's invocations carry: uuid5 of the key in the app's fixed namespace,
    computed here rather than by the code under test, so an id that changed (or became "None") fails."""
    return str(uuid.uuid5(REPEATABILITY_NAMESPACE, key))


def rules_file(tmp_path, monkeypatch, rules: list[dict]) -> None:
    """Write ``rules`` as this test's rules file and point TRIGGER_RULES_FILE at it."""
    (tmp_path / "rules.json").write_text(json.dumps({"rules": rules}), encoding="utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))


def batch_rule(aml, **fields) -> dict:
    """A rule that sends incoming/ blobs to the stand-in's batch endpoint, deployment blue; ``fields`` added."""
    return {"name": "v2", "prefix": "incoming/", "experiment": "batch-retrain", "data_path": DATA_INPUT,
            "target": {"url": aml.batch_endpoint_url(), "deployment": "blue", "workspace": WORKSPACE}, **fields}


COMPONENT = "azureml:retrain_pipeline:3"
"""The pipeline component the stand-in's workspaces hold registered."""
STANDIN_WORKSPACE = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
                     "Microsoft.MachineLearningServices/workspaces/ml-ws")
"""The stand-in's own workspace (localdev.aml_standin.DEFAULT_WORKSPACE) as an ARM id."""


def pipeline_job_rule(aml, name: str = "pjob", **fields) -> dict:
    """A rule that creates a pipeline job of the stand-in's registered component for each incoming/ blob."""
    return {"name": name, "prefix": "incoming/", "experiment": "retrain", "data_path": DATA_INPUT,
            "target": {"kind": "pipeline_job", "url": aml.arm_url(), "workspace": STANDIN_WORKSPACE,
                       "component": COMPONENT, "compute": "cpu-cluster"}, **fields}


def expected_job_name(namespace: str, key: str) -> str:
    """A pipeline job's name for a trigger's record, computed here rather than by the code under test."""
    return "trigger-" + hashlib.sha256(f"{namespace}\n{key}".encode()).hexdigest()
