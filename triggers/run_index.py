"""Run index timer: every RUN_INDEX_SCHEDULE (a minute by default) the run index is caught up with the records, so a
view of the status page or of ``runs`` reads it as it is (one read) instead of catching it up itself."""

import os

import azure.functions as func

from shared.clients.process.services import process_services
from shared.core.config import settings
from shared.core.config.config_loader import read_at_indexing, run_index_schedule

bp = func.Blueprint()
# A bad RUN_INDEX_SCHEDULE still indexes (on the default), the problem logged and reported by health.
_SCHEDULE = read_at_indexing(lambda: run_index_schedule(os.environ), settings.RUN_INDEX_SCHEDULE.text({}))


@bp.function_name("catch_up_run_index")
@bp.timer_trigger(arg_name="timer", schedule=_SCHEDULE, run_on_startup=False, use_monitor=False)
def catch_up_run_index(timer: func.TimerRequest) -> None:
    """The catch-up is imported here, on its first tick: the blob trigger's cold start does not pay for it."""
    from shared.flows.run_index.run_index import current_index

    current_index(process_services())
