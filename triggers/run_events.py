"""Azure ML's run events and the fallback timer: each run's status in Azure ML onto its record."""

import os
from typing import Any

import azure.functions as func

from shared.clients.process.services import APP_ROOT, process_services
from shared.core.config import settings
from shared.core.config.config_loader import poll_settings, read_at_indexing
from shared.core.config.timing_settings import function_timeout

# The outcome flows are imported in the two functions, on their first call: the blob trigger's cold start does not
# pay for them.

bp = func.Blueprint()
# A bad RUN_STATUS_POLL_SCHEDULE or RUN_STATUS_POLL_MAX_RUNS still indexes (on the defaults), the problem logged.
_SCHEDULE, _MAX_RUNS = read_at_indexing(lambda: poll_settings(os.environ), (
    settings.RUN_STATUS_POLL_SCHEDULE.default or "", int(settings.RUN_STATUS_POLL_MAX_RUNS.default or 1)))
_BUDGET = (function_timeout(APP_ROOT) or 300) - 30  # 300 s: the Consumption plan's default timeout


def envelope(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """The event as Event Grid sent it (either schema), from what the worker decoded: a plain mapping."""
    if isinstance(event, func.CloudEvent):
        return {"specversion": event.specversion, "id": event.id, "source": event.source, "type": event.type,
                "subject": event.subject, "time": event.time, "data": event.get_json()}
    return {"id": event.id, "topic": event.topic, "subject": event.subject, "eventType": event.event_type,
            "eventTime": event.event_time, "data": event.get_json()}


@bp.function_name("record_run_status")
@bp.event_grid_trigger(arg_name="event")
def record_run_status(event: func.EventGridEvent) -> None:
    """RunStatusChanged / RunCompleted; the worker hands a CloudEvent instead when the event has ``specversion``.
    A malformed event or a record not yet settled raises: Event Grid retries it, then dead-letters it."""
    from shared.flows.outcomes.event_intake import record_run_event

    record_run_event(envelope(event), process_services())


@bp.function_name("poll_run_status")
@bp.timer_trigger(arg_name="timer", schedule=_SCHEDULE, run_on_startup=False, use_monitor=True)
def poll_run_status(timer: func.TimerRequest) -> None:
    """Every RUN_STATUS_POLL_SCHEDULE, at most RUN_STATUS_POLL_MAX_RUNS runs in flight asked about, oldest first.
    A bad setting indexed on the defaults fails each tick with its problem."""
    from shared.flows.outcomes.run_outcomes import poll_open_runs

    poll_settings(os.environ)
    poll_open_runs(process_services(), budget=_BUDGET, max_runs=_MAX_RUNS)
