"""The Functions app: composes the trigger blueprints; all logic lives in ``shared``."""

import azure.functions as func

from triggers.blob import bp as blob_triggers
from triggers.timers import bp as timer_triggers

app = func.FunctionApp()
app.register_functions(blob_triggers)
app.register_functions(timer_triggers)
