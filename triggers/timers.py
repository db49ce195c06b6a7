"""Timer triggers: one function per enabled schedule, so the host schedules, monitors and disables each natively
(``AzureWebJobs.schedule_<name>.Disabled=true`` works). Schedules are read here, at indexing, from the rules file;
a problem in them registers none.
"""

import os

import azure.functions as func

from shared.clients.common.clock import SYSTEM_CLOCK
from shared.clients.process.services import APP_ROOT, process_services, rules_file_at_indexing
from shared.core.config.config_loader import read_at_indexing
from shared.core.config.config_model import Schedule
from shared.core.config.rules_file import load_schedules

bp = func.Blueprint()


def _register(schedule: Schedule) -> None:
    @bp.function_name(schedule.function_name)
    @bp.timer_trigger(arg_name="timer", schedule=schedule.cron.expression, run_on_startup=False, use_monitor=True)
    # A tick that failed for now (Azure ML or the ledger unreachable) is retried by the host within minutes,
    # rather than waiting for the next occurrence; the occurrence's key makes the retry exactly-once.
    @bp.retry(strategy="exponential_backoff", max_retry_count="5", minimum_interval="00:00:10",
              maximum_interval="00:05:00")
    def start_scheduled_run(timer: func.TimerRequest) -> None:
        from shared.flows.schedules.schedule_runs import fire_schedule  # on the first tick: not the blob path's

        services = process_services()
        fire_schedule(schedule.name, fired_at=services.clock.now(), past_due=timer.past_due, services=services)


def _schedules() -> tuple[Schedule, ...]:
    """The rules file's schedules, as parsed once for indexing; when the file has a problem, the schedules read on
    their own: a problem in a rule stops no schedule, and one in the schedules registers none (it is logged, and
    /api/health reports it) rather than stopping the indexing of every other function."""
    loaded = rules_file_at_indexing()
    if loaded is not None:
        return loaded[1]
    return read_at_indexing(lambda: load_schedules(os.environ, APP_ROOT, now=SYSTEM_CLOCK.now()), ())


for _schedule in _schedules():
    if _schedule.enabled:
        _register(_schedule)
