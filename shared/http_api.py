"""The HTTP API's requests and answers, free of azure.functions: size and type limits, strict schemas, one
mapping from outcomes and errors to status codes. triggers/http.py only moves bytes in and out."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from azure.core.exceptions import AzureError

from shared.aml_client import SubmitError
from shared.config import ConfigError
from shared.decisions import Decision, Outcome
from shared.ledger import ClaimBusyError
from shared.operations import OperationError, RunPending

MAX_REQUEST_BYTES = 64 * 1024
OUTCOME_STATUS = {Outcome.SUBMITTED: 201, Outcome.DUPLICATE: 200, Outcome.REJECTED: 422, Outcome.SKIPPED: 409,
                  Outcome.IGNORED: 409, Outcome.FAILED: 502}
Answer = tuple[int, Any]

START_SCHEMA = {"rule": str, "blob": str, "experiment": str, "parameters": dict, "request_id": str, "rerun": bool}
EXPLAIN_SCHEMA = {"blob": str, "event": (dict, list)}
RETRY_SCHEMA = {"record": str}


def json_body(body: bytes, content_type: str | None, schema: Mapping[str, type | tuple[type, ...]],
              required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, checked against ``schema``; OperationError with a clear 4xx otherwise."""
    if len(body) > MAX_REQUEST_BYTES:
        raise OperationError(413, f"request body is {len(body):,} bytes; at most {MAX_REQUEST_BYTES:,}")
    if content_type and "json" not in content_type.lower():
        raise OperationError(415, f"Content-Type must be application/json, not {content_type!r}")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise OperationError(400, f"body is not UTF-8 JSON: {error}") from None
    if not isinstance(value, dict):
        raise OperationError(400, f"body must be a JSON object with {', '.join(schema)}")
    problems = [f"unknown field {key!r}" for key in value if key not in schema]
    problems += [f"{key} is required" for key in required if key not in value]
    problems += [f"{key} must be {_type_name(schema[key])}" for key, item in value.items()
                 if key in schema and not isinstance(item, schema[key])]
    if problems:
        raise OperationError(400, "; ".join(problems) + f" (fields: {', '.join(schema)})")
    return value


def answer(operation: Callable[[], Answer]) -> Answer:
    """Run an operation; turn what it raises into the status that says what happened, with a JSON reason."""
    try:
        return operation()
    except RunPending as pending:  # still failing for now when the HTTP deadline came: the record stays open
        return 202, pending.fields()
    except OperationError as error:
        return error.status, {"error": error.message}
    except ConfigError as error:
        return 500, {"error": "the app's configuration is invalid", "problems": [str(p) for p in error.problems]}
    except (SubmitError, ClaimBusyError) as error:  # for now: the ledger says failed, retryable; try again later
        return 503, {"error": str(error), "retryable": True}
    except AzureError as error:  # storage or identity unreachable: nothing was decided
        return 503, {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}", "retryable": True}


def decision_answer(decision: Decision) -> Answer:
    return OUTCOME_STATUS[decision.outcome], decision.fields()


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "a list", int: "a number", bool: "true or false"}
    options = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names.get(option, option.__name__) for option in options)
