"""A timer tick -> exactly one pipeline run per schedule occurrence, on the data chosen at fire time.

The key is the schedule's name and the occurrence computed from its NCRONTAB expression (not the wall clock), so
a double-fired tick submits once and a past-due tick submits once for the occurrence it stands for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from azure.storage.blob import ContainerClient

from shared.clients.ledger import Claim, Duplicate, RunState, schedule_namespace
from shared.clients.services import Services
from shared.flows.blob_runs import BlobVersion, read_blob_version
from shared.flows.run_steps import Step
from shared.rules.config_model import BlobFilter, DataSource, Schedule
from shared.rules.csv_head import csv_head_problem
from shared.rules.decisions import Decision, Outcome
from shared.rules.keys import blob_version_key
from shared.rules.matching import mismatch
from shared.rules.payloads import TRIGGERED_BY, submission
from shared.rules.run_lookup import run_lookup

FIRE_ROUNDING = timedelta(milliseconds=500)
"""A tick is read to the nearest second, so a timer firing a hair early still names its own occurrence."""


class ListedBlob(Protocol):
    name: str
    last_modified: datetime
    size: int


def occurrence_for(schedule: Schedule, fired_at: datetime) -> datetime:
    """The scheduled occurrence a tick at ``fired_at`` stands for: the latest one at or before it."""
    occurrence = schedule.cron.latest_at_or_before(fired_at + FIRE_ROUNDING)
    assert occurrence is not None, "a validated expression fires at least once in any 29 years"
    return occurrence


def schedule_occurrence_key(schedule: str, occurrence: datetime) -> str:
    return hashlib.sha256(f"schedule\n{schedule}\n{_iso(occurrence)}".encode()).hexdigest()


def schedule_data_namespace(schedule: str) -> str:
    """Where only_if_new_data schedules claim the data versions their runs used."""
    return f"schedule-data/{schedule}"


def newest_blob(blobs: Iterable[ListedBlob], watch: BlobFilter) -> ListedBlob | None:
    """The newest non-empty blob ``watch`` takes: latest last-modified, then the greatest name on a tie."""
    candidates = (blob for blob in blobs if blob.size > 0 and mismatch(watch, blob.name) is None)
    return max(candidates, key=lambda blob: (blob.last_modified, blob.name), default=None)


def choose_data(data: DataSource, container: ContainerClient) -> BlobVersion | str:
    """The blob version a run gets now, read once (first 64 KiB); or why there is none."""
    if data.blob is not None:
        version = read_blob_version(container.get_blob_client(data.blob))
        return f"{data.blob}: {version}" if isinstance(version, str) else version
    assert data.newest is not None
    newest = newest_blob(container.list_blobs(name_starts_with=data.newest.prefix or None), data.newest)
    if newest is None:
        return (f"no data: no non-empty blob under {data.newest.prefix!r} ending with {data.newest.suffix!r}"
                + ("" if data.newest.include_subfolders else " (subfolders not included)"))
    version = read_blob_version(container.get_blob_client(newest.name))
    return f"{newest.name}: {version}" if isinstance(version, str) else version


def fire_schedule(name: str, *, fired_at: datetime, past_due: bool, services: Services,
                  deadline: float | None = None) -> Decision:
    """Start the run one tick of schedule ``name`` calls for, unless its occurrence was already handled.

    ``deadline`` (monotonic) bounds an operator's HTTP retry below SUBMIT_DEADLINE_SECONDS.
    """
    schedule = next((s for s in services.config.schedules if s.name == name and s.enabled), None)
    if schedule is None:
        raise LookupError(f"schedule {name!r} is not in the configuration (or is disabled); restart the app "
                          "after changing schedules so the timer functions match")
    occurrence = occurrence_for(schedule, fired_at)
    key = schedule_occurrence_key(name, occurrence)
    about = {"schedule": name, "occurrence": _iso(occurrence), "key": key, "past_due": past_due or None}
    step = Step(services, schedule_namespace(name), key, about)
    subject = {"kind": "schedule", "schedule": name, "occurrence": _iso(occurrence), "fired_at": _iso(fired_at),
               "past_due": past_due}
    deadline = services.monotonic() + services.config.retry.deadline if deadline is None else deadline
    done = step.claim_or_duplicate(subject, deadline)
    if done:
        return done

    version = None
    if schedule.data is not None:
        version = choose_data(schedule.data, services.watched)
        if isinstance(version, str):
            return step.settle_without_run(Outcome.SKIPPED, version)
        about.update(container=version.container, blob=version.name, etag=version.etag)
        problem = csv_head_problem(version.head, version.size, schedule.run.required_columns)
        if problem:
            return step.settle_without_run(Outcome.REJECTED, problem)

    tags = {"triggered_by": TRIGGERED_BY, "trigger_schedule": name, "trigger_occurrence": _iso(occurrence),
            "trigger_key": key}
    if version is not None:
        tags.update(trigger_blob=f"{version.container}/{version.name}", trigger_etag=version.etag)
    request = submission(schedule.run, data=version.ref if version else None, tags=tags, key=key)
    data = {"blob": version.name, "etag": version.etag} if version else None
    if not schedule.only_if_new_data:
        return step.submit(schedule.run, request, deadline, data=data)

    # The data version itself is claimed too: two occurrences racing on the same data submit once.
    data_claim = services.ledger.claim(
        schedule_data_namespace(name), blob_version_key(version.container, version.name, version.etag),
        {"kind": "schedule-data", "schedule": name, **data, "occurrence": _iso(occurrence)}, deadline)
    if isinstance(data_claim, Duplicate):
        used_by = data_claim.entry
        return step.settle_without_run(Outcome.SKIPPED, _used_by(version, used_by.subject, used_by.run_id))
    earlier = _earlier_run(schedule, occurrence, data_claim, services, deadline)
    if earlier is not None:
        subject = data_claim.previous.subject if data_claim.previous else None
        services.ledger.settle(data_claim, RunState.SUBMITTED, run_id=earlier, reconciled=True, subject=subject)
        return step.settle_without_run(Outcome.SKIPPED, _used_by(version, subject, earlier))
    try:
        decision = step.submit(schedule.run, request, deadline, data=data)
    except BaseException as error:
        services.ledger.settle(data_claim, RunState.FAILED, retryable=True, reason="the run failed for now",
                               outcome_unknown=getattr(error, "outcome_unknown", None) or None)
        raise
    if decision.outcome is Outcome.SUBMITTED:
        services.ledger.settle(data_claim, RunState.SUBMITTED, run_id=decision.run_id)
    else:  # refused by Azure ML: a later occurrence may use this data once the cause is fixed
        services.ledger.settle(data_claim, RunState.FAILED, retryable=True, reason=decision.reason)
    return decision


def _used_by(version: BlobVersion, subject: Mapping[str, Any] | None, run_id: str | None) -> str:
    return (f"no new data: {version.name} ({version.etag}) was used by the run of "
            f"{(subject or {}).get('occurrence')} (run {run_id})")


def _earlier_run(schedule: Schedule, occurrence: datetime, data_claim: Claim, services: Services,
                 deadline: float) -> str | None:
    """The run an earlier occurrence may have started on this data though no answer told of it (it left the data
    claim open, or failed after an unknown outcome): looked up by that occurrence's key, so the data is not run
    twice. The same occurrence's own claim already looks its key up before posting."""
    earlier = ((data_claim.previous.subject if data_claim.previous else None) or {}).get("occurrence")
    if data_claim.unknown_for is None or earlier in (None, _iso(occurrence)):
        return None
    key = schedule_occurrence_key(schedule.name, datetime.fromisoformat(earlier.replace("Z", "+00:00")))
    lookup = run_lookup(schedule.run.target, schedule.run.experiment, key)
    return None if lookup is None else services.submitter.find(lookup, deadline, unknown_for=data_claim.unknown_for)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
