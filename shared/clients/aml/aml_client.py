"""POST a submission to Azure ML with a bearer token, retrying transient failures within a deadline."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import requests
from azure.core.exceptions import AzureError

from shared.clients.aml.aml_answers import Answer, Failure, first_line, json_of, never_sent, page_of, refusal, run_id_of
from shared.clients.common.auth import TokenProvider
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.core.aml.retry import next_delay
from shared.core.aml.run_lookup import MAX_PAGES, RunLookup
from shared.core.common.errors import Refused, TriggerError, Unavailable
from shared.core.config.config_model import RetrySettings
from shared.core.runs.payloads import JSON_HEADERS, ExistingJob, LatestComponent, SubmitRequest, adopted_component

CONNECT_TIMEOUT = 10.0
LOOKUP_POLL_SECONDS = 1.0
"""Pause between two listings while a run may still be on its way into Azure ML's listing."""
TOKEN_RETRY_AFTER = 5.0
"""MSAL serves a managed-identity endpoint's 5xx from its cache for 5 s: a token retry sooner cannot succeed."""


class SubmitResult(NamedTuple):
    run_id: str
    attempts: int
    reconciled: bool = False
    """The run was found in Azure ML's listing after an unknown outcome, not learnt from a POST's answer."""
    component: str | None = None
    """A pipeline job's component version (``azureml:<name>:<version>``): the one its body named, or the adopted
    job's own."""


