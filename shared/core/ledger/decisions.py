"""One structured log line per decision, readable by people and kept as dimensions by Application Insights.

The message is a compact JSON object (``parse_json(message)`` in KQL); the same fields ride on the log record
as attributes, which the OpenTelemetry exporter turns into ``customDimensions``.
"""

from __future__ import annotations

import enum
import json
import logging
from typing import NamedTuple

from shared.core.common.redaction import mask_text
from shared.core.ledger.ledger_record import RunState

LOGGER = logging.getLogger("aml_trigger")


class Outcome(str, enum.Enum):
    """What a decision line says became of an event, a tick or a request. The words a record also stores are
    RunState's own values (one vocabulary); IGNORED and DUPLICATE write no state of their own."""

    IGNORED = "ignored"
    REJECTED = RunState.REJECTED.value
    DUPLICATE = "duplicate"
    COLLECTED = "collected"
    """A file joined its folder's open quiet-window batch: the batch's run starts once the folder is quiet."""
    SKIPPED = RunState.SKIPPED.value
    SUBMITTED = RunState.SUBMITTED.value
    FAILED = RunState.FAILED.value
    WAITING = RunState.WAITING.value
    """max_active_runs was reached: recorded as waiting, started when one of the rule's runs ends."""
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_CANCELED = "run_canceled"
    """A submitted run reached a terminal status in Azure ML: one line each, when its record first learns it."""
    ARRIVED = "arrived"
    OVERDUE = "overdue"
    ARRIVED_LATE = "arrived_late"
    """A freshness deadline's verdict: enough new files came in its window, too few, or (after ``overdue``) they
    landed late. One line each, whatever the number of instances."""

    @property
    def state(self) -> RunState | None:
        """The record state this outcome settles a key in; None when it settles none."""
        return RunState(self.value) if self.value in _STATE_WORDS else None


_STATE_WORDS = frozenset(state.value for state in RunState) - {RunState.CLAIMED.value}
_LEVELS = {Outcome.REJECTED: logging.WARNING, Outcome.FAILED: logging.ERROR, Outcome.RUN_FAILED: logging.ERROR,
           Outcome.RUN_CANCELED: logging.WARNING, Outcome.OVERDUE: logging.WARNING}


class Decision(NamedTuple):
    outcome: Outcome
    reason: str | None = None
    rule: str | None = None
    schedule: str | None = None
    occurrence: str | None = None
    past_due: bool | None = None
    container: str | None = None
    blob: str | None = None
    etag: str | None = None
    folder: str | None = None
    files: int | None = None
    """A quiet-window batch's folder and how many file versions it holds."""
    key: str | None = None
    state: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    attempts: int | None = None
    status: int | None = None
    error_code: str | None = None
    retryable: bool | None = None
    took_over: bool | None = None
    reconciled: bool | None = None
    """The run was found in Azure ML's listing after an unknown outcome, and adopted without a POST."""
    run_status: str | None = None
    duration_seconds: float | None = None
    event_id: str | None = None
    deadline: str | None = None
    since: str | None = None
    expected: int | None = None
    """A freshness verdict's deadline, the start of its window (the deadline before) and the files it expects."""

    def fields(self) -> dict[str, object]:
        """The set fields, as logs and answers show them: a secret that reached a reason (an echoed error) masked."""
        return {name: value.value if isinstance(value, enum.Enum) else
                mask_text(value, urls=False) if isinstance(value, str) else value
                for name, value in self._asdict().items() if value is not None}


def log_decision(decision: Decision) -> Decision:
    """Log ``decision`` once, at a level that matches how much it needs a person's attention."""
    fields = decision.fields()
    log_event(_LEVELS.get(decision.outcome, logging.INFO), **fields)
    return decision


def log_event(level: int, **fields: object) -> None:
    """The one writer of structured lines (decisions, problems, sweep reports): ``aml_trigger {json}``, and each
    field again as an ``aml_<name>`` attribute, so Application Insights keeps it as a dimension."""
    LOGGER.log(level, "aml_trigger %s", json.dumps(fields, ensure_ascii=False),
               extra={f"aml_{name}": value for name, value in fields.items()})
