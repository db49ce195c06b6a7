"""What a run's status changes in the records, pure: each function is one step's change, which the flows in
``shared.flows.outcomes`` apply with one read and one conditional write (``Ledger.update``).

- **observe**: an observation merged into a submitted record (``observed``); the run just ended (``just_ended``)
  gives its one decision (``ended_decision``);
- **release**: an only_if_new_data schedule's data whose run failed or was canceled reopened (``released``);
- **turn**: a waiting record reopened as failed for now (``turn_taken``), then run again by its own trigger;
- **gate**: a slot holder's record judged (``slot_is_free``, ``holder_needs_work``);
- **times**: an ended run whose times were pending given run history's later answer or, past ``TIMES_HORIZON``,
  its final reason (``times_settled``, ``times_given_up``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from shared.core.common.errors import Unavailable
from shared.core.config.config_model import AppConfig
from shared.core.ledger.decisions import Decision, Outcome, log_decision
from shared.core.ledger.keys import blob_version_key, parse_iso, record_name, schedule_data_namespace
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_status import RunOutcome, RunStatus, merged
from shared.core.outcomes.run_events import implausible_time

ENDED = {RunStatus.COMPLETED: Outcome.RUN_COMPLETED, RunStatus.FAILED: Outcome.RUN_FAILED,
         RunStatus.CANCELED: Outcome.RUN_CANCELED}
"""A terminal status and the decision line it is logged as."""


TIMES_HORIZON = timedelta(hours=1)
"""How long after an ended run's end was observed the fallback asks run history again for its times, when they were
pending: an ARM or regional outage of minutes passes well within it, and it bounds the cost (one run-history GET
per pending record per fallback tick: 6 at the default 10-minute tick, then one write that gives up)."""


class RecordNotSettledError(Unavailable):
    """The run's record is still claimed (its submitter has not written the run id yet): the event is retried
    later, never written over a claim its owner is about to settle."""


def observed(record: LedgerRecord, name: str, run_id: str, observation: RunOutcome, now: datetime,
             event_time: str | None) -> LedgerRecord | str:
    """``record`` with ``observation`` of ``run_id`` merged in, or why it is left as it is. An event's time outside
    its run's life (``implausible_time``) is not taken. RecordNotSettledError: the record is still claimed."""
    if record.state == RunState.CLAIMED:
        raise RecordNotSettledError(f"{name} is still claimed: its run {run_id} is not recorded yet")
    if record.state != RunState.SUBMITTED or record.run_id != run_id:
        return f"the record is {record.state} with run {record.run_id}, not run {run_id}"
    implausible = None if event_time is None else implausible_time(
        event_time, record.first_claimed_at or record.claimed_at, now)
    if implausible:
        return f"{implausible}: the event is not taken (the fallback asks Azure ML)"
    return record.with_outcome(merged(record.outcome, observation))


def just_ended(before: LedgerRecord, after: LedgerRecord) -> RunOutcome | None:
    """The run's outcome when this change is the one that made it terminal (else None: in flight, or known)."""
    was, now = before.outcome, after.outcome
    assert now is not None, "a submitted record's update always leaves an outcome"
    return now if now.terminal and (was is None or was.status is not now.status) else None


def ended_decision(ended: RunOutcome, record: LedgerRecord, about: Mapping[str, Any]) -> Decision:
    """The one decision line of a run's end (``run_completed``, ``run_failed`` with Azure ML's error, ...)."""
    error = ended.error or {}
    return log_decision(Decision(ENDED[ended.status], run_status=ended.status.value, reason=error.get("message"),
                                 duration_seconds=ended.duration_seconds, error_code=error.get("code"),
                                 run_url=record.extra.get("run_url"), **about))


def ignored(reason: str, **about: Any) -> Decision:
    """An event or status left aside, logged with its reason and what it was about."""
    return log_decision(Decision(Outcome.IGNORED, reason=reason,
                                 **{name: value for name, value in about.items() if value is not None}))


def data_record(config: AppConfig, schedule: str, record: LedgerRecord) -> str | None:
    """The data record an only_if_new_data schedule's run used (``record.extra['data']``), if it names one."""
    data = record.extra.get("data")
    if not isinstance(data, Mapping) or not data.get("blob") or not data.get("etag"):
        return None
    key = blob_version_key(config.watch_container, str(data["blob"]), str(data["etag"]))
    return record_name(schedule_data_namespace(schedule), key)


def released(claim: LedgerRecord, run_id: str, at: str, reason: str) -> LedgerRecord | None:
    """A data record still naming ``run_id`` as a failure for now, which a later occurrence takes over."""
    if claim.state != RunState.SUBMITTED or claim.run_id != run_id:
        return None
    return claim.reopened(at, reason)


def turn_taken(current: LedgerRecord, at: str, why: str) -> LedgerRecord | None:
    """A waiting record's turn: reopened as failed for now, to be run again (None: it is not waiting)."""
    return current.reopened(at, f"its turn: {why}") if current.state == RunState.WAITING else None


def can_run_again(after: LedgerRecord | None) -> TypeGuard[LedgerRecord]:
    """Whether a record after its turn can be run again: claimed meanwhile, or failed for now."""
    return after is not None and (after.state == RunState.CLAIMED
                                  or (after.state == RunState.FAILED and bool(after.retryable)))


def slot_is_free(record: LedgerRecord) -> bool:
    """A slot holder whose run ended: its slot was left held by a crash."""
    outcome = record.outcome
    return record.state == RunState.SUBMITTED and outcome is not None and outcome.terminal


def holder_needs_work(record: LedgerRecord, now: datetime, claim_expiry: float, margin: float) -> bool:
    """Failed for now, or claimed past its own expiry by this machine's clock at ``now`` (less ``margin`` for the
    difference from storage's, which the claim then judges by)."""
    since = record.claimed_at or record.updated_at
    age = 0.0 if since is None else (now - parse_iso(since)).total_seconds()
    return record.judged(age, claim_expiry, margin).needs_work


def times_settled(record: LedgerRecord, run_id: str, answer: Callable[[RunOutcome], RunOutcome]
                  ) -> LedgerRecord | None:
    """``record``, whose ended run's times are pending, with ``answer`` of its outcome merged in (run history's
    times and error, or a final reason); None when it waits for them no more (settled meanwhile): nothing to
    write."""
    current = record.outcome
    if record.state != RunState.SUBMITTED or record.run_id != run_id or current is None or not current.times_pending:
        return None
    return record.with_outcome(merged(current, answer(current)))


def times_final(current: RunOutcome, why: str) -> RunOutcome:
    """``current`` with its times unknown for good, for ``why``: nothing asks run history again."""
    return current._replace(times_unknown=why, times_pending=False)


def times_given_up(current: RunOutcome, until: str) -> RunOutcome:
    """``current``, whose times were asked again until ``until`` in vain: its last reason made final."""
    return times_final(current, f"{current.times_unknown}; run history was asked again until {until}, in vain")
