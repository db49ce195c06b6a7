"""Catch-up sweep timer: processes blob versions the ledger has no settled record of (missed events, downtime)."""

import os

import azure.functions as func

from shared.clients.process.services import APP_ROOT, process_services
from shared.core.config.config_loader import (
    DEFAULT_SWEEP_MAX_BLOBS,
    DEFAULT_SWEEP_SCHEDULE,
    read_at_indexing,
    sweep_settings,
)
from shared.core.config.timing_settings import function_timeout

bp = func.Blueprint()
# A bad SWEEP_SCHEDULE or SWEEP_MAX_BLOBS still indexes (on the defaults); each run then fails with the problem.
_SCHEDULE, _MAX_BLOBS = read_at_indexing(lambda: sweep_settings(os.environ),
                                         (DEFAULT_SWEEP_SCHEDULE, DEFAULT_SWEEP_MAX_BLOBS))
_BUDGET = (function_timeout(APP_ROOT) or 300) - 30  # 300 s: the Consumption plan's default timeout


@bp.function_name("sweep_for_missed_blobs")
@bp.timer_trigger(arg_name="timer", schedule=_SCHEDULE, run_on_startup=False, use_monitor=True)
def sweep_for_missed_blobs(timer: func.TimerRequest) -> None:
    """Every SWEEP_SCHEDULE (15 minutes by default), at most SWEEP_MAX_BLOBS versions a run. The sweep is
    imported here, on its first tick: the blob trigger's cold start does not pay for it."""
    from shared.flows.sweep.sweep import sweep

    sweep(process_services(), max_blobs=_MAX_BLOBS, budget=_BUDGET)