class SubmitError(TriggerError):
    """Azure ML did not start the run. ``retryable`` says whether trying the same event again may help."""

    def __init__(self, reason: str, *, attempts: int, answer: Answer | None = None, outcome_unknown: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        answer = answer or Answer()
        self.status, self.code, self.message = answer.status, answer.code, answer.message
        """What Azure ML answered the last attempt, when it answered."""
        self.job_exists = answer.job_exists
        self.outcome_unknown = outcome_unknown
        """An attempt may have started a run no answer told of: the next owner looks the key up first."""


class PermanentSubmitError(SubmitError, Refused):
    """A 4xx (other than 408/429) or a malformed answer: the request itself is wrong; retrying cannot help."""


class TransientSubmitError(SubmitError, Unavailable):
    """Retries ran out (attempts or deadline) on failures that may pass: the host's retry takes over."""


class PipelineSubmitter:
    """Sends SubmitRequests: token from managed identity, retries with full-jitter backoff and Retry-After.

    After an attempt whose outcome is unknown (the request may have reached Azure ML) it looks the key up in
    Azure ML's listing until ``listing_delay`` has passed, and adopts a run it finds instead of posting again.
    """

    def __init__(
        self,
        tokens: TokenProvider,
        retry: RetrySettings,
        *,
        session: requests.Session | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random_unit: Callable[[], float] = random.random,
    ):
        self._tokens = tokens
        self._retry = retry
        self._session = session or requests.Session()
        self._clock = clock
        self._random = random_unit

    def within(self, retry: RetrySettings) -> PipelineSubmitter:
        """This client (its tokens, session and clock) under another path's deadline and attempt timeout."""
        return PipelineSubmitter(self._tokens, retry, session=self._session, clock=self._clock,
                                 random_unit=self._random)

    def submit(self, request: SubmitRequest, deadline: float, *, unknown_for: float | None = None) -> SubmitResult:
        """POST once, or more while failures are transient and ``deadline`` (monotonic) allows.

        An attempt starts only when a whole attempt (``attempt_timeout``) fits before the deadline, and its
        timeout is never cut short: a POST given up early may still start a run the client never hears of.
        ``unknown_for``: seconds since an earlier owner's attempt may have started a run; look it up first.
        A pipeline job's ``@latest`` component is resolved first (one GET).
        """
        if request.latest is not None:
            request = request.latest.resolved(request, self._newest_version(request.latest, request.scope, deadline))
        body = json.dumps(request.body, ensure_ascii=False).encode("utf-8")
        call = _Call(request.scope, functools.partial(self._send, request.method, request.url, body, request.headers),
                     lambda response: run_id_of(request, response), request.success_statuses, stop_when_unknown=True)
        attempts = 0
        unknown_since = None if unknown_for is None else self._clock.monotonic() - unknown_for
        try:
            while True:
                if unknown_since is not None and request.lookup is not None:
                    found = self._look_up(request.lookup, deadline, unknown_since + self._retry.listing_delay,
                                          attempts)
                    if found:
                        return SubmitResult(run_id=found, attempts=attempts, reconciled=True)
                outcome, attempts = self._retrying(call, deadline, attempts)
                if isinstance(outcome, str):
                    return SubmitResult(run_id=outcome, attempts=attempts, component=request.component)
                unknown_since = self._clock.monotonic()  # the listing delay counts from the unanswered attempt's end
        except SubmitError as error:
            if error.job_exists and request.existing is not None:
                return self._adopt(request.existing, request.scope, deadline, error.attempts)
            error.outcome_unknown = error.outcome_unknown or unknown_since is not None
            raise

    def _adopt(self, existing: ExistingJob, scope: str, deadline: float, attempts: int) -> SubmitResult:
        """The job a PUT's name already names, read with one GET: an earlier PUT of the same key created it (its
        answer lost, or another process's), so it is this trigger's run, on the component version that PUT
        named (an ``@latest`` resolved again since does not change it); a job without the key is not adopted."""
        job = self.read_json(existing.url, scope, deadline)
        name = existing.adopted(job)
        if name is None:
            raise PermanentSubmitError(
                f"a job of this name already exists but does not carry this trigger's key {existing.key!r}: not "
                "adopted", attempts=attempts)
        return SubmitResult(run_id=name, attempts=attempts, reconciled=True, component=adopted_component(job))

    def _newest_version(self, latest: LatestComponent, scope: str, deadline: float) -> str:
        """The version ``azureml:<name>@latest`` names now, read with one GET; a PermanentSubmitError naming the
        component when the workspace holds none."""
        try:
            version = latest.version(self.read_json(latest.url, scope, deadline))
        except SubmitError as error:
            raise _while(error, f"resolving azureml:{latest.name}@latest") from None
        if version is None:
            raise PermanentSubmitError(
                f"component azureml:{latest.name}@latest resolves to nothing: the workspace lists no version of "
                f"component {latest.name!r} (register one, or pin a version: azureml:{latest.name}:<version>)",
                attempts=0)
        return version

    def find(self, lookup: RunLookup, deadline: float, *, unknown_for: float) -> str | None:
        """A run carrying ``lookup``'s key, looked for until the listing delay since an attempt that may have
        started it (``unknown_for`` seconds ago) has passed; never a POST."""
        return self._look_up(lookup, deadline, self._clock.monotonic() - unknown_for + self._retry.listing_delay, 0)

    def read_json(self, url: str, scope: str | None, deadline: float) -> Any:
        """One GET's JSON answer (a run's status), with submission's token, retries, deadline and timeouts; the URL
        is derived from a validated target. ``scope`` None: no token (the workspace's discovery document, which
        azureml-core reads without one). SubmitError when Azure ML will not answer."""
        call = _Call(scope, functools.partial(self._send, "GET", url, None, {}),
                     json_of, (200,))
        return self._retrying(call, deadline, 0)[0]

    def _look_up(self, lookup: RunLookup, deadline: float, until: float, attempts: int) -> str | None:
        """A run carrying the key, looking again until ``until`` (the listing delay after the unknown attempt)."""
        while True:
            found = self._query(lookup, deadline)
            remaining = until - self._clock.monotonic()
            if found or remaining <= 0:
                return found
            pause = min(LOOKUP_POLL_SECONDS, remaining)
            if deadline - self._clock.monotonic() - pause < self._retry.attempt_timeout:
                raise TransientSubmitError(
                    f"gave up after {attempts} attempt{'s' * (attempts != 1)} (deadline reached): the outcome is "
                    "unknown and no run carrying the key is listed yet", attempts=attempts)
            self._clock.sleep(pause)

    def _query(self, lookup: RunLookup, deadline: float) -> str | None:
        """One listing of runs carrying the key, page after page until one is found: the run to adopt."""
        continuation = None
        for _ in range(MAX_PAGES):
            page = lookup.page(continuation)
            data = None if page.body is None else json.dumps(page.body).encode("utf-8")
            headers = JSON_HEADERS if data is not None else {}
            call = _Call(lookup.scope, functools.partial(self._send, page.method, page.url, data, headers),
                         lambda response: page_of(lookup, response), (200,))
            try:
                (runs, continuation), _ = self._retrying(call, deadline, 0)
            except SubmitError as error:
                raise _while(error, "looking the run up in Azure ML's listing") from None
            if runs or not continuation:
                return runs[0] if runs else None
        return None

    def _retrying(self, call: _Call, deadline: float, attempt: int) -> tuple[Any, int]:
        """Attempts of ``call`` until one succeeds (its value), or, with ``stop_when_unknown``, one may have reached
        Azure ML unanswered (the failure); raises SubmitError when retries are over. Also the attempt count."""
        refreshed, challenge = False, None
        while True:
            if deadline - self._clock.monotonic() < self._retry.attempt_timeout:
                raise TransientSubmitError(
                    f"no time left for an attempt before the deadline (after {attempt} attempt"
                    f"{'s' * (attempt != 1)})", attempts=attempt)
            attempt += 1
            outcome = self._try_once(call, challenge)
            if not (isinstance(outcome, Failure) and outcome.token_failed):
                challenge = None  # a refresh stays pending until a token was actually fetched
            if not isinstance(outcome, Failure):
                return outcome, attempt
            if outcome.answer is not None and outcome.answer.status == 401 and not refreshed:
                refreshed, challenge = True, outcome.answer.www_authenticate or ""
                continue
            if not outcome.retryable:
                raise PermanentSubmitError(outcome.reason, attempts=attempt, answer=outcome.answer)
            delay = next_delay(attempt, self._retry.base_delay, self._retry.max_delay, outcome.retry_after,
                               self._random)
            out_of_attempts = attempt >= self._retry.max_attempts
            if out_of_attempts or delay + self._retry.attempt_timeout > deadline - self._clock.monotonic():
                raise TransientSubmitError(
                    f"gave up after {attempt} attempt{'s' * (attempt != 1)} "
                    f"({'attempts' if out_of_attempts else 'deadline'} reached); last failure: {outcome.reason}",
                    attempts=attempt, answer=outcome.answer,
                    outcome_unknown=outcome.unknown and call.stop_when_unknown,  # the last POST may have started it
                )
            if outcome.unknown and call.stop_when_unknown:
                return outcome, attempt  # the caller looks the key up, which takes longer than the backoff
            self._clock.sleep(delay)

    def _try_once(self, call: _Call, challenge: str | None) -> Any:
        """One request: what ``call.accept`` reads from its answer, or what went wrong and whether to try again."""
        try:
            token = self._token(call.scope, challenge)
        except AzureError as error:  # authentication refused, identity endpoint unreachable or failing
            return Failure(f"no token for {call.scope}: {first_line(error)}", retryable=True, token_failed=True,
                            retry_after=TOKEN_RETRY_AFTER)
        try:
            response = call.send(token)
        except requests.RequestException as error:
            return Failure(f"{type(error).__name__}: {first_line(error)}", retryable=True,
                            unknown=not never_sent(error))
        if response.status_code in call.success_statuses:
            return call.accept(response)
        return refusal(response, self._clock.now())

    def _token(self, scope: str | None, challenge: str | None) -> str | None:
        """The bearer token for ``scope``, fetched again after a 401's challenge; none for a request without one."""
        if scope is None:
            return None
        return self._tokens.bearer(scope) if challenge is None else self._tokens.refresh(scope, challenge)

    def _send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
              token: str | None) -> requests.Response:
        timeout = self._retry.attempt_timeout
        headers = {**headers, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self._session.request(method, url, data=body, headers=headers, allow_redirects=False,
                                     timeout=(min(CONNECT_TIMEOUT, timeout), timeout))


def _while(error: SubmitError, doing: str) -> SubmitError:
    """``error`` saying what the client was doing when it happened (a read before or instead of a submission)."""
    error.reason = f"{doing}: {error.reason}"
    error.args = (error.reason,)
    return error


class _Call(NamedTuple):
    """One kind of request to retry: its token scope, how to send it, how to read a successful answer."""

    scope: str | None
    """None: sent without a token."""
    send: Callable[[str | None], requests.Response]
    accept: Callable[[requests.Response], Any]
    success_statuses: tuple[int, ...]
    stop_when_unknown: bool = False
    """A POST is not repeated blindly after an unknown outcome: the caller looks the key up first."""
