"""The ledger's records as operators see them: listed newest first (filtered before any is read), and a failed or
rejected one's trigger run again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties

from shared.clients.ledger.ledger_claims import ClaimLostError
from shared.clients.process.services import Services
from shared.core.blobs.stamps import stamp_key, stamped_query
from shared.core.common.errors import Conflict, InvalidInput, NotFound
from shared.core.ledger.decisions import Decision
from shared.core.ledger.keys import (
    RECORD_NAME,
    RECORD_PREFIXES,
    blob_version_key,
    iso,
    manual_namespace,
    parse_iso,
    record_name,
    rule_namespace,
    schedule_data_namespace,
    schedule_namespace,
)
from shared.core.ledger.ledger_record import LedgerRecord, Outcome, RunState
from shared.core.ledger.run_status import TERMINAL, RunStatus
from shared.core.run_index.run_index import RECENT_ROWS, CaughtUp, newest_first, record_summary, written_at
from shared.flows.manual.manual_runs import rerun, safe_name, started
from shared.flows.run_index.run_index import IndexView, listed_outcome, viewed_index

_STATES = tuple(state.value for state in RunState)
RUN_STATUSES = tuple(status.value for status in RunStatus)
_TERMINAL = frozenset(status.value for status in TERMINAL)
FOLLOW_INTERVAL = 10.0
"""Seconds between two reads of a followed record: Azure ML's own clients poll every 2 to 60 s."""

MAX_LIST_LIMIT = 1000
"""Records one listing may return: each one is a blob read."""


def list_limit(text: str) -> int:
    """A listing's ``limit`` as given in a query string or on the command line: a whole number in range."""
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_LIST_LIMIT):
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}, not {text[:20]!r}")
    return int(text)


@dataclass(frozen=True)
class ListedRuns:
    runs: list[dict[str, Any]]
    index: IndexView | None = None
    """The run index these runs are rows of (as of when, caught up by whom); None: read from the records now."""

    def to_json(self) -> dict[str, Any]:
        """``GET /api/runs``' answer: the runs, and when they come from the run index, ``as_of`` (ISO 8601, UTC)
        and ``caught_up_by``: ``timer`` (served as stored) or ``view`` (this request caught it up)."""
        if self.index is None:
            return {"runs": self.runs}
        by = "timer" if self.index.caught_up is CaughtUp.TIMER else "view"
        return {"runs": self.runs, "as_of": iso(self.index.as_of.astimezone(UTC)), "caught_up_by": by}


def list_runs(services: Services, *, rule: str | None = None, schedule: str | None = None,
              state: str | None = None, since: str | None = None, until: str | None = None,
              run_status: str | None = None, limit: int = 50, blob: str | None = None,
              etag: str | None = None) -> ListedRuns:
    """Trigger records, newest first: unfiltered (up to ``RECENT_ROWS``), from the run index as of its last
    catch-up; filtered, on the listing (state, run status, time) before any record is read; with ``blob``, the
    records of that blob's version (``runs_of_blob``)."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}, not {limit}")
    if blob is not None or etag is not None:
        if blob is None or schedule or since or until or run_status:
            raise InvalidInput("blob finds one version's records (etag: which one): give rule or state with it, "
                               "not schedule, run_status, since or until")
        return ListedRuns([run for run in runs_of_blob(services, blob, etag, rule=rule)
                           if state is None or run["state"] == state][:limit])
    if not any((rule, schedule, state, since, until, run_status)) and limit <= RECENT_ROWS:
        viewed = viewed_index(services)
        return ListedRuns(list(viewed.summary["rows"][:limit]), viewed)
    listed = listed_runs(services, rule=rule, schedule=schedule, state=state, since=since, until=until,
                         run_status=run_status)
    return ListedRuns(read_runs(services, listed[:limit]))


def runs_of_blob(services: Services, blob: str, etag: str | None = None, *,
                 rule: str | None = None) -> list[dict[str, Any]]:
    """The records of one version of ``blob``: the current one, or the one ``etag`` names (an event's, or a run's
    ``trigger_etag`` tag). Keys derive from container, name and ETag, so one read per configured rule (and
    only_if_new_data schedule) finds them without listing the ledger; storage keeps no earlier ETags (no
    versioning), so an overwritten version's records are found by giving its ETag."""
    name = safe_name(blob, "blob")
    if etag is None:
        try:
            etag = services.watched.get_blob_client(name).get_blob_properties().etag
        except ResourceNotFoundError:
            raise NotFound(f"no blob {name}: give etag to find the records of a version deleted or overwritten "
                           "since") from None
    key = blob_version_key(services.config.watch_container, name, etag)
    config = services.config
    namespaces = [rule_namespace(found.name) for found in config.rules if rule in (None, found.name)]
    namespaces += [schedule_data_namespace(schedule.name) for schedule in config.schedules
                   if schedule.only_if_new_data and rule is None]
    return [record_summary(record, read[0]) for record in (record_name(namespace, key) for namespace in namespaces)
            if (read := services.ledger.read(record))]


