"""Schedules in a rules file, and firing one as its timer tick on a given day."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from shared.clients.process.services import build_services
from shared.flows.schedules.schedule_runs import fire_schedule

DAILY = "0 0 2 * * *"


def write_rules(tmp_path, monkeypatch, schedules: list[dict], **settings: str) -> str:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"schedules": schedules}), encoding="utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(path))
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return str(path)


def schedule(name: str, **fields) -> dict:
    return {"name": name, "cron": "0 0 0 1 1 *", "target": {"url": "%AML_PIPELINE_URL%"},
            "experiment": "timed-retrain", "parameters": {"model_name": "m1"}, **fields}


def with_data(name: str, data: dict, **fields) -> dict:
    return schedule(name, data=data, data_path={"parameter": "input_datapath", "datastore": "workspaceblobstore"},
                    **fields)


def fire_at(name: str, day: int, services=None, **kwargs):
    """Fire schedule ``name`` as its tick for 2 November 2026 + ``day`` days, 02:00 UTC, arrives 0.3 s late."""
    fired_at = datetime(2026, 11, 2 + day, 2, 0, 0, 300_000, tzinfo=UTC)
    return fire_schedule(name, fired_at=fired_at, past_due=False, services=services or build_services(os.environ),
                         **kwargs)
