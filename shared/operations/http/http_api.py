"""The HTTP API's requests and answers, free of azure.functions: size and type limits, strict schemas, one
mapping from outcomes and errors to status codes. triggers/http.py only moves bytes in and out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

from azure.core.exceptions import AzureError

from shared.core.common.errors import (
    Conflict,
    InvalidInput,
    InvalidValue,
    NotFound,
    Pending,
    Refused,
    TooLarge,
    TriggerError,
    Unavailable,
    Unprocessable,
    UnreadableJson,
    UnsupportedMediaType,
)
from shared.core.common.json_input import REQUEST_BODY, read_json
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Decision, Outcome
from shared.flows.manual.manual_runs import RunPending
from shared.operations.http.records import list_limit

MAX_REQUEST_BYTES = REQUEST_BODY.max_bytes
OUTCOME_STATUS = {Outcome.SUBMITTED: 201, Outcome.DUPLICATE: 200, Outcome.REJECTED: 422, Outcome.SKIPPED: 409,
                  Outcome.IGNORED: 409, Outcome.FAILED: 502}
ERROR_STATUS: dict[type[Exception], int] = {
    Pending: 202, InvalidInput: 400, NotFound: 404, Conflict: 409, TooLarge: 413, UnsupportedMediaType: 415,
    Unprocessable: 422, InvalidValue: 500, ConfigError: 503, Refused: 502, Unavailable: 503, AzureError: 503}
"""The one place an error becomes an HTTP status: its nearest class here (a subclass first); 500 for any other.
ConfigError is the app's own configuration (a request's bad value is InvalidInput): 503 listing the problems, as
/api/health answers, until the settings are fixed."""
Answer = tuple[int, Any]

START_SCHEMA = {"rule": str, "blob": str, "experiment": str, "parameters": dict, "request_id": str, "rerun": bool}
EXPLAIN_SCHEMA = {"blob": str, "event": (dict, list)}
RETRY_SCHEMA = {"record": str}


def json_body(body: bytes, content_type: str | None, schema: Mapping[str, type | tuple[type, ...]],
              required: tuple[str, ...] = (), *, source: str = "request body") -> dict[str, Any]:
    """The request's JSON object, checked against ``schema``; OperationError with a clear 4xx otherwise (the
    bounded reader's refusals name ``source``, e.g. ``POST /api/runs body``, and the field)."""
    if len(body) > MAX_REQUEST_BYTES:
        raise TooLarge(f"request body is {len(body):,} bytes; at most {MAX_REQUEST_BYTES:,}")
    check_content_type(content_type)
    try:
        value = read_json(body, source=source, limits=REQUEST_BODY)
    except UnreadableJson as error:
        raise InvalidInput(str(error)) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"body must be a JSON object with {', '.join(schema)}")
    problems = [f"unknown field {key!r}" for key in value if key not in schema]
    problems += [f"{key} is required" for key in required if key not in value]
    problems += [f"{key} must be {_type_name(schema[key])}" for key, item in value.items()
                 if key in schema and not isinstance(item, schema[key])]
    if problems:
        raise InvalidInput("; ".join(problems) + f" (fields: {', '.join(schema)})")
    return value


JSON_MEDIA_TYPE = "application/json"


def check_content_type(content_type: str | None) -> None:
    """415 unless the header names JSON: ``application/json`` or a ``+json`` type, UTF-8 if a charset is given.

    A missing header is refused too: a client that says nothing may be sending a form or text by default.
    """
    expected = f"Content-Type must be {JSON_MEDIA_TYPE} (optionally with charset=utf-8)"
    if not content_type or not content_type.strip():
        raise UnsupportedMediaType(f"{expected}; the request has no Content-Type")
    header = Message()
    header["Content-Type"] = content_type
    media_type = header.get_content_type()  # text/plain when the header does not parse as type/subtype
    maintype, _, subtype = media_type.partition("/")
    if not (media_type == JSON_MEDIA_TYPE or (maintype == "application" and subtype.endswith("+json"))):
        raise UnsupportedMediaType(f"{expected}, not {content_type[:200]!r}")
    charset = header.get_content_charset()
    if charset is not None and charset.replace("-", "") != "utf8":
        raise UnsupportedMediaType(f"{expected}: the body is read as UTF-8, not {charset[:50]!r}")


RUNS_QUERY = ("rule", "schedule", "state", "run_status", "since", "until", "limit", "blob", "etag")


def runs_query(params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /api/runs``'s query string as list_runs' arguments; OperationError 400 for unknown or bad ones."""
    unknown = set(params) - set(RUNS_QUERY)
    if unknown:
        raise InvalidInput(f"unknown query parameters: {', '.join(sorted(unknown))}")
    return {**params, "limit": list_limit(params.get("limit", "50"))}


def answer(operation: Callable[[], Answer]) -> Answer:
    """Run an operation; turn what it raises into the status that says what happened, with a JSON reason."""
    try:
        return operation()
    except (TriggerError, AzureError) as error:
        return error_status(error), error_body(error)


def error_status(error: Exception) -> int:
    return next((ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in ERROR_STATUS), 500)


def error_body(error: TriggerError | AzureError) -> dict[str, Any]:
    """What an answer (or the command line) says about ``error``: its reason, and ``retryable`` when trying
    again later may help (the ledger then says failed, retryable)."""
    if isinstance(error, RunPending):  # still failing for now when the deadline came: the record stays open
        return error.fields()
    if isinstance(error, ConfigError):
        return {"error": "the app's configuration is invalid", "problems": [str(p) for p in error.problems]}
    if isinstance(error, AzureError):  # storage or identity unreachable: nothing was decided
        return {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}", "retryable": True}
    return {"error": str(error), "retryable": True} if error.retryable else {"error": str(error)}


def decision_answer(decision: Decision) -> Answer:
    return OUTCOME_STATUS[decision.outcome], decision.fields()


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "a list", int: "a number", bool: "true or false"}
    options = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names.get(option, option.__name__) for option in options)
