"""Azure ML's own word on a run (status, times, error): the GETs a failed run's event and the fallback make."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from shared.clients.aml.aml_client import SubmitError
from shared.clients.process.services import Services
from shared.core.aml.run_reads import status_read
from shared.core.aml.targets import Target
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
    if outcome.terminal and read.times_unknown is not None:
        return replace(outcome, times_unknown=read.times_unknown)
    if not outcome.terminal or read.times_url is None:
        return outcome
    try:  # a v2 job ended: its times (and error) are run history's, one GET more
        return read.with_times(outcome, services.submitter.read_json(read.times_url, read.scope, deadline),
                               moment(services.clock.now()))
    except (SubmitError, ValueError) as error:
        log_event(logging.WARNING, problem=f"the ended job's times are unknown: run history gave none: {error}",
                  **about)
        return outcome
