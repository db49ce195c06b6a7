"""Which record, trigger and workspace a run belongs to, from names and the configuration alone
(shared/core/outcomes/run_records.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.core.config.config_loader import load_config
from shared.core.config.config_model import AppConfig
from shared.core.outcomes.run_events import RecordRef
from shared.core.outcomes.run_records import record_ref, run_spec, trigger_namespace, trigger_of, workspace_id
from tests.support.settings import LOADED_AT

pytestmark = pytest.mark.unit

URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
       "Microsoft.MachineLearningServices/workspaces/ws-1/PipelineRuns/PipelineSubmit/")


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    """One rule, nightly, and one schedule, daily, each with its own experiment."""
    rules = {"rules": [{"name": "nightly", "target": {"url": f"{URL}p"}, "experiment": "by-rule"}],
             "schedules": [{"name": "daily", "cron": "0 0 2 * * *", "target": {"url": f"{URL}q"},
                            "experiment": "by-schedule"}]}
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    env = {"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
           "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5", "TRIGGER_RULES_FILE": "rules.json"}
    return load_config(env, tmp_path, now=LOADED_AT)


@pytest.mark.parametrize(("ref", "name"), [
    (RecordRef("rules/nightly", "k", rule="nightly"), "nightly"),
    (RecordRef("manual/nightly", "k", rule="nightly"), "nightly"),
    (RecordRef("schedules/daily", "k", schedule="daily"), "daily"),
    (RecordRef("rules/daily", "k", rule="daily"), None),  # a schedule's name is no rule's
    (RecordRef("schedules/nightly", "k", schedule="nightly"), None),
    (RecordRef("rules/gone", "k", rule="gone"), None),
])
def test_a_record_leads_to_the_rule_or_schedule_of_its_kind_as_configured_now(config, ref, name):
    trigger = trigger_of(config, ref)
    assert (None if trigger is None else trigger.name) == name


def test_a_records_run_is_its_triggers_as_configured_now(config):
    assert run_spec(config, RecordRef("rules/nightly", "k", rule="nightly")) is config.rules[0].run
    assert run_spec(config, RecordRef("schedules/daily", "k", schedule="daily")) is config.schedules[0].run
    assert run_spec(config, RecordRef("rules/gone", "k", rule="gone")) is None


def test_a_triggers_records_live_under_its_kinds_namespace(config):
    assert (trigger_namespace(config.rules[0]), trigger_namespace(config.schedules[0])) == (
        "rules/nightly", "schedules/daily")


def test_a_workspace_is_named_as_event_grid_names_its_topic(config):
    assert workspace_id(config.rules[0].run.target) == (
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1")


@pytest.mark.parametrize(("name", "ref"), [
    ("rules/nightly/k1.json", RecordRef("rules/nightly", "k1", rule="nightly")),
    ("schedules/daily/k1.json", RecordRef("schedules/daily", "k1", schedule="daily")),
    ("quiet/nightly/k1.json", None),
])
def test_a_record_name_is_read_into_its_namespace_key_and_owner(name, ref):
    assert record_ref(name) == ref
