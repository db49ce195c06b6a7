"""Azure ML's own word on a run (status, times, error): the GETs a failed run's event and the fallback make."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.clients.aml.aml_client import SubmitError
from shared.clients.aml.history_hosts import HistoryUnknown
from shared.clients.process.services import Services
from shared.core.aml.run_reads import StatusRead, status_read
from shared.core.aml.targets import Target
from shared.core.common.errors import TriggerError
from shared.core.common.redaction import mask_text
from shared.core.ledger.decisions import log_event
from shared.core.ledger.run_status import RunOutcome, moment


def ask_status(services: Services, target: Target, run_id: str, deadline: float,
               about: Mapping[str, Any]) -> RunOutcome | None:
    """Azure ML's own answer on ``run_id`` (status, times, error), or None (logged) when it gives none."""
    read = status_read(target, run_id)
    if read is None:
        log_event(logging.WARNING, problem="the run's status cannot be asked: its target names no workspace", **about)
        return None
    try:
        answer = services.submitter.read_json(read.url, read.scope, deadline)
        outcome = read.outcome(answer, moment(services.clock.now()))
    except (SubmitError, ValueError) as error:
        log_event(logging.WARNING, problem=f"Azure ML gave no status: {error}", **about)
        return None
    if not outcome.terminal or read.v1:
        return outcome
    return _with_times(services, read, target, outcome, deadline, about)


def _with_times(services: Services, read: StatusRead, target: Target, outcome: RunOutcome, deadline: float,
                about: Mapping[str, Any]) -> RunOutcome:
    """An ended v2 job's outcome with run history's times and error (``history_answer``); when they cannot be
    known now, the outcome says why and whether that may pass (``times_pending``: the fallback asks again)."""
    try:
        return read.with_times(outcome, history_answer(services, read, target, deadline),
                               moment(services.clock.now()))
    except (TriggerError, ValueError) as error:
        why, pending = times_problem(error, about)
        return outcome._replace(times_unknown=why, times_pending=pending)


def history_answer(services: Services, read: StatusRead, target: Target, deadline: float) -> Any:
    """Run history's answer on an ended v2 job: one GET on the root the target names, or the one its workspace's
    discovery found (kept per process). HistoryUnknown, SubmitError or ValueError when it gives none."""
    root = read.history_root or services.history_hosts.root(services.submitter, target, deadline)
    return services.submitter.read_json(read.times_url(root), read.scope, deadline)


def times_problem(error: TriggerError | ValueError, about: Mapping[str, Any]) -> tuple[str, bool]:
    """Why run history gave no times (logged) and whether that may pass: a discovery or GET failing for now may,
    a refusal (a host outside the allowlist, a 4xx) or an answer of another shape will not."""
    why = str(error) if isinstance(error, HistoryUnknown) else f"run history gave none: {mask_text(str(error))}"
    pending = isinstance(error, TriggerError) and error.retryable
    log_event(logging.WARNING, problem=f"the ended job's times are unknown: {why}"
              + (" (run history is asked again later)" if pending else ""), **about)
    return why, pending
