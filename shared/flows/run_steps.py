"""The steps every trigger takes once it knows its key: claim, then reject, skip or submit, then settle.

Blob events and timer ticks differ only in how they find the key, the data and the tags; these steps are the
exactly-once protocol around the POST, so they exist once.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients.aml_client import SubmitError
from shared.clients.ledger import Claim, ClaimBusyError, ClaimLostError, Duplicate, RunState
from shared.clients.services import Services
from shared.rules.config_model import RunSpec
from shared.rules.decisions import Decision, Outcome, log_decision, log_event
from shared.rules.payloads import SubmitRequest

SETTLE_GRACE = 20.0
"""Seconds past the invocation's deadline an outcome may take to be written: load checks keep the deadline 30 s
before functionTimeout, so the host never kills an invocation that is still writing its record."""


class Step:
    """One trigger's claim on one key, and the facts every decision about it carries."""

    def __init__(self, services: Services, namespace: str, key: str, about: dict[str, Any]):
        self.services = services
        self.namespace = namespace
        self.key = key
        self.about = about
        self.claim: Claim | None = None
        self.deadline: float | None = None

    def claim_or_duplicate(self, subject: dict[str, Any], deadline: float) -> Decision | None:
        """Claim the key; a Decision when there is nothing more to do (already handled), else None."""
        self.deadline = deadline
        try:
            claimed = self.services.ledger.claim(self.namespace, self.key, subject, deadline)
        except ClaimBusyError as error:
            log_decision(Decision(Outcome.FAILED, reason=f"claim busy: {error}", retryable=True, **self.about))
            raise
        if isinstance(claimed, Duplicate):
            record = claimed.entry
            return log_decision(Decision(Outcome.DUPLICATE, state=record.state, run_id=record.run_id,
                                         reason="already handled; no POST", **self.about))
        self.claim = claimed
        return None

    def settle_without_run(self, outcome: Outcome, reason: str) -> Decision:
        """Record a rejection (bad data) or a skip (nothing to run on): final, never retried."""
        state = outcome.state
        assert state in (RunState.REJECTED, RunState.SKIPPED), "a rejection or a skip"
        self._settle(state, reason=reason)
        return log_decision(Decision(outcome, reason=reason, took_over=self._took_over(), **self.about))

    def submit(self, run: RunSpec, request: SubmitRequest, deadline: float, **record: Any) -> Decision:
        """POST, then settle: submitted, failed for good (returns), or failed for now (raises for the host)."""
        try:
            result = self.services.submitter.submit(request, deadline, unknown_for=self._claim().unknown_for)
        except SubmitError as error:
            self._settle(RunState.FAILED, reason=error.reason, attempts=error.attempts, retryable=error.retryable,
                         outcome_unknown=error.outcome_unknown or None,
                         error={"status": error.status, "code": error.code, "message": error.message})
            decision = log_decision(Decision(
                Outcome.FAILED, reason=error.reason, attempts=error.attempts, status=error.status,
                error_code=error.code, retryable=error.retryable, took_over=self._took_over(), **self.about,
            ))
            if error.retryable:
                raise  # the host retries the event, then parks it as poison: nothing is lost
            return decision
        except Exception as error:  # an SDK surprise or a bug: never leave the claim hanging until it expires
            reason = f"unexpected {type(error).__name__}: {error}"
            # Nothing was learnt: a POST may have left first, or an earlier owner's may have; the next owner looks.
            self._settle(RunState.FAILED, reason=reason, retryable=True, outcome_unknown=True)
            log_decision(Decision(Outcome.FAILED, reason=reason, retryable=True, **self.about))
            raise
        run_url = run.target.run_link(result.run_id)
        # Logged before it is recorded: whatever happens to the ledger write, the run id is never lost.
        decision = log_decision(Decision(Outcome.SUBMITTED, run_id=result.run_id, run_url=run_url,
                                         attempts=result.attempts, took_over=self._took_over(),
                                         reconciled=result.reconciled or None, **self.about))
        self._settle(RunState.SUBMITTED, run_id=result.run_id, run_url=run_url, target=run.target.url,
                     experiment=run.experiment, attempts=result.attempts, reconciled=result.reconciled or None,
                     **record)
        return decision

    def _settle(self, state: RunState, **outcome: Any) -> None:
        """Write the outcome within the invocation's time (the storage client retries inside that bound); a claim
        taken over meanwhile is reported, not overwritten. A write that fails leaves the claim to expire: its
        next owner looks the key up in Azure ML before posting, so the run is not started twice."""
        assert self.deadline is not None, "claim_or_duplicate() first"
        try:
            self.services.ledger.settle(self._claim(), state,
                                        within=self.deadline + SETTLE_GRACE - self.services.monotonic(), **outcome)
        except ClaimLostError:
            log_event(logging.ERROR, problem="claim taken over before it was settled; the new owner's record stands",
                      state=state.value, run_id=outcome.get("run_id"), **self.about)
        except AzureError as error:
            log_event(logging.ERROR, problem=f"outcome not recorded: {type(error).__name__}", state=state.value,
                      run_id=outcome.get("run_id"), **self.about)
            raise

    def _claim(self) -> Claim:
        assert self.claim is not None, "claim_or_duplicate() first"
        return self.claim

    def _took_over(self) -> bool | None:
        return self._claim().took_over or None
