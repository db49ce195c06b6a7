"""Which record, trigger and workspace a run belongs to, found from names and the configuration alone (pure)."""

from __future__ import annotations

from shared.core.aml.targets import Target
from shared.core.config.config_model import AppConfig, Rule, RunSpec, Schedule
from shared.core.ledger.keys import RecordName, rule_namespace, schedule_namespace
from shared.core.outcomes.run_events import RecordRef


def record_ref(name: str) -> RecordRef | None:
    """The record a record name points to (``rules/<rule>/<key>.json``, ``manual/...``, ``schedules/...``)."""
    try:
        kind, owner, key = parsed = RecordName.parse(name)
    except ValueError:
        return None
    if kind == "schedules":
        return RecordRef(parsed.namespace, key, schedule=owner)
    return RecordRef(parsed.namespace, key, rule=owner) if kind in ("rules", "manual") else None


def trigger_of(config: AppConfig, ref: RecordRef) -> Rule | Schedule | None:
    """The rule or schedule ``ref`` belongs to, as configured now."""
    if ref.schedule is not None:
        return next((schedule for schedule in config.schedules if schedule.name == ref.schedule), None)
    return next((rule for rule in config.rules if rule.name == ref.rule), None)


def run_spec(config: AppConfig, ref: RecordRef) -> RunSpec | None:
    """The run of the rule or schedule ``ref`` belongs to, as configured now: where its status is asked."""
    trigger = trigger_of(config, ref)
    return None if trigger is None else trigger.run


def trigger_namespace(trigger: Rule | Schedule) -> str:
    """Where a rule's or schedule's records and gate live (``rules/<rule>``, ``schedules/<name>``)."""
    return schedule_namespace(trigger.name) if isinstance(trigger, Schedule) else rule_namespace(trigger.name)


def workspace_id(target: Target) -> str:
    """The workspace's resource id as Event Grid names it in ``topic`` / ``source``."""
    workspace = target.workspace
    assert workspace is not None
    return (f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.name}")
