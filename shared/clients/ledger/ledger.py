"""The idempotency ledger: one JSON record per key (a blob version for a rule, or a schedule occurrence) in blob
storage, claimed before any POST.

Protocol, which holds across threads, processes and machines because blob storage arbitrates:
1. claim: create the record with ``If-None-Match: *``; exactly one writer gets 201, the others 409;
2. a loser reads the record: settled -> duplicate; claimed by a live owner -> wait for it (bounded);
   claimed past its expiry (owner crashed) or failed transiently -> take it over with ``If-Match: <etag>``
   (the rule is ``shared.core.ledger.ledger_record.verdict``, which the sweep judges its listing by too);
3. the owner settles the record with ``If-Match: <its claim's etag>``, so a stale owner cannot overwrite.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobProperties, ContainerClient, ContentSettings

from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.clients.ledger.ledger_claims import ActiveRun, Claim, ClaimBusyError, ClaimLostError, Duplicate
from shared.clients.storage.storage import bounded
from shared.core.common.errors import Unavailable
from shared.core.ledger.keys import (
    OPEN_TAG,
    RUN_TAG,
    SINCE_TAG,
    TIMES_PENDING,
    iso_ms,
    open_runs_query,
    record_name,
)
from shared.core.ledger.ledger_record import SETTLED, LedgerRecord, RunState, Verdict, new_claim
from shared.core.ledger.subjects import Subject, parse_subject

SETTLED_MEMORY = 4096
"""Settled keys a process remembers: a duplicate reaching the same instance then costs no ledger round trip."""
_JSON = ContentSettings(content_type="application/json")
SERVER_CLOCK_RESOLUTION = 1.0
"""``Date`` and ``Last-Modified`` are whole seconds: an age may read up to 1 s long, so the time an earlier owner's
run has had to appear in Azure ML's listing is counted 1 s short, never long."""
MAX_UPDATE_RACES = 16
"""Conditional writes of one record an update may lose to concurrent writers before it gives up for now."""


class Dated(NamedTuple):
    """A document as read, with when storage last wrote it and how long ago that was, both by storage's clock."""

    document: dict[str, Any]
    etag: str
    last_modified: datetime
    age: float


