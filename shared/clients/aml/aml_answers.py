"""Azure ML's answers, read into what the client acts on: a run id, a page of the run listing, or a Failure that
says whether to try again."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

import requests
from urllib3.exceptions import ConnectTimeoutError

from shared.core.aml.retry import is_retryable_status, retry_after_seconds
from shared.core.aml.run_lookup import RunLookup
from shared.core.common.errors import UnreadableJson
from shared.core.common.json_input import SERVICE_ANSWER, read_json
from shared.core.runs.payloads import SubmitRequest

OUTCOME_UNKNOWN_STATUS = frozenset({500, 502, 503, 504})
"""Answers that may come after the service accepted the run (a gateway or the service failing mid-request)."""
_MAX_ERROR_TEXT = 500
EXISTS_CODES = frozenset({"Immutable", "JobPropertyImmutable"})
"""Inner error codes of Azure ML's answer to a PUT of a job name that exists."""


class Failure(NamedTuple):
    """What went wrong with one attempt, and what the next one needs to know."""

    reason: str
    retryable: bool = False
    """Whether the same request may succeed if tried again; final unless it says so, as errors are."""
    answer: Answer | None = None
    """None when nothing answered: no token, or no answer to the request."""
    retry_after: float | None = None
    """Seconds to wait at least: the answer's Retry-After, or the pause after a failed token request."""
    token_failed: bool = False
    unknown: bool = False
    """The request may have been acted on: sent, and no answer, or a 5xx that may follow acceptance."""


class Answer(NamedTuple):
    """What Azure ML answered a request that failed: its status, the error code and message of its body, and
    its authentication challenge."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    www_authenticate: str | None = None
    """A 401's challenge: the token is refreshed with its claims."""
    job_exists: bool = False
    """The answer says a job of the PUT's name already exists (``existing_job``)."""


def answer_json(response: requests.Response) -> Any:
    """The answer's JSON through the bounded reader (an answer is outside input too); UnreadableJson otherwise."""
    return read_json(response.content, source=f"the answer (HTTP {response.status_code})", limits=SERVICE_ANSWER)


def error_details(response: requests.Response) -> tuple[str | None, str | None]:
    """Azure ML's error code and message from ``{"Error": {"Code", "Message"}}`` (v1) or ``{"error": {...}}``."""
    try:
        document = answer_json(response)
    except UnreadableJson:
        text = response.text.strip()
        return None, text[:_MAX_ERROR_TEXT] or None
    error = document.get("Error") or document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, json.dumps(document)[:_MAX_ERROR_TEXT]
    code = error.get("Code") or error.get("code")
    message = error.get("Message") or error.get("message")
    return (str(code) if code else None), (str(message)[:_MAX_ERROR_TEXT] if message else None)


def existing_job(response: requests.Response, message: str | None) -> bool:
    """Whether Azure ML refused a job's PUT because a job of that name exists: a ``UserError`` "A job with this
    name already exists" with an inner ``Immutable`` / ``JobPropertyImmutable`` (MicrosoftDocs/azure-docs #122250,
    Azure/azure-sdk-for-python #47389). Its status is not documented: 400 is inferred (azure-ai-ml raises a plain
    HttpResponseError, not the ResourceExistsError a 409 gives), so 409 is taken too."""
    if response.status_code not in (400, 409):
        return False
    return "already exists" in (message or "").lower() or bool(EXISTS_CODES & _inner_codes(response))


def _inner_codes(response: requests.Response) -> set[str]:
    """The codes of an ARM error's ``innerError`` chain (bounded: the reader limits the depth)."""
    try:
        error = answer_json(response).get("error")
    except (UnreadableJson, AttributeError):
        return set()
    codes: set[str] = set()
    while isinstance(error, dict):
        error = error.get("innerError") or error.get("innererror")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            codes.add(error["code"])
    return codes


def refusal(response: requests.Response, now: datetime) -> Failure:
    """A failed answer: why, whether to try again (and when at the earliest), whether it may have started a run."""
    code, message = error_details(response)
    reason = f"Azure ML answered {response.status_code}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
    return Failure(
        reason,
        retryable=is_retryable_status(response.status_code),
        answer=Answer(response.status_code, code, message, response.headers.get("WWW-Authenticate"),
                      job_exists=existing_job(response, message)),
        retry_after=retry_after_seconds(response.headers.get("Retry-After"), now),
        unknown=response.status_code in OUTCOME_UNKNOWN_STATUS,
    )


def never_sent(error: requests.RequestException) -> bool:
    """Whether the request surely never reached the server: no connection was made (refused, DNS, connect
    timeout). A read timeout or a connection closed after sending may follow acceptance."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, ConnectTimeoutError)


def run_id_of(request: SubmitRequest, response: requests.Response) -> str | Failure:
    """The id of the run a successful submission started, from where ``request`` says it comes back."""
    try:
        document = answer_json(response)
    except UnreadableJson:
        document = None
    found = document.get(request.run_id_field) if isinstance(document, dict) else None
    if not isinstance(found, str) or not found:
        return Failure(f"Azure ML answered {response.status_code} without a run id in {request.run_id_field!r}",
                       answer=Answer(response.status_code))
    return found


def json_of(response: requests.Response) -> Any:
    """A GET's JSON answer (a run's status), or why there is none."""
    try:
        return answer_json(response)
    except UnreadableJson:
        return Failure(f"Azure ML answered {response.status_code} with no JSON", answer=Answer(response.status_code))


def page_of(lookup: RunLookup, response: requests.Response) -> tuple[list[str], str | None] | Failure:
    """One page of the run listing: the runs carrying the key, and the next page's token."""
    try:
        return lookup.read(answer_json(response))
    except (UnreadableJson, ValueError) as error:
        return Failure(f"Azure ML's run listing answered {response.status_code} with {error}",
                       answer=Answer(response.status_code))


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:_MAX_ERROR_TEXT] if text else type(error).__name__
