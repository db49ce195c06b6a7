"""Azure ML's run events as plain values: which run, what status, and which record the run's tags lead to.

Both delivery schemas carry the same ``data`` (``runId``, ``runTags``, ``runProperties``, ``runStatus`` on
RunStatusChanged); the envelope differs: Event Grid's ``topic``/``eventType``/``eventTime``, CloudEvents'
``source``/``type``/``time``. RunCompleted fires only on success and carries no ``runStatus``: it means Completed.
Pure: the trigger hands over a mapping, the flow decides. An event is outside input: a ``runStatus`` that is not
one of Azure ML's words, or a time outside its run's life, is not taken (its text cut and masked in the log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from shared.core.common.errors import InvalidInput
from shared.core.common.redaction import mask_text
from shared.core.ledger.keys import KEY, manual_namespace, parse_iso, rule_namespace, schedule_namespace
from shared.core.ledger.run_status import RunOutcome, is_azure_status, moment, observed, run_status
from shared.core.runs.payloads import TRIGGERED_BY

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
RUN_COMPLETED = "Microsoft.MachineLearningServices.RunCompleted"
RUN_EVENT_TYPES = (RUN_STATUS_CHANGED, RUN_COMPLETED)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
CLOCK_SKEW = timedelta(minutes=5)
"""How far an event's time may fall outside its run's life (before its submission, after now) for the clocks of
Azure ML and this app to explain it; further, the time is not its run's: the event is not taken."""
_SKEW_TEXT = f"{CLOCK_SKEW.total_seconds() / 60:g} minutes"
SHOWN_CHARS = 40
SHOWN_ID_CHARS = 128


class MalformedEventError(InvalidInput):
    """An event this function cannot read: refused with what is wrong (the host retries, then dead-letters it)."""

    def __init__(self, message: str):
        super().__init__(mask_text(message))  # it quotes the event's own words (an id, a run id): secrets masked


@dataclass(frozen=True)
class RunEvent:
    """One run event: what it says of which run, in which workspace, and the labels the run carries."""

    id: str
    type: str
    workspace: str
    """The resource id of the workspace that sent it (``topic``, or ``source`` in CloudEvents)."""
    time: str
    run_id: str
    azure_status: str
    labels: Mapping[str, str]
    """The run's tags and properties together (v1 pipeline runs carry the app's labels as tags, v2 jobs as
    properties), keys as sent."""

    def observation(self) -> RunOutcome:
        """What the event tells: the status at the event's time. Events carry no start or end of their own, so a
        running run's event time stands for its start and a terminal one's for its end, until Azure ML's own
        times (the fallback's GET) replace them."""
        status = run_status(self.azure_status)
        return observed(self.azure_status, self.time, started_at=self.time if status.value == "running" else None,
                        ended_at=self.time if status.terminal else None)


def shown(text: str) -> str:
    """Outside text as a log line may quote it: masked, and cut to its first characters, its length said."""
    quoted = repr(mask_text(text[:SHOWN_CHARS]))
    return quoted if len(text) <= SHOWN_CHARS else f"{quoted}... ({len(text):,} characters)"


def implausible_time(event_time: str, submitted_at: str | None, now: datetime) -> str | None:
    """Why an event's time cannot be its run's: before the run's record was first claimed (the run cannot exist
    before its submission) or after now, by more than CLOCK_SKEW either way. None: plausible."""
    at = parse_iso(event_time)
    if at > now + CLOCK_SKEW:
        return f"the event's time {event_time} is later than now ({moment(now)}) by more than {_SKEW_TEXT}"
    if submitted_at is not None and at < parse_iso(submitted_at) - CLOCK_SKEW:
        return (f"the event's time {event_time} is earlier than its run's submission ({submitted_at}) by more than "
                f"{_SKEW_TEXT}")
    return None


def event_moment(value: Any) -> str:
    """An event's time as records write it; MalformedEventError if there is none or it is not a time."""
    try:
        return moment(value)
    except ValueError as error:
        raise MalformedEventError(f"the event's time: {error}") from None


