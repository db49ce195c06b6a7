"""Runs started by hand, and a record's trigger run again: over the same requests and protocol as events.

``start_run`` serves ``POST /api/runs`` and the command line; ``rerun`` is what a retry of a record, a waiting
trigger's turn (and the sweep, for manual records left open) runs again: dispatched on the record's subject, checked
before anything is reopened, and returning what it did (a decision, or why it cannot).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.clients.blobs.blob_data import read_blob_version
from shared.clients.ledger.ledger_claims import ClaimBusyError
from shared.clients.process.services import Services
from shared.core.blobs.blob_names import BlobNameError, checked_blob_name
from shared.core.common.errors import Conflict, InvalidInput, NotFound, Pending, TriggerError, Unprocessable
from shared.core.common.redaction import mask_text
from shared.core.config.config_model import Rule
from shared.core.config.matching import rule_mismatch
from shared.core.config.overrides import override_run
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Decision
from shared.core.ledger.keys import (
    RecordName,
    blob_version_key,
    normalize_etag,
    parse_iso,
    record_name,
    rule_namespace,
    schedule_namespace,
)
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.subjects import (
    BlobSubject,
    ManualSubject,
    QuietBatchSubject,
    ScheduleSubject,
    Subject,
    subject_kind,
)
from shared.core.runs.run_requests import BlobVersion, manual_request, marker_batch
from shared.flows.blobs.blob_runs import process_blob, run_rule
from shared.flows.quiet_windows.quiet_windows import recorded
from shared.flows.runs.run_steps import execute
from shared.flows.schedules.schedule_runs import fire_schedule

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A manual run's request_id: short and plain, since it is sent as the run's trigger_manual tag."""


class RunPending(Pending):
    """A manual run or retry still failing for now at its deadline: its record stays open and the sweep (or a
    retry) finishes it. The HTTP API answers 202 naming the record, never a front-end timeout; the CLI exits 3.
    """

    def __init__(self, record: str, cause: Exception):
        super().__init__(f"{record}: {cause}")
        self.record = record
        self.busy = isinstance(cause, ClaimBusyError)
        self.reason = mask_text(str(cause), urls=False)  # may echo Azure ML's error: masked as a decision's is
        self.attempts = getattr(cause, "attempts", None)

    def fields(self) -> dict[str, Any]:
        owner = RecordName.parse(self.record).owner
        scheduled = self.record.startswith(schedule_namespace(""))
        listing = "schedule" if scheduled else "rule"
        finisher = ("POST /api/runs/retry with this record" if scheduled
                    else "the catch-up sweep (SWEEP_SCHEDULE), or POST /api/runs/retry with this record")
        answer: dict[str, Any] = {
            "outcome": "pending", "record": self.record, "state": "claimed" if self.busy else "failed",
            "retryable": True, "reason": self.reason, "location": f"/api/runs?{listing}={owner}",
            "finished_by": f"its current owner, else {finisher}" if self.busy else finisher}
        if self.attempts is not None:
            answer["attempts"] = self.attempts
        return answer


def http_deadline(services: Services) -> float:
    """The monotonic deadline of work an HTTP request starts: the answer must beat Azure's 230 s front end."""
    return services.clock.monotonic() + services.config.retry.http_budget


def safe_name(name: Any, what: str, *, supplied: bool = True) -> str:
    """The blob name, or a 400 naming what is wrong with it: checked before any read, post or record."""
    try:
        return checked_blob_name(name, what, supplied=supplied)
    except BlobNameError as error:
        raise InvalidInput(str(error)) from None


def start_run(services: Services, *, rule: str, blob: str | None = None, experiment: Any = None,
              parameters: Any = None, request_id: str | None = None, rerun: bool = False,
              deadline: float | None = None) -> Decision:
    """Start a run for ``rule`` by hand; RunPending when it is still failing for now at ``deadline``.

    A blob the rule watches, with no overrides, no ``request_id`` and no ``rerun``, gets *that version's* run:
    the key, namespace and tags its event would use, so the event, the sweep and a repeated submit are
    duplicates of it. Anything else is a deliberate extra run in the manual namespace, one per ``request_id``.
    """
    if request_id is not None and not _REQUEST_ID.fullmatch(request_id):
        raise InvalidInput(f"request_id ({len(request_id):,} characters) must be 1 to 128 letters, digits, "
                           "'.', '_', ':' or '-', starting with a letter or digit")
    found = find_rule(services, rule)
    try:
        run = override_run(found.run, experiment=experiment, parameters=parameters)
    except ConfigError as error:
        raise InvalidInput(str(error)) from None
    if blob is not None:
        safe_name(blob, "blob")
    if blob is not None and run.data_path is None:
        raise InvalidInput(f"rule {rule!r} passes no data (it has no data_path): leave blob out")
    until = services.clock.monotonic() + services.config.retry.deadline if deadline is None else deadline
    version = _manual_data(services, blob, empty_ok=found.marker is not None) if blob is not None else None
    watched = version is not None and rule_mismatch(found, version.name) is None
    if version is not None and watched and run == found.run and request_id is None and not rerun:
        key = blob_version_key(version.container, version.name, version.etag)
        return or_pending(record_name(rule_namespace(rule), key), lambda: run_rule(found, version, services, until))
    request = manual_request(rule, run, version, request_id=request_id or uuid.uuid4().hex, blob=blob,
                             experiment=experiment, parameters=parameters)
    if version is not None and watched and found.marker is not None:  # a marker's extra run is on its batch too
        request = request.with_batch(marker_batch(found, version))
    return or_pending(request.record_name, lambda: execute(request, services, until))