def stamped_blobs(services: Services, *, rule: str, state: str | None = None) -> list[dict[str, str]]:
    """The watched blobs a rule stamped (in ``state``), found by their index tags (Find Blobs by Tags: one
    request per page, the service's index, no listing of the container): from a run back to its files."""
    if not any(found.name == rule for found in services.config.rules):
        raise NotFound(f"no rule {rule!r} is configured")
    if state is not None and state not in _STATES:
        raise InvalidInput(f"state must be one of {', '.join(_STATES)}")
    key = stamp_key("rule", rule)
    return [{"blob": found.name, "stamp": (found.tags or {}).get(key, "")}
            for found in services.watched.find_blobs_by_tags(stamped_query(key, state))]


def listed_runs(services: Services, *, rule: str | None = None, schedule: str | None = None,
                state: str | None = None, since: str | None = None, until: str | None = None,
                run_status: str | None = None, outcome: Outcome | None = None) -> list[BlobProperties]:
    """The records a listing matches, newest first (by their last write, as the run index orders them), from the
    ledger's listing alone (a record's run status is in its metadata, its last write and outcome in its tags): no
    record is read."""
    if rule and schedule:
        raise InvalidInput("filter on rule or schedule, not both")
    if state is not None and state not in _STATES:
        raise InvalidInput(f"state must be one of {', '.join(_STATES)}")
    if run_status is not None and run_status not in RUN_STATUSES:
        raise InvalidInput(f"run_status must be one of {', '.join(RUN_STATUSES)}")
    after, before = moment(since, "since"), moment(until, "until")
    prefixes = ([f"{rule_namespace(rule)}/", f"{manual_namespace(rule)}/"] if rule
                else [f"{schedule_namespace(schedule)}/"] if schedule else list(RECORD_PREFIXES))
    listed = [(written_at(blob.tags, blob.last_modified), blob)
              for prefix in prefixes for page in services.ledger.listing(prefix, tags=True) for blob in page
              if (state is None or (blob.metadata or {}).get("state") == state)
              and (run_status is None or (blob.metadata or {}).get("run_status") == run_status)
              and (outcome is None or listed_outcome(blob) == outcome)]
    if after or before:
        listed = [(written, blob) for written, blob in listed if _between(parse_iso(written), after, before)]
    listed.sort(key=lambda found: newest_first(found[0], found[1].name), reverse=True)
    return [blob for _written, blob in listed]


def _between(written: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or written >= after) and (before is None or written <= before)


def read_runs(services: Services, listed: list[BlobProperties]) -> list[dict[str, Any]]:
    """The listed records as a listing shows them: one read each (a record deleted meanwhile is left out)."""
    return [record_summary(blob.name, found[0]) for blob in listed if (found := services.ledger.read(blob.name))]


def follow(services: Services, record: str, *, interval: float = FOLLOW_INTERVAL, timeout: float = 86400.0,
           sleep: Callable[[float], None] | None = None) -> Iterator[dict[str, Any]]:
    """One record as its run goes on: its summary each time it changes, until the run ends in Azure ML, the record
    settles without a run (rejected, skipped, failed), or ``timeout`` seconds pass (by the services' clock, which
    also waits between reads unless ``sleep`` is given)."""
    if not RECORD_NAME.fullmatch(record):
        raise InvalidInput("record must be a record name as runs lists it, e.g. rules/<rule>/<key>.json")
    stop, shown = services.clock.monotonic() + timeout, None
    while True:
        found = services.ledger.read(record)
        if found is None:
            raise NotFound(f"no record {record}")
        summary = record_summary(record, found[0])
        if summary != shown:
            shown = summary
            yield summary
        status = (summary.get("run") or {}).get("status")
        if summary.get("state") not in ("claimed", "submitted") or status in _TERMINAL:
            return
        if services.clock.monotonic() + interval > stop:
            return
        (sleep or services.clock.sleep)(interval)


def moment(value: str | None, what: str) -> datetime | None:
    """``value`` (ISO 8601, UTC when it names no zone) as a time, or the clear error that names ``what``."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO 8601 time such as 2026-11-22T02:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def retry(services: Services, *, record: str, deadline: float | None = None) -> Decision:
    """Run a failed or rejected record's trigger again (after fixing the data, the pipeline or the rule).

    What will re-run is resolved and checked first; only then is the record reopened, so a retry that cannot
    happen leaves the record as it was. Still failing for now at ``deadline``: RunPending.
    """
    if not RECORD_NAME.fullmatch(record):
        raise InvalidInput("record must be a record name as runs lists it, e.g. rules/<rule>/<key>.json")
    found = services.ledger.read(record)
    if found is None:
        raise NotFound(f"no record {record}")
    current, etag = found
    stored = LedgerRecord.from_json(current, record)
    if stored.state not in (RunState.FAILED, RunState.REJECTED):
        raise Conflict(f"{record} is {stored.state}; only failed or rejected records are retried")

    def reopen() -> None:
        try:
            services.ledger.reopen(record, current, etag, reason=f"retry requested (was {stored.state}: "
                                                                 f"{stored.reason})")
        except ClaimLostError as error:
            raise Conflict(str(error)) from None

    return started(rerun(services, record, stored.subject, deadline, reopen=reopen))
