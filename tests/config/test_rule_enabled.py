"""``enabled`` on rules: one rule off beside others on, its blobs recorded as skipped with the reason, the sweep
leaving them alone, and turning it back on replaying nothing unless a sweep is asked to (``since``)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from cli.__main__ import main
from shared.clients.process.services import build_services
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Decision
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.sweep.sweep import sweep
from shared.operations.http.explain import explain
from shared.operations.http.health import health
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

DISABLED = ("rule 'paused' is disabled (enabled: false); not replayed when it is enabled again unless a sweep is "
            "asked to (sweep --since)")


def _rules(tmp_path, monkeypatch, *, paused_enabled: object) -> None:
    """Two rules on the same prefix: ``live`` always on, ``paused`` with ``enabled`` as given."""
    rules = {"rules": [
        {"name": "live", "prefix": "incoming/", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "live-runs"},
        {"name": "paused", "prefix": "incoming/", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "paused-runs",
         "enabled": paused_enabled},
    ]}
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))


def _process(container: str, name: str) -> list[Decision]:
    """One delivery of a blob's event, as the blob trigger makes it, with its decisions."""
    services = build_services(os.environ)
    return process_blob(services.watched.get_blob_client(name), services)


def _experiments(aml) -> list[str]:
    return sorted(run.experiment for run in aml.accepted)


def test_a_disabled_rule_beside_an_enabled_one_on_the_same_prefix_records_a_skip_and_starts_nothing(
        app_env, aml, monkeypatch, tmp_path):
    _rules(tmp_path, monkeypatch, paused_enabled=False)
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/a.csv", SAMPLE_CSV)

    decisions = _process(container, "incoming/a.csv")
    redelivered = _process(container, "incoming/a.csv")

    assert _experiments(aml) == ["live-runs"]
    assert [(d.rule, d.outcome.value, d.reason) for d in decisions] == [
        ("live", "submitted", None), ("paused", "skipped", DISABLED)]
    assert [d.outcome.value for d in redelivered] == ["duplicate", "duplicate"]
    record = ledger_record("paused", container, "incoming/a.csv", etag)
    assert (record["state"], record["reason"], record["disabled"]) == ("skipped", DISABLED, True)
    assert ledger_record("live", container, "incoming/a.csv", etag)["state"] == "submitted"


def test_the_sweep_skips_a_disabled_rule_and_turning_it_on_replays_nothing_unless_asked_since(
        app_env, aml, monkeypatch, tmp_path):
    _rules(tmp_path, monkeypatch, paused_enabled="false")
    container = app_env["WATCH_CONTAINER"]
    before = datetime.now(UTC) - timedelta(seconds=5)
    etag = upload(container, "incoming/a.csv", SAMPLE_CSV)
    deliver_blob(container, "incoming/a.csv")
    upload(container, "incoming/missed.csv", SAMPLE_CSV)  # its event never came, while paused was off

    while_off = sweep(build_services(os.environ), max_blobs=100)
    assert (while_off.missing, dict(while_off.outcomes)) == (1, {"submitted": 1})  # live's missed blob only
    assert _experiments(aml) == ["live-runs", "live-runs"]

    _rules(tmp_path, monkeypatch, paused_enabled=True)
    plain = sweep(build_services(os.environ), max_blobs=100)
    assert dict(plain.outcomes) == {"submitted": 1}  # missed.csv has no record of paused: caught up as any miss
    assert _experiments(aml) == ["live-runs", "live-runs", "paused-runs"]
    assert sweep(build_services(os.environ), max_blobs=100).missing == 0  # a.csv's skip is not replayed

    later = sweep(build_services(os.environ), max_blobs=100, since=datetime.now(UTC) + timedelta(minutes=1))
    assert (later.missing, aml.accepted[-1].experiment) == (0, "paused-runs")  # nothing skipped since then

    replay = sweep(build_services(os.environ), max_blobs=100, since=before)
    again = sweep(build_services(os.environ), max_blobs=100, since=before)

    assert (replay.missing, dict(replay.outcomes)) == (1, {"submitted": 1})
    assert (again.missing, dict(again.outcomes)) == (0, {})
    assert _experiments(aml) == ["live-runs", "live-runs", "paused-runs", "paused-runs"]
    record = ledger_record("paused", container, "incoming/a.csv", etag)
    assert [step["state"] for step in record["history"]] == [
        "claimed", "skipped", "reopened", "taken over from failed", "claimed", "submitted"]


def test_explain_health_and_the_cli_show_a_disabled_rule(app_env, aml, monkeypatch, tmp_path, capsys):
    _rules(tmp_path, monkeypatch, paused_enabled=False)
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)

    shown = {rule["rule"]: rule for rule in explain(build_services(os.environ), blob="incoming/a.csv")["rules"]}
    healthy, report = health(dict(os.environ))
    assert main(["explain", "--blob", "incoming/a.csv"]) == 0
    printed = json.loads(capsys.readouterr().out)

    assert (shown["paused"]["enabled"], shown["paused"]["outcome"]) == (False, f"skipped: {DISABLED}")
    assert shown["live"]["outcome"] == "would submit" and "enabled" not in shown["live"]
    assert report["configuration"]["disabled_rules"] == ["paused"] and healthy
    assert printed["rules"][1]["enabled"] is False
    assert aml.received == []


def test_the_one_rule_settings_switch_their_rule_off_with_watch_enabled(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_ENABLED", "false")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "a.csv", SAMPLE_CSV)

    [decision] = _process(container, "a.csv")

    assert (decision.outcome.value, aml.received) == ("skipped", [])
    assert ledger_record("default", container, "a.csv", etag)["disabled"] is True


def test_an_enabled_that_is_not_a_flag_is_a_clear_configuration_error(app_env, aml, monkeypatch, tmp_path):
    _rules(tmp_path, monkeypatch, paused_enabled="sometimes")
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", SAMPLE_CSV)

    with pytest.raises(ConfigError) as raised:
        deliver_blob(app_env["WATCH_CONTAINER"], "incoming/a.csv")

    assert "rules[1].enabled = 'sometimes': true or false" in str(raised.value)
    assert aml.received == []