def _parsed(text: str | None) -> datetime | None:
    try:
        return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class Ledger:
    def __init__(
        self,
        container: ContainerClient,
        claim_expiry: float,
        *,
        clock: Clock = SYSTEM_CLOCK,
        poll_interval: float = 0.25,
    ):
        self._container = container
        self._claim_expiry = claim_expiry
        self._clock = clock
        self._poll_interval = poll_interval
        self._container_ready = False
        self._settled: OrderedDict[str, LedgerRecord] = OrderedDict()
        self._settled_lock = threading.Lock()

    def claim(self, namespace: str, key: str, subject: Subject | Mapping[str, Any], deadline: float, *,
              use_memory: bool = True) -> Claim | Duplicate:
        """Claim ``key`` in ``namespace``, or learn that it is settled; wait for a live owner until ``deadline``.
        ``subject``: what the record is about, as a value or in its stored form (read as a stored one is).
        ``use_memory=False``: ask storage even if this process remembers the key settled (a record another process
        may reopen, such as the data a failed run used)."""
        name = record_name(namespace, key)
        subject = parse_subject(subject, name) if isinstance(subject, Mapping) else subject
        remembered = self._remembered(name) if use_memory else None
        if remembered is not None:
            return Duplicate(remembered)
        self._ensure_container()
        while True:
            within = self._left(deadline)
            fresh = self._claimed_record(namespace, key, subject, previous=None)
            try:
                return Claim(name, self._write(name, fresh, create=True, within=within), fresh)
            except ResourceExistsError:
                pass
            current = self._read_with_age(name, within=self._left(deadline))
            if current is not None:
                record, etag, age = LedgerRecord.from_json(current[0], name), current[1], current[2]
                judged = record.judged(age, self._claim_expiry)
                if judged is Verdict.SETTLED:
                    self._remember_settled(name, record)
                    return Duplicate(record)
                if judged.needs_work:
                    taken = self._claimed_record(namespace, key, subject, previous=record)
                    unknown = judged is Verdict.ABANDONED
                    try:
                        return Claim(name, self._write(name, taken, etag=etag, within=self._left(deadline)),
                                     taken, max(0.0, age - SERVER_CLOCK_RESOLUTION) if unknown else None, record)
                    except ResourceModifiedError:
                        pass  # someone else took it over first: look again
            remaining = self._left(deadline)
            if remaining <= 0:
                owner = current[0].get("owner") if current else None
                raise ClaimBusyError(f"{name} is claimed by {owner} and was not settled before the deadline")
            self._clock.sleep(min(self._poll_interval, remaining))

    def settle(self, claim: Claim, state: RunState, *, within: float | None = None, **outcome: Any) -> dict[str, Any]:
        """Record the outcome of a claim, only if the claim is still ours; in about ``within`` seconds at most."""
        record = claim.entry.settled(state, iso_ms(self._clock.now()), outcome)
        try:
            self._write(claim.record_name, record, etag=claim.etag, within=within)
        except ResourceModifiedError:
            raise ClaimLostError(f"{claim.record_name} was taken over before it was settled") from None
        if state in SETTLED or not record.retryable:
            self._remember_settled(claim.record_name, record)
        return record.to_json()

    def reopen(self, name: str, record: dict[str, Any], etag: str, reason: str) -> None:
        """Turn a settled record back into a retryable failure (an operator's retry), unless it changed meanwhile."""
        reopened = LedgerRecord.from_json(record, name).reopened(iso_ms(self._clock.now()), reason)
        with self._settled_lock:
            self._settled.pop(name, None)
        try:
            self._write(name, reopened, etag=etag)
        except ResourceModifiedError:
            raise ClaimLostError(f"{name} changed while it was being reopened") from None

    def update(self, name: str, change: Callable[[LedgerRecord], LedgerRecord | None]
               ) -> tuple[LedgerRecord, LedgerRecord] | None:
        """Apply ``change`` to record ``name``: one read, and one write only if the record is still as read (its
        ETag) and ``change`` changed it; a write lost to a concurrent writer reads and applies again. The record
        before and after (the same when nothing changed), or None when there is no such record."""
        for _ in range(MAX_UPDATE_RACES):
            found = self.read(name)
            if found is None:
                return None
            before = LedgerRecord.from_json(found[0], name)
            after = change(before)
            if after is None or after == before:
                return before, before
            try:
                self._write(name, after, etag=found[1])
            except ResourceModifiedError:
                continue
            with self._settled_lock:
                self._settled.pop(name, None)
            return before, after
        raise Unavailable(f"{name} changed {MAX_UPDATE_RACES} times while it was being updated; try again later")

    def swap(self, name: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None], *,
             metadata: Callable[[dict[str, Any]], dict[str, str]] | None = None,
             parse: Callable[[bytes], dict[str, Any]] = json.loads,
             as_read: tuple[dict[str, Any], str] | None = None) -> dict[str, Any] | None:
        """Replace document ``name`` (None: there is none yet) with ``change`` of it, only if it is still as read:
        created with If-None-Match, replaced with If-Match, so of two writers deciding at once one wins and the
        other applies ``change`` again to what the winner wrote. The document now (None: there is none).
        ``metadata``: what the blob also carries, from the new document, for a listing to show without a read.
        ``parse``: how the stored bytes are read (a cache's reader may answer a document to rebuild instead).
        ``as_read``: the document and ETag the caller has just read, so the first round reads nothing (a lost race
        reads again, as always)."""
        self._ensure_container()
        for race in range(MAX_UPDATE_RACES):
            found = as_read if race == 0 and as_read is not None else self.read(name, parse)
            after = change(None if found is None else found[0])
            if after is None or (found is not None and after == found[0]):
                return None if found is None else found[0]
            try:
                described = None if metadata is None else metadata(after)
                if found is None:
                    self._write(name, after, create=True, metadata=described)
                else:
                    self._write(name, after, etag=found[1], metadata=described)
            except (ResourceExistsError, ResourceModifiedError):
                continue
            return after
        raise Unavailable(f"{name} changed {MAX_UPDATE_RACES} times while it was being updated; try again later")

    def put(self, name: str, document: dict[str, Any], etag: str | None) -> bool:
        """Write state document ``name`` only if it is as read: created when ``etag`` is None (there was none),
        else replaced if still at ``etag``. False: another writer changed it first (its write stands)."""
        self._ensure_container()
        try:
            self._write(name, document, create=etag is None, etag=etag)
        except (ResourceExistsError, ResourceModifiedError):
            return False
        return True

    def active_runs(self, owner: str = "", *, times_pending: bool = False) -> list[ActiveRun]:
        """Runs in flight, oldest first: the records tagged open, from one Find Blobs by Tags in the ledger
        container (a request per 5,000), however many records it holds. ``owner``: one rule's or schedule's
        namespace; ``times_pending``: ended runs whose times are asked again too, in the same request. The index is
        eventually consistent: a run submitted a moment ago may be missing, one that just ended may still be there
        (its record, read next, is the truth)."""
        self._ensure_container()
        found: list[ActiveRun] = []
        for blob in self._container.find_blobs_by_tags(open_runs_query(owner, times_pending=times_pending)):
            tags = blob.tags or {}
            since = _parsed(tags.get(SINCE_TAG))
            if since is not None and tags.get(RUN_TAG):
                found.append(ActiveRun(blob.name, tags[RUN_TAG], since, tags.get(OPEN_TAG) == TIMES_PENDING))
        return sorted(found, key=lambda run: (run.since, run.record))

    def remember(self, name: str, document: dict[str, Any]) -> None:
        """Store a small state document (not a claim record), last writer wins."""
        self._ensure_container()
        self._write(name, document, overwrite=True)

    @property
    def container(self) -> ContainerClient:
        """The ledger's container (created if need be), for records beside the ledger's own (quiet windows)."""
        self._ensure_container()
        return self._container

    def listing(self, prefix: str, *, tags: bool = False) -> Iterator[Iterable[BlobProperties]]:
        """Pages of the record blobs under ``prefix``, with metadata (state, retryable) and Last-Modified (and their
        index tags with ``tags``: the time of each record's last write): one request per page of up to 5,000
        records, without reading any record."""
        self._ensure_container()
        return self._container.list_blobs(name_starts_with=prefix,
                                          include=["metadata", "tags"] if tags else ["metadata"]).by_page()

    def read(self, name: str, parse: Callable[[bytes], dict[str, Any]] = json.loads,
             ) -> tuple[dict[str, Any], str] | None:
        """A record (``parse`` of its bytes) and its ETag, or None when there is none."""
        found = self._read_with_age(name, parse=parse)
        return (found[0], found[1]) if found else None

    def read_dated(self, name: str, parse: Callable[[bytes], dict[str, Any]] = json.loads) -> Dated | None:
        """A document with its ETag, its Last-Modified and its age, or None when there is none."""
        return self._download(name, None, parse)

    def _read_with_age(self, name: str, within: float | None = None,
                       parse: Callable[[bytes], dict[str, Any]] = json.loads,
                       ) -> tuple[dict[str, Any], str, float] | None:
        """A record, its ETag, and its age in seconds by the storage server's own clock."""
        found = self._download(name, within, parse)
        return None if found is None else (found.document, found.etag, found.age)

    def _download(self, name: str, within: float | None, parse: Callable[[bytes], dict[str, Any]]) -> Dated | None:
        """A document as stored, dated by the storage server.

        Age is the response's ``Date`` minus the blob's ``Last-Modified``: both come from the server, so a claim's
        expiry (or the run index's freshness) does not depend on any two machines agreeing on the time.
        """
        served: dict[str, str] = {}
        try:
            downloader = self._container.download_blob(
                name, raw_response_hook=lambda response: served.update(
                    (header.lower(), value) for header, value in response.http_response.headers.items()),
                **bounded(within))
            document = parse(downloader.readall())
        except ResourceNotFoundError:
            return None
        # Header names are case-insensitive: Azure says "Date", Azurite "date".
        server_now = email.utils.parsedate_to_datetime(served["date"]) if "date" in served else self._clock.now()
        modified = downloader.properties.last_modified
        return Dated(document, downloader.properties.etag, modified, (server_now - modified).total_seconds())

    def _remembered(self, name: str) -> LedgerRecord | None:
        with self._settled_lock:
            return self._settled.get(name)

    def _remember_settled(self, name: str, record: LedgerRecord) -> None:
        """Keep what a duplicate's decision needs: the state and the run. Final states never change but by an
        operator's reopen, or by the release of data whose run failed, which its claims never take from memory.
        A waiting record is not final (its turn comes), so a duplicate of it asks storage."""
        if record.state == RunState.WAITING:
            return
        kept = LedgerRecord(state=record.state, run_id=record.run_id)
        with self._settled_lock:
            self._settled[name] = kept
            self._settled.move_to_end(name)
            while len(self._settled) > SETTLED_MEMORY:
                self._settled.popitem(last=False)

    def _claimed_record(self, namespace: str, key: str, subject: Subject,
                        previous: LedgerRecord | None) -> LedgerRecord:
        return new_claim(namespace, key, subject, uuid.uuid4().hex, iso_ms(self._clock.now()), self._claim_expiry,
                         previous)

    def _left(self, deadline: float) -> float:
        """Seconds until ``deadline`` (monotonic)."""
        return deadline - self._clock.monotonic()

    def _write(self, name: str, record: LedgerRecord | dict[str, Any], *, create: bool = False,
               etag: str | None = None, overwrite: bool = False, within: float | None = None,
               metadata: dict[str, str] | None = None) -> str:
        """Create (``create``), replace if unchanged since ``etag``, or overwrite; the new ETag. A record is stored
        with its metadata and its index tags (``LedgerRecord.tags``) in the same request, a plain document with
        ``metadata`` if given and no tags. ``within``: seconds the write, retries included, may take."""
        # Every write of a record sends its whole tag set (a claim's create too: its owner and the run index's
        # tags, never the open ones), so the open tags go whatever the service keeps on a tagless overwrite.
        document, metadata, tags = ((record.to_json(), record.metadata(), record.tags(iso_ms(self._clock.now())))
                                    if isinstance(record, LedgerRecord) else (record, metadata, None))
        data = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        if create:
            conditions: dict[str, Any] = {"overwrite": False}
        elif overwrite:
            conditions = {"overwrite": True}
        else:
            conditions = {"overwrite": True, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        result = self._container.get_blob_client(name).upload_blob(
            data, content_settings=_JSON, metadata=metadata, tags=tags, **conditions, **bounded(within))
        new_etag: str = result["etag"]  # the SDK types its answer dict[str, Any]
        return new_etag

    def _ensure_container(self) -> None:
        if self._container_ready:
            return
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        self._container_ready = True
