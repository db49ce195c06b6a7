"""Backfill on Azurite and the Azure ML stand-in: what a window holds, what the ledger says of it, runs counted at
the stand-in, a backfill interrupted and started again, a dry run, a deliberate rerun, the cap of active runs."""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from shared.clients.process.services import build_services
from shared.core.backfill.backfill import Window
from shared.core.ledger.keys import blob_version_key, manual_key
from shared.flows.backfill.backfill import Pace, backfill
from shared.flows.blobs.blob_runs import process_blob
from tests.support.harness import ledger_record, upload
from tests.support.samples import SAMPLE_CSV

WIDE = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


class Interrupted(Exception):
    """What a kill at the progress hook looks like to the backfill: nothing after it runs."""


def services():
    return build_services(os.environ)


def uploaded(container: str, names: list[str]) -> dict[str, str]:
    with ThreadPoolExecutor(8) as pool:
        return dict(zip(names, pool.map(lambda name: upload(container, name, SAMPLE_CSV), names), strict=True))


def run_already(names: list[str]) -> None:
    """These versions' events came: their runs started through the live path."""
    shared = services()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: process_blob(shared.watched.get_blob_client(name), shared), names))


def sent_paths(aml) -> Counter[str]:
    return Counter(run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] for run in aml.accepted)


def kill_after(count: int):
    def progress(done: int, _total: int) -> None:
        if done == count:
            raise Interrupted(f"killed after {count}")
    return progress


@pytest.mark.integration
def test_a_thousand_versions_of_which_400_ran_give_600_runs_even_when_killed_after_300(app_env, aml):
    names = [f"day-{number:04}.csv" for number in range(1000)]
    uploaded(app_env["WATCH_CONTAINER"], names)
    run_already(names[:400])
    assert len(aml.accepted) == 400

    dry, candidates = backfill(services(), rule="default", window=WIDE)
    assert len(aml.accepted) == 400  # the dry run sent nothing
    assert (dry.in_window, dict(dry.standings), dry.to_run) == (1000, {"already run": 400, "never seen": 600}, 600)
    assert dry.summary().endswith("; dry run: 600 would run, nothing sent")
    assert [c.blob for c in candidates if c.standing.would_run] == names[400:]

    with pytest.raises(Interrupted):
        backfill(services(), rule="default", window=WIDE, run=True, pace=Pace(progress=kill_after(300)))
    assert len(aml.accepted) == 700
    again, _ = backfill(services(), rule="default", window=WIDE, run=True)

    assert (again.to_run, again.processed, dict(again.outcomes)) == (300, 300, {"submitted": 300})
    assert len(aml.accepted) == 1000 and set(sent_paths(aml).values()) == {1}  # 600 new runs, none twice
    last, _ = backfill(services(), rule="default", window=WIDE, run=True)
    assert (last.to_run, dict(last.standings), len(aml.accepted)) == (0, {"already run": 1000}, 1000)
