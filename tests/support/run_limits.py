"""A rule capped at N active runs, its blobs delivered one by one, and its runs ended at the stand-in."""

from __future__ import annotations

import json
import os

import pytest

from localdev.host import deliver_event
from shared.clients.process.services import build_services
from shared.core.ledger.decisions import Decision
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.outcomes import run_outcomes

NAMES = ("incoming/a.csv", "incoming/b.csv", "incoming/c.csv")


def capped_rule(tmp_path, monkeypatch, **limit: object) -> None:
    rules = {"rules": [{"name": "capped", "prefix": "incoming/", "target": {"url": "%AML_PIPELINE_URL%"},
                        "experiment": "capped-runs", **limit}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))


def trigger_blob(name: str) -> Decision:
    """One delivery of a blob's event, as the blob trigger makes it."""
    services = build_services(os.environ)
    [decision] = process_blob(services.watched.get_blob_client(name), services)
    return decision


def triggered_blobs(aml) -> list[str]:
    """The blob each POST the stand-in received was about, in the order they came."""
    return [run.body["tags"]["trigger_blob"].split("/", 1)[1] for run in aml.accepted]


def end_run(aml, index: int, status: str = "Completed") -> None:
    """The stand-in's run ``index`` (in POST order) ends; its Azure ML event is delivered to the app."""
    run = aml.accepted[index]
    aml.set_status(run.run_id, status)
    deliver_event(aml.run_event(run.run_id))


def end_and_crash(aml, monkeypatch) -> None:
    """The first run ends, and the process hearing of it is killed after the waiting trigger's record was reopened
    for its turn, before that trigger's run was started."""

    def killed(*args: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(run_outcomes, "rerun", killed)
        with pytest.raises(SystemExit):
            end_run(aml, 0)
