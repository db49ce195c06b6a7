"""The exactly-once protocol every flow runs, once: claim, then duplicate | skip or reject | submit, then settle.

Blob events, timer ticks, manual runs, retries and the sweep differ only in the RunRequest they build
(``shared.core.runs.run_requests``); ``execute`` is the protocol around the POST.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients.aml.aml_client import SubmitError
from shared.clients.blobs.blob_data import choose_data, with_listed_files
from shared.clients.blobs.stamps import stamp_outcome
from shared.clients.ledger.ledger_claims import Claim, ClaimBusyError, ClaimLostError, Duplicate
from shared.clients.process.services import Services
from shared.core.aml.run_lookup import run_lookup
from shared.core.ledger.decisions import Decision, Outcome, log_decision, log_event
from shared.core.ledger.ledger_record import RunState
from shared.core.ledger.run_limits import RunLimit, superseded_reason, waiting_reason
from shared.core.ledger.subjects import subject_json
from shared.core.runs.run_requests import BlobVersion, DataClaim, RunRequest, disabled_reason, occurrence_of, used_by
from shared.flows.runs.run_gates import free_slot, read_gate, supersede, take_slot


def execute(request: RunRequest, services: Services, deadline: float) -> Decision:
    """Start ``request``'s run unless its key was already handled; every outcome logged and recorded.

    Failed for now (Azure ML, or a claim busy past ``deadline``): raises the retryable error for the host, the
    record left open for whoever comes next. A schedule's data is chosen only once its occurrence is claimed.
    Once the outcome is settled, the blob version it is about is stamped with it (index tags; never fails it).
    """
    decision = _settled(request, services, deadline)
    stamp_outcome(services.watched, decision)
    return decision


def _settled(request: RunRequest, services: Services, deadline: float) -> Decision:
    try:
        claimed = services.ledger.claim(request.namespace, request.key, request.subject, deadline)
    except ClaimBusyError as error:
        log_decision(Decision(Outcome.FAILED, reason=f"claim busy: {error}", retryable=True, **request.about))
        raise
    if isinstance(claimed, Duplicate):
        record = claimed.entry
        return log_decision(Decision(Outcome.DUPLICATE, state=record.state, run_id=record.run_id,
                                     reason="already handled; no POST", **request.about))
    step = _Step(services, claimed, deadline, request.about)
    if request.disabled:
        return step.settle_without_run(Outcome.SKIPPED, disabled_reason(str(request.about["rule"])), disabled=True)
    if request.data_source is not None:
        version = choose_data(request.data_source, services.watched)
        if isinstance(version, str):
            return step.settle_without_run(Outcome.SKIPPED, version)
        request = request.with_data(version)
        step.about = request.about
    request = with_listed_files(request, services.watched)  # a manifest's files, read once it is claimed
    problem = request.problem()
    if problem:
        return step.settle_without_run(Outcome.REJECTED, problem)
    if request.limit is None:
        return _submitted(step, request)
    waited = _wait_for_slot(step, request, request.limit)
    if waited is not None:
        return waited
    decision = _submitted(step, request)
    if decision.outcome is not Outcome.SUBMITTED:  # refused for good, or its data already used: no run holds it
        free_slot(services, request.namespace, request.record_name)
    return decision


def _submitted(step: _Step, request: RunRequest) -> Decision:
    data_claim = request.data_claim
    if data_claim is None:
        return step.submit(request)
    assert request.data is not None, "a data claim is on chosen data"
    return _submit_on_new_data(step, request, request.data, data_claim)


def _wait_for_slot(step: _Step, request: RunRequest, limit: RunLimit) -> Decision | None:
    """None when the run may start (it holds a slot at its rule's gate); else the waiting record's decision, or
    the superseded one's (policy latest, a newer trigger already waits). A failure for now that kept its slot
    finds it again on its retry."""
    since = step.claim.entry.first_claimed_at or step.claim.entry.claimed_at or ""
    admission = take_slot(step.services, request.namespace, request.record_name, limit, since)
    if admission.go:
        return None
    if request.record_name in admission.superseded:
        return step.settle_without_run(Outcome.SKIPPED, superseded_reason(str(admission.kept)), superseded=True)
    owner = str(request.about.get("rule") or request.about.get("schedule"))
    decision = step.settle_without_run(Outcome.WAITING, waiting_reason(limit, owner, admission),
                                       waiting={"position": admission.position, "max_active_runs": limit.most,
                                                "policy": limit.policy})
    gate = read_gate(step.services, request.namespace)
    if not gate.names(request.record_name):  # a newer trigger superseded it while its record was still claimed
        supersede(step.services, request.record_name,
                  newer=gate.waiting[0].record if gate.waiting else "a newer trigger")
    return decision


def _submit_on_new_data(step: _Step, request: RunRequest, version: BlobVersion, data_claim: DataClaim) -> Decision:
    """Submit only if no other occurrence's run used this data version: the data's own claim decides, and is
    settled with the run's outcome (a failure leaves the data free for a later occurrence)."""
    ledger = step.services.ledger
    # Not from memory: a failed run's data is released by whichever instance hears of the failure.
    claimed = ledger.claim(data_claim.namespace, data_claim.key, data_claim.subject, step.deadline,
                           use_memory=False)
    if isinstance(claimed, Duplicate):
        used = claimed.entry
        return step.settle_without_run(Outcome.SKIPPED, used_by(version, used.subject, used.run_id))
    earlier = _earlier_run(request, data_claim, claimed, step.services, step.deadline)
    if earlier is not None:
        subject = claimed.previous.subject if claimed.previous else None
        ledger.settle(claimed, RunState.SUBMITTED, run_id=earlier, reconciled=True,
                      subject=None if subject is None else subject_json(subject))
        return step.settle_without_run(Outcome.SKIPPED, used_by(version, subject, earlier))
    try:
        decision = step.submit(request)
    except BaseException as error:
        ledger.settle(claimed, RunState.FAILED, retryable=True, reason="the run failed for now",
                      outcome_unknown=getattr(error, "outcome_unknown", None) or None)
        raise
    if decision.outcome is Outcome.SUBMITTED:
        ledger.settle(claimed, RunState.SUBMITTED, run_id=decision.run_id)
    else:  # refused by Azure ML: a later occurrence may use this data once the cause is fixed
        ledger.settle(claimed, RunState.FAILED, retryable=True, reason=decision.reason)
    return decision


def _earlier_run(request: RunRequest, data_claim: DataClaim, claimed: Claim, services: Services,
                 deadline: float) -> str | None:
    """The run an earlier occurrence may have started on this data though no answer told of it (it left the data
    claim open, or failed after an unknown outcome): looked up by that occurrence's key, so the data is not run
    twice. The same occurrence's own claim already looks its key up before posting."""
    earlier = occurrence_of(claimed.previous.subject if claimed.previous else None)
    if claimed.unknown_for is None or earlier is None or earlier == data_claim.occurrence:
        return None
    lookup = run_lookup(request.run.target, request.run.experiment, data_claim.occurrence_key(earlier))
    return None if lookup is None else services.submitter.find(lookup, deadline, unknown_for=claimed.unknown_for)


class _Step:
    """One claimed key: the settling half of the protocol, and the facts every decision about it carries."""

    def __init__(self, services: Services, claim: Claim, deadline: float, about: Mapping[str, Any]):
        self.services = services
        self.claim = claim
        self.deadline = deadline
        self.about = about

    def settle_without_run(self, outcome: Outcome, reason: str, **record: Any) -> Decision:
        """Record a rejection (bad data) or a skip (nothing to run on, a disabled rule): final, never retried; or
        a trigger waiting for a slot (max_active_runs), which its gate starts when a run ends."""
        state = outcome.state
        assert state in (RunState.REJECTED, RunState.SKIPPED, RunState.WAITING), "a rejection, a skip or a wait"
        self._settle(state, reason=reason, **record)
        return log_decision(Decision(outcome, reason=reason, took_over=self._took_over(), **self.about))

    def submit(self, request: RunRequest) -> Decision:
        """POST, then settle: submitted, failed for good (returns), or failed for now (raises for the host)."""
        run = request.run
        try:
            result = self.services.submitter.submit(request.submission(), self.deadline,
                                                    unknown_for=self.claim.unknown_for)
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
        # The settle tags the record open in the same request (LedgerRecord.tags): no marker of its own.
        self._settle(RunState.SUBMITTED, run_id=result.run_id, run_url=run_url, target=run.target.url,
                     experiment=run.experiment, attempts=result.attempts, reconciled=result.reconciled or None,
                     component=result.component,
                     **request.record)
        return decision

    def _settle(self, state: RunState, **outcome: Any) -> None:
        """Write the outcome within the invocation's time (the storage client retries inside that bound); a claim
        taken over meanwhile is reported, not overwritten. A write that fails leaves the claim to expire: its
        next owner looks the key up in Azure ML before posting, so the run is not started twice."""
        try:
            self.services.ledger.settle(self.claim, state,
                                        within=self.deadline + self.services.config.retry.settle_grace
                                        - self.services.clock.monotonic(), **outcome)
        except ClaimLostError:
            log_event(logging.ERROR, problem="claim taken over before it was settled; the new owner's record stands",
                      state=state.value, run_id=outcome.get("run_id"), **self.about)
        except AzureError as error:
            log_event(logging.ERROR, problem=f"outcome not recorded: {type(error).__name__}", state=state.value,
                      run_id=outcome.get("run_id"), **self.about)
            raise

    def _took_over(self) -> bool | None:
        return self.claim.took_over or None