def parse_run_event(envelope: Mapping[str, Any]) -> RunEvent | str:
    """The run event in ``envelope`` (either schema), or why it is not one this app handles (another event type);
    MalformedEventError if it cannot be read."""
    if not isinstance(envelope, Mapping):
        raise MalformedEventError(f"an event is a JSON object, not {type(envelope).__name__}")
    cloud = "specversion" in envelope
    event_type = envelope.get("type" if cloud else "eventType")
    if event_type not in RUN_EVENT_TYPES:
        return f"event type {str(event_type)[:100]!r} is not a run event"
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise MalformedEventError(f"{event_type} event {event_id(envelope)!r} has no data object")
    run_id = data.get("runId")
    if not isinstance(run_id, str) or not run_id:
        raise MalformedEventError(f"{event_type} event {event_id(envelope)!r} names no runId")
    status = "Completed" if event_type == RUN_COMPLETED else data.get("runStatus")
    if not isinstance(status, str) or not status.strip():
        raise MalformedEventError(f"RunStatusChanged event {event_id(envelope)!r} for run {run_id} has no runStatus")
    if not is_azure_status(status):
        return (f"runStatus {shown(status)} is not a status Azure ML uses: the event is not taken (the fallback asks "
                f"Azure ML)")
    labels: dict[str, str] = {}
    for part in ("runProperties", "runTags"):  # tags last: a v1 run's tags are what the app set; tags are strings,
        # so a value of another shape (a nested object the app never wrote) is not a label, and is never stringified
        value = _case_insensitive(data, part)
        if isinstance(value, Mapping):
            labels.update({str(name): text for name, text in value.items() if isinstance(text, str)})
    return RunEvent(id=event_id(envelope), type=event_type, workspace=str(envelope.get("source" if cloud
                    else "topic") or ""), time=event_moment(envelope.get("time" if cloud else "eventTime")),
                    run_id=run_id, azure_status=status, labels=labels)


def event_id(envelope: Mapping[str, Any]) -> str:
    """The event's id as records and logs may carry it: Event Grid's ids are strings (masked, cut to
    SHOWN_ID_CHARS); anything else is named by its type, a nested value never printed."""
    value = envelope.get("id")
    return mask_text(value[:SHOWN_ID_CHARS]) if isinstance(value, str) else f"<{type(value).__name__}>"


def _case_insensitive(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]`` whatever its case: the documents write ``RunTags`` where payloads send ``runTags``."""
    return next((value for name, value in data.items() if str(name).lower() == key.lower()), None)


class RecordRef(NamedTuple):
    """The record a run's labels lead to, and the rule or schedule whose configuration names its target."""

    namespace: str
    key: str
    """The record's key in ``namespace``: the run's ``trigger_key`` label."""
    rule: str | None = None
    """The rule whose target started the run (a blob or manual run), else None."""
    schedule: str | None = None
    """The schedule whose target started the run (a schedule occurrence), else None."""


def record_for(labels: Mapping[str, str]) -> RecordRef | str:
    """The record of a run the app started, from its labels alone (no listing), or why the run is not the app's."""
    if labels.get("triggered_by") != TRIGGERED_BY:
        return "the run carries no triggered_by tag of this app: not started by it"
    key = labels.get("trigger_key", "")
    if not KEY.fullmatch(key):
        return "the run's trigger_key tag is not a key this app writes"
    schedule, rule, manual = labels.get("trigger_schedule"), labels.get("trigger_rule"), labels.get("trigger_manual")
    name = schedule or rule or ""
    if not _NAME.fullmatch(name):
        return "the run names no rule or schedule this app could have"
    if schedule:
        return RecordRef(schedule_namespace(schedule), key, schedule=schedule)
    return RecordRef(manual_namespace(name) if manual else rule_namespace(name), key, rule=name)
