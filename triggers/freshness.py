"""Freshness timer: registered only when a rule has a freshness expectation; each tick decides the deadlines that
passed (once, whatever the number of instances) and notices late files of an overdue one."""

import azure.functions as func

from shared.clients.process.services import process_services, rules_at_indexing

FRESHNESS_TICK = "0 * * * * *"
"""Every minute: a deadline is decided within a minute of its files' records being settled, late data too."""

bp = func.Blueprint()

_RULES = rules_at_indexing()
if any(rule.freshness for rule in _RULES):

    @bp.function_name("check_freshness")
    @bp.timer_trigger(arg_name="timer", schedule=FRESHNESS_TICK, run_on_startup=False, use_monitor=False)
    def check_freshness_tick(timer: func.TimerRequest) -> None:
        from shared.flows.freshness.freshness import check_freshness  # on the first tick: not the blob path's
        check_freshness(process_services())
