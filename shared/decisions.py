"""One structured log line per decision, readable by people and kept as dimensions by Application Insights.

The message is a compact JSON object (``parse_json(message)`` in KQL); the same fields ride on the log record
as attributes, which the OpenTelemetry exporter turns into ``customDimensions``.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import asdict, dataclass

from shared.redaction import mask_text

LOGGER = logging.getLogger("aml_trigger")


class Outcome(str, enum.Enum):
    IGNORED = "ignored"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    SUBMITTED = "submitted"
    FAILED = "failed"


_LEVELS = {Outcome.REJECTED: logging.WARNING, Outcome.FAILED: logging.ERROR}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None
    rule: str | None = None
    schedule: str | None = None
    occurrence: str | None = None
    past_due: bool | None = None
    container: str | None = None
    blob: str | None = None
    etag: str | None = None
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

    def fields(self) -> dict[str, object]:
        """The set fields, as logs and answers show them: a secret that reached a reason (an echoed error) masked."""
        return {name: value.value if isinstance(value, enum.Enum) else
                mask_text(value, urls=False) if isinstance(value, str) else value
                for name, value in asdict(self).items() if value is not None}


def log_decision(decision: Decision) -> Decision:
    """Log ``decision`` once, at a level that matches how much it needs a person's attention."""
    fields = decision.fields()
    LOGGER.log(
        _LEVELS.get(decision.outcome, logging.INFO),
        "aml_trigger %s",
        json.dumps(fields, ensure_ascii=False, sort_keys=False),
        extra={f"aml_{name}": value for name, value in fields.items()},
    )
    return decision
