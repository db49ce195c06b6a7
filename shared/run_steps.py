"""The steps every trigger takes once it knows its key: claim, then reject, skip or submit, then settle.

Blob events and timer ticks differ only in how they find the key, the data and the tags; these steps are the
exactly-once protocol around the POST, so they exist once.
"""

from __future__ import annotations

from typing import Any

from shared.aml_client import SubmitError
from shared.config import RunSpec
from shared.decisions import Decision, Outcome, log_decision
from shared.ledger import Claim, ClaimBusyError, Duplicate, RunState
from shared.payloads import SubmitRequest
from shared.services import Services


class Step:
    """One trigger's claim on one key, and the facts every decision about it carries."""

    def __init__(self, services: Services, namespace: str, key: str, about: dict[str, Any]):
        self.services = services
        self.namespace = namespace
        self.key = key
        self.about = about
        self.claim: Claim | None = None

    def claim_or_duplicate(self, subject: dict[str, Any], deadline: float) -> Decision | None:
        """Claim the key; a Decision when there is nothing more to do (already handled), else None."""
        try:
            claimed = self.services.ledger.claim(self.namespace, self.key, subject, deadline)
        except ClaimBusyError as error:
            log_decision(Decision(Outcome.FAILED, reason=f"claim busy: {error}", retryable=True, **self.about))
            raise
        if isinstance(claimed, Duplicate):
            record = claimed.record
            return log_decision(Decision(Outcome.DUPLICATE, state=record.get("state"), run_id=record.get("run_id"),
                                         reason="already handled; no POST", **self.about))
        self.claim = claimed
        return None

    def settle_without_run(self, outcome: Outcome, reason: str) -> Decision:
        """Record a rejection (bad data) or a skip (nothing to run on): final, never retried."""
        state = RunState.REJECTED if outcome is Outcome.REJECTED else RunState.SKIPPED
        self.services.ledger.settle(self._claim(), state, reason=reason)
        return log_decision(Decision(outcome, reason=reason, took_over=self._took_over(), **self.about))

    def submit(self, run: RunSpec, request: SubmitRequest, deadline: float, **record: Any) -> Decision:
        """POST, then settle: submitted, failed for good (returns), or failed for now (raises for the host)."""
        claim = self._claim()
        try:
            result = self.services.submitter.submit(request, deadline)
        except SubmitError as error:
            self.services.ledger.settle(
                claim, RunState.FAILED, reason=error.reason, attempts=error.attempts, retryable=error.retryable,
                error={"status": error.status, "code": error.code, "message": error.message},
            )
            decision = log_decision(Decision(
                Outcome.FAILED, reason=error.reason, attempts=error.attempts, status=error.status,
                error_code=error.code, retryable=error.retryable, took_over=self._took_over(), **self.about,
            ))
            if error.retryable:
                raise  # the host retries the event, then parks it as poison: nothing is lost
            return decision
        run_url = run.target.run_link(result.run_id)
        self.services.ledger.settle(claim, RunState.SUBMITTED, run_id=result.run_id, run_url=run_url,
                                    target=run.target.url, experiment=run.experiment, attempts=result.attempts,
                                    **record)
        return log_decision(Decision(Outcome.SUBMITTED, run_id=result.run_id, run_url=run_url,
                                     attempts=result.attempts, took_over=self._took_over(), **self.about))

    def _claim(self) -> Claim:
        assert self.claim is not None, "claim_or_duplicate() first"
        return self.claim

    def _took_over(self) -> bool | None:
        return self._claim().took_over or None


RETRY_LATER = (SubmitError, ClaimBusyError)
"""What a trigger re-raises after its other work is done, so the host delivers the event again."""
