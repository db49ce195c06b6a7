"""A v1 folder rule with a quiet window, files arriving in its folder, and services whose clock reads later."""

from __future__ import annotations

import os
from datetime import timedelta

from shared.clients.process.services import build_services, process_services
from tests.support.batch import rules_file
from tests.support.clock import SettableClock
from tests.support.harness import deliver_blob, upload
from tests.support.markers import FOLDER, v1_marker_rule
from tests.support.samples import SAMPLE_CSV

WINDOW = 60


def write_rule(aml, tmp_path, monkeypatch, **fields: object) -> None:
    """The rules file holding the one rule ``daily`` (a v1 folder rule without a marker) with ``fields``."""
    rule = v1_marker_rule(aml, {"file": "_SUCCESS"})
    del rule["marker"]
    rules_file(tmp_path, monkeypatch, [{**rule, **fields}])
    process_services.cache_clear()


def services_at(seconds_after_now: float):
    """Services whose wall clock reads ``seconds_after_now`` ahead of the real one (a timer tick then)."""
    services = build_services(os.environ)
    services.clock = SettableClock(ahead=timedelta(seconds=seconds_after_now)).clock
    return services


def arrive(container: str, *names: str, folder: str = FOLDER) -> None:
    for name in names:
        upload(container, folder + name, SAMPLE_CSV)
        deliver_blob(container, folder + name)
