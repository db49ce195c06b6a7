"""POST a submission to Azure ML with a bearer token, retrying transient failures within a deadline."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import requests
from azure.core.exceptions import AzureError

from shared.auth import TokenProvider
from shared.config import RetrySettings
from shared.payloads import SubmitRequest
from shared.retry import is_retryable_status, next_delay, retry_after_seconds

CONNECT_TIMEOUT = 10.0
TOKEN_RETRY_AFTER = 5.0
"""MSAL serves a managed-identity endpoint's 5xx from its cache for 5 s: a token retry sooner cannot succeed."""
_MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class SubmitResult:
    run_id: str
    attempts: int


class SubmitError(Exception):
    """Azure ML did not start the run. ``retryable`` says whether trying the same event again may help."""

    retryable = False

    def __init__(self, reason: str, *, attempts: int, status: int | None = None,
                 code: str | None = None, message: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.status = status
        self.code = code
        self.message = message


class PermanentSubmitError(SubmitError):
    """A 4xx (other than 408/429) or a malformed answer: the request itself is wrong; retrying cannot help."""


class TransientSubmitError(SubmitError):
    """Retries ran out (attempts or deadline) on failures that may pass: the host's retry takes over."""

    retryable = True


def error_details(response: requests.Response) -> tuple[str | None, str | None]:
    """Azure ML's error code and message from ``{"Error": {"Code", "Message"}}`` (v1) or ``{"error": {...}}``."""
    try:
        document = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:_MAX_ERROR_TEXT] or None
    error = document.get("Error") or document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, json.dumps(document)[:_MAX_ERROR_TEXT]
    code = error.get("Code") or error.get("code")
    message = error.get("Message") or error.get("message")
    return (str(code) if code else None), (str(message)[:_MAX_ERROR_TEXT] if message else None)


class PipelineSubmitter:
    """Sends SubmitRequests: token from managed identity, retries with full-jitter backoff and Retry-After."""

    def __init__(
        self,
        tokens: TokenProvider,
        retry: RetrySettings,
        *,
        session: requests.Session | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random_unit: Callable[[], float] = random.random,
    ):
        self._tokens = tokens
        self._retry = retry
        self._session = session or requests.Session()
        self._monotonic = monotonic
        self._sleep = sleep
        self._random = random_unit

    def submit(self, request: SubmitRequest, deadline: float) -> SubmitResult:
        """POST once, or more while failures are transient and ``deadline`` (monotonic) allows.

        An attempt starts only when a whole attempt (``attempt_timeout``) fits before the deadline, and its
        timeout is never cut short: a POST given up early may still start a run the client never hears of.
        """
        body = json.dumps(request.body, ensure_ascii=False).encode("utf-8")
        attempt, refreshed, challenge = 0, False, None
        while True:
            if deadline - self._monotonic() < self._retry.attempt_timeout:
                raise TransientSubmitError(
                    f"no time left for an attempt before the deadline (after {attempt} attempt"
                    f"{'s' * (attempt != 1)})", attempts=attempt)
            attempt += 1
            outcome = self._try_once(request, body, challenge)
            if not (isinstance(outcome, _Failure) and outcome.token_failed):
                challenge = None  # a refresh stays pending until a token was actually fetched
            if isinstance(outcome, str):
                return SubmitResult(run_id=outcome, attempts=attempt)
            if outcome.status == 401 and not refreshed:
                refreshed, challenge = True, outcome.www_authenticate or ""
                continue
            if not outcome.retryable:
                raise PermanentSubmitError(outcome.reason, attempts=attempt, status=outcome.status,
                                           code=outcome.code, message=outcome.message)
            delay = next_delay(attempt, self._retry.base_delay, self._retry.max_delay, outcome.retry_after,
                               self._random)
            out_of_attempts = attempt >= self._retry.max_attempts
            if out_of_attempts or delay + self._retry.attempt_timeout > deadline - self._monotonic():
                raise TransientSubmitError(
                    f"gave up after {attempt} attempt{'s' * (attempt != 1)} "
                    f"({'attempts' if out_of_attempts else 'deadline'} reached); last failure: {outcome.reason}",
                    attempts=attempt, status=outcome.status, code=outcome.code, message=outcome.message,
                )
            self._sleep(delay)

    def _try_once(self, request: SubmitRequest, body: bytes, challenge: str | None) -> str | _Failure:
        """One POST: the run id, or what went wrong and whether it is worth another try."""
        try:
            token = self._tokens.bearer(request.scope) if challenge is None else self._tokens.refresh(
                request.scope, challenge)
        except AzureError as error:  # authentication refused, identity endpoint unreachable or failing
            return _Failure(f"no token for {request.scope}: {_first_line(error)}", retryable=True, token_failed=True,
                            retry_after=TOKEN_RETRY_AFTER)
        try:
            response = self._post(request, body, token)
        except requests.RequestException as error:
            return _Failure(f"{type(error).__name__}: {_first_line(error)}", retryable=True)
        if response.status_code in request.success_statuses:
            return _run_id(request, response)
        code, message = error_details(response)
        reason = f"Azure ML answered {response.status_code}" + (f" {code}" if code else "") + (
            f": {message}" if message else "")
        return _Failure(
            reason,
            retryable=is_retryable_status(response.status_code),
            status=response.status_code, code=code, message=message,
            retry_after=retry_after_seconds(response.headers.get("Retry-After"), datetime.now(timezone.utc)),
            www_authenticate=response.headers.get("WWW-Authenticate"),
        )

    def _post(self, request: SubmitRequest, body: bytes, token: str) -> requests.Response:
        headers = {**request.headers, "Authorization": f"Bearer {token}", "Accept": "application/json"}
        timeout = self._retry.attempt_timeout
        return self._session.post(request.url, data=body, headers=headers, allow_redirects=False,
                                  timeout=(min(CONNECT_TIMEOUT, timeout), timeout))


@dataclass(frozen=True)
class _Failure:
    reason: str
    retryable: bool
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    www_authenticate: str | None = None
    token_failed: bool = False


def _run_id(request: SubmitRequest, response: requests.Response) -> str | _Failure:
    try:
        document = response.json()
    except ValueError:
        document = None
    run_id = document.get(request.run_id_field) if isinstance(document, dict) else None
    if not isinstance(run_id, str) or not run_id:
        return _Failure(f"Azure ML answered {response.status_code} without a run id in {request.run_id_field!r}",
                        retryable=False, status=response.status_code)
    return run_id


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:_MAX_ERROR_TEXT] if text else type(error).__name__
