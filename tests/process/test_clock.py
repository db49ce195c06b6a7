"""One clock: the services a process shares are built on it, and what they write and judge follows it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from shared.clients.common.clock import Clock
from shared.clients.ledger.ledger import Ledger
from shared.clients.process.services import build_services
from shared.core.ledger.keys import manual_namespace, rule_namespace
from shared.core.ledger.subjects import BlobSubject, ManualSubject
from shared.flows.sweep.sweep import CLOCK_MARGIN, SweepReport, find_open_manual
from tests.support.clock import SettableClock


def test_the_ledger_of_services_built_on_a_clock_writes_records_at_its_time(app_env):
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    services = build_services(os.environ, clock=Clock(now=lambda: at))

    services.ledger.claim(rule_namespace("default"), "k1", BlobSubject(container="c", blob="b.csv", etag="e"),
                          services.clock.monotonic() + 5)

    found = services.ledger.read("rules/default/k1.json")
    assert found is not None and found[0]["claimed_at"] == "2026-12-01T10:00:00.000Z"


def test_the_sweep_judges_a_manual_runs_abandoned_claim_by_the_services_clock(app_env):
    setting = SettableClock()
    services = build_services(os.environ, clock=setting.clock)
    crashed = Ledger(services.ledger.container, claim_expiry=0)  # an owner that died holding an instantly stale claim
    crashed.claim(manual_namespace("default"), "k1", ManualSubject(rule="default", request_id="k1", blob=None,
                  experiment=None, parameters=None), services.clock.monotonic() + 5)
    assert find_open_manual(services, SweepReport(started_at="")) == []  # live until the clock margin passes

    setting.ahead = timedelta(seconds=CLOCK_MARGIN + 1)

    assert find_open_manual(services, SweepReport(started_at="")) == ["manual/default/k1.json"]
