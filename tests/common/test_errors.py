"""One error root, one table from errors to HTTP statuses, one to exit codes, one outcome vocabulary, and every
structured log line written by one function."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from azure.core.exceptions import AzureError, ResourceNotFoundError

import shared
from cli.__main__ import exit_code
from shared.clients.aml.aml_client import PermanentSubmitError, SubmitError, TransientSubmitError
from shared.clients.ledger.ledger_claims import ClaimBusyError, ClaimLostError
from shared.core.aml.targets import TargetError
from shared.core.blobs.blob_names import BlobNameError
from shared.core.common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OperationError,
    TooLarge,
    TriggerError,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
    each_then_retry,
)
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Outcome
from shared.core.ledger.ledger_record import RunState
from shared.core.schedules.ncrontab import CronError
from shared.core.schedules.recurrence import RecurrenceError
from shared.core.storage.storage_endpoints import StorageSettingError
from shared.flows.manual.manual_runs import RunPending
from shared.operations.http.http_api import answer, error_status

ROOT = Path(__file__).resolve().parents[2]


class _Unmapped(TriggerError):
    """An error class neither table names."""


def _error_classes() -> list[type[BaseException]]:
    """Every exception class a module of shared/ defines."""
    found = []
    for module_info in pkgutil.walk_packages(shared.__path__, "shared."):
        module = importlib.import_module(module_info.name)
        found += [value for value in vars(module).values() if inspect.isclass(value)
                  and issubclass(value, BaseException) and value.__module__ == module.__name__]
    return found


def test_every_error_class_the_app_defines_derives_from_the_one_root():
    classes = _error_classes()

    assert {ClaimBusyError, SubmitError, ConfigError, TargetError, CronError, RunPending} <= set(classes)
    assert [cls.__qualname__ for cls in classes if not issubclass(cls, TriggerError)] == []


def test_retryable_is_the_roots_class_default_and_one_error_may_say_otherwise():
    assert TriggerError("x").retryable is False and Unavailable("x").retryable is True
    assert TriggerError("x", retryable=True).retryable is True and Unavailable("x", retryable=False).retryable is False
    assert TriggerError.retryable is False  # an instance's word never changes its class
    assert (TransientSubmitError("t", attempts=3).retryable, PermanentSubmitError("p", attempts=1).retryable) == (
        True, False)
    assert ClaimBusyError("busy").retryable is True and RunPending("rules/r/k.json", ClaimBusyError("b")).retryable



def test_a_pending_schedule_record_is_listed_by_schedule_and_finished_by_a_retry_not_the_sweep():
    pending = RunPending("schedules/nightly/" + "0" * 64 + ".json", ClaimBusyError("busy"))

    assert {name: pending.fields()[name] for name in ("state", "location", "finished_by")} == {
        "state": "claimed", "location": "/api/runs?schedule=nightly",
        "finished_by": "its current owner, else POST /api/runs/retry with this record"}
    assert RunPending("manual/daily/k.json", ClaimBusyError("busy")).fields()["location"] == "/api/runs?rule=daily"


@pytest.mark.parametrize(("error", "status"), [
    (RunPending("rules/r/k.json", TransientSubmitError("503", attempts=3)), 202),
    (InvalidInput("bad field"), 400), (BlobNameError("bad name"), 500), (NotFound("no rule"), 404),
    (Conflict("settled"), 409), (ClaimLostError("taken over"), 409), (TooLarge("big"), 413),
    (UnsupportedMediaType("text/plain"), 415), (Unprocessable("empty blob"), 422),
    (ConfigError([]), 503), (TargetError([("url", "an https URL")]), 500), (CronError("bad cron"), 500),
    (RecurrenceError("bad recurrence"), 500), (StorageSettingError([("S", None, "an account")]), 500),
    (PermanentSubmitError("400", attempts=1), 502), (TransientSubmitError("503", attempts=3), 503),
    (ClaimBusyError("busy"), 503), (AzureError("storage down"), 503), (ResourceNotFoundError("gone"), 503),
    (_Unmapped("odd"), 500), (SubmitError("base", attempts=1), 500), (OperationError("base"), 500),
])
def test_each_error_class_answers_with_its_one_http_status(error, status):
    assert error_status(error) == status

    def operation():
        raise error

    assert answer(operation)[0] == status


def test_an_http_answer_says_retryable_only_when_trying_again_may_help():
    def raising(error):
        def operation():
            raise error
        return operation

    assert answer(raising(Conflict("settled"))) == (409, {"error": "settled"})
    assert answer(raising(ClaimBusyError("busy"))) == (503, {"error": "busy", "retryable": True})
    assert answer(raising(_Unmapped("odd", retryable=True))) == (500, {"error": "odd", "retryable": True})


@pytest.mark.parametrize(("error", "code"), [
    (RunPending("rules/r/k.json", ClaimBusyError("busy")), 3), (InvalidInput("bad --event file"), 1),
    (NotFound("no rule"), 1), (ConfigError([]), 1), (ClaimBusyError("busy"), 1), (AzureError("down"), 1),
    (PermanentSubmitError("400", attempts=1), 1), (_Unmapped("odd"), 1), (KeyError("surprise"), 1),
])
def test_each_error_class_ends_the_command_line_with_its_one_exit_code(error, code):
    assert exit_code(error) == code


def test_the_outcome_words_a_record_also_stores_are_its_run_states():
    assert [outcome.value for outcome in Outcome] == ["ignored", "rejected", "duplicate", "collected", "skipped",
                                                      "submitted", "failed", "waiting", "run_completed", "run_failed",
                                                      "run_canceled", "arrived", "overdue", "arrived_late"]
    assert [state.value for state in RunState] == ["claimed", "submitted", "rejected", "skipped", "failed",
                                                   "waiting"]
    assert {outcome: outcome.state for outcome in Outcome} == {
        Outcome.IGNORED: None, Outcome.DUPLICATE: None, Outcome.COLLECTED: None, Outcome.REJECTED: RunState.REJECTED,
        Outcome.SKIPPED: RunState.SKIPPED, Outcome.SUBMITTED: RunState.SUBMITTED, Outcome.FAILED: RunState.FAILED,
        Outcome.RUN_COMPLETED: None, Outcome.RUN_FAILED: None, Outcome.RUN_CANCELED: None,
        Outcome.WAITING: RunState.WAITING, Outcome.ARRIVED: None, Outcome.OVERDUE: None, Outcome.ARRIVED_LATE: None}


_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _structured_log_calls(path: Path) -> list[str]:
    """``file:line`` of each logging call that writes an ``aml_trigger ...`` line or logs a json.dumps itself."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LOG_METHODS):
            continue
        texts = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        dumps = [arg for arg in node.args if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                 and arg.func.attr == "dumps"]
        if dumps or any(text.startswith("aml_trigger") for text in texts):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_structured_log_line_is_written_outside_log_event():
    sources = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("triggers/**/*.py"), *ROOT.glob("cli/**/*.py"),
               ROOT / "function_app.py"]
    found = [call for path in sources for call in _structured_log_calls(path)]

    decisions = ast.parse((ROOT / "shared" / "core" / "ledger" / "decisions.py").read_text(encoding="utf-8"))
    writer = next(node for node in decisions.body if isinstance(node, ast.FunctionDef) and node.name == "log_event")
    inside = [f"shared/core/ledger/decisions.py:{line}" for line in range(writer.lineno, writer.end_lineno + 1)]
    assert [call for call in found if call not in inside] == []
    assert len(found) == 1  # the one LOGGER.log in log_event


def test_each_call_has_its_turn_before_the_first_retryable_error_is_raised():
    calls: list[str] = []

    def call(name: str, error: TriggerError | None = None):
        def run() -> str:
            calls.append(name)
            if error is not None:
                raise error
            return name
        return run

    first, second = Unavailable("first for now"), Unavailable("second for now")
    with pytest.raises(Unavailable) as caught:
        each_then_retry([call("a"), call("b", first), call("c"), call("d", second)])
    assert caught.value is first and calls == ["a", "b", "c", "d"]
    assert each_then_retry([call("e"), call("f")]) == ["e", "f"]


def test_an_error_that_retrying_cannot_help_is_raised_at_once_and_stops_the_rest():
    calls: list[str] = []

    def refused() -> str:
        calls.append("refused")
        raise Conflict("settled")

    def later() -> str:
        calls.append("later")
        return "later"

    with pytest.raises(Conflict, match=r"^settled$"):
        each_then_retry([refused, later])
    assert calls == ["refused"]
