"""The Functions app: composes the trigger blueprints; all logic lives in ``shared``."""

import os

import azure.functions as func

from shared.clients.common.telemetry import setup_telemetry
from triggers.blob import bp as blob_triggers
from triggers.freshness import bp as freshness_trigger
from triggers.http import bp as http_functions
from triggers.quiet_windows import bp as quiet_window_trigger
from triggers.run_events import bp as run_event_functions
from triggers.run_index import bp as run_index_timer
from triggers.sweep import bp as sweep_trigger
from triggers.timers import bp as timer_triggers

setup_telemetry(os.environ)  # before any function logs; imports nothing of OpenTelemetry unless it is on
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (blob_triggers, timer_triggers, sweep_trigger, quiet_window_trigger, freshness_trigger,
                  http_functions, run_event_functions, run_index_timer):
    app.register_functions(blueprint)
