"""Quiet-window timer: registered only when a rule has a quiet window; each tick starts the runs of the folders
that have been quiet long enough (the ledger state is the batch; the timer only looks at it)."""

import azure.functions as func

from shared.clients.process.services import process_services, rules_at_indexing

QUIET_TICK = "*/10 * * * * *"
"""Every 10 s: a batch's run starts between its window and its window + 10 s after its last file."""

bp = func.Blueprint()

_RULES = rules_at_indexing()
if any(rule.quiet_window for rule in _RULES):

    @bp.function_name("fire_quiet_windows")
    @bp.timer_trigger(arg_name="timer", schedule=QUIET_TICK, run_on_startup=False, use_monitor=False)
    def fire_quiet_windows(timer: func.TimerRequest) -> None:
        from shared.flows.quiet_windows.quiet_windows import fire_due  # on the first tick: not the blob path's

        fire_due(process_services())