def or_pending(record: str, work: Callable[[], Decision]) -> Decision:
    """``work``'s decision; a failure for now becomes RunPending naming the record that stays open."""
    try:
        return work()
    except Pending:
        raise  # already names its open record
    except TriggerError as error:
        if not error.retryable:
            raise
        raise RunPending(record, error) from error


def _manual_data(services: Services, blob: str, *, empty_ok: bool) -> BlobVersion:
    version = read_blob_version(services.watched.get_blob_client(blob), empty_ok=empty_ok)
    if isinstance(version, str):
        raise (NotFound if "no longer exists" in version else Unprocessable)(f"{blob}: {version}")
    return version


def find_rule(services: Services, name: str) -> Rule:
    for rule in services.config.rules:
        if rule.name == name:
            return rule
    known = ", ".join(rule.name for rule in services.config.rules) or "none"
    raise NotFound(f"no rule named {name!r} (rules: {known})")


def finish_manual(services: Services, record: str) -> Decision:
    """Finish a manual record left failed for now (an HTTP call answered 202) or abandoned: the sweep's part.

    Its request id claims the same key again, so a record settled meanwhile is a duplicate, not a second run.
    """
    found = services.ledger.read(record)
    if found is None:
        raise NotFound(f"no record {record}")
    return started(rerun(services, record, LedgerRecord.from_json(found[0], record).subject, None))


@dataclass(frozen=True)
class CannotRerun:
    """Why a record's trigger cannot run again (its rule's window is gone, its blob changed...): nothing was
    reopened and nothing run."""

    why: str


def started(result: Decision | CannotRerun) -> Decision:
    """A rerun's decision, for a caller that answers a refusal as an error: Conflict saying why."""
    if isinstance(result, CannotRerun):
        raise Conflict(result.why)
    return result


def rerun(services: Services, record: str, subject: Subject | None, deadline: float | None, *,
          reopen: Callable[[], None] | None = None) -> Decision | CannotRerun:
    """Run ``record``'s trigger again as its subject says: its decision (submitted, duplicate, waiting...), or
    CannotRerun, decided before anything is changed: the rule or schedule exists, the blob is unchanged.

    ``reopen`` (an operator's retry): called once the checks passed, before the run; a run still failing for now
    at ``deadline`` is then RunPending naming the record, which stays open.
    """
    start = _start(services, RecordName.parse(record).owner, subject, deadline)
    if isinstance(start, CannotRerun) or reopen is None:
        return start if isinstance(start, CannotRerun) else start()
    reopen()
    return or_pending(record, start)


def _start(services: Services, owner: str, subject: Subject | None,
           deadline: float | None) -> Callable[[], Decision] | CannotRerun:
    """What re-running the trigger of ``subject`` (a record of ``owner``'s) takes, checked now."""
    match subject:
        case BlobSubject():
            return _blob_start(services, owner, subject, deadline)
        case ScheduleSubject():
            if not any(s.name == owner and s.enabled for s in services.config.schedules):
                return CannotRerun(f"schedule {owner!r} is no longer configured (or is disabled)")
            return partial(fire_schedule, owner, fired_at=parse_iso(subject.occurrence), past_due=False,
                           services=services, deadline=deadline)
        case ManualSubject():
            find_rule(services, owner)
            return partial(start_run, services, rule=owner, blob=subject.blob, experiment=subject.experiment,
                           parameters=subject.parameters, request_id=subject.request_id, deadline=deadline)
        case QuietBatchSubject():
            return _quiet_start(services, owner, subject, deadline)
        case _:
            return CannotRerun(f"a {None if subject is None else subject_kind(subject)!r} record cannot be retried")


def _blob_start(services: Services, owner: str, subject: BlobSubject,
                deadline: float | None) -> Callable[[], Decision] | CannotRerun:
    """A blob version's run again, while that version is still the blob's."""
    rule = find_rule(services, owner)
    # The host named this blob (the app wrote the record): checked as process_blob checks the host's names.
    blob = services.watched.get_blob_client(safe_name(subject.blob, "the record's blob", supplied=False))
    try:
        now = normalize_etag(blob.get_blob_properties().etag)
    except ResourceNotFoundError:
        return CannotRerun(f"{subject.blob} no longer exists")
    if now != subject.etag:
        return CannotRerun(f"{subject.blob} changed since (the newer version has its own record)")
    return lambda: process_blob(blob, services, expected_etag=now, only=[rule], deadline=deadline)[0]


def _quiet_start(services: Services, owner: str, subject: QuietBatchSubject,
                 deadline: float | None) -> Callable[[], Decision] | CannotRerun:
    """A quiet batch's run again (its turn at the gate, or a retry), on the files its record lists from its claim
    on: its folder's state already moved past them once it was final, so no tick runs them again."""
    rule = find_rule(services, owner)
    if rule.quiet_window is None:
        return CannotRerun(f"rule {owner!r} has no quiet_window any more: its batch is not run again")
    request = recorded(rule, subject, services)
    if request is None:
        return CannotRerun("this quiet batch's record lists no files: it cannot be run again")
    until = services.clock.monotonic() + services.config.retry.deadline if deadline is None else deadline
    return partial(execute, request, services, until)
