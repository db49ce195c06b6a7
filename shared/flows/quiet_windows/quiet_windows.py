"""Quiet windows: a file version joins its folder's open batch (one conditional create in the ledger container),
and a timer over that ledger state starts one run per folder that has been quiet for the rule's window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceExistsError

from shared.clients.process.services import Services
from shared.core.blobs.batches import marker_folder
from shared.core.common.errors import each_then_retry
from shared.core.common.redaction import redact_url
from shared.core.config.config_model import Rule
from shared.core.ledger.decisions import Decision, Outcome, log_decision
from shared.core.ledger.keys import arrival_tags, iso_ms, rule_namespace
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.subjects import QuietBatchSubject
from shared.core.quiet_windows.quiet_windows import (
    FOLDERS_PREFIX,
    LISTING_PREFIX,
    QUIET_PREFIX,
    Entry,
    FolderState,
    OpenBatch,
    batched_files,
    by_folder,
    entry_metadata,
    entry_name,
    folder_state_name,
    listed_rule,
    open_batch,
    quiet_request,
    recorded_oldest,
    recorded_request,
)
from shared.core.runs.run_requests import BlobVersion, RunRequest
from shared.flows.runs.run_steps import execute


def collect(rule: Rule, version: BlobVersion, services: Services) -> Decision:
    """Add ``version`` to its folder's open batch, once: a redelivery (even after the batch ran) adds nothing."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    name = entry_name(rule.name, version.container, version.name, version.etag)
    where: dict[str, Any] = {"rule": rule.name, "container": version.container, "blob": version.name,
                             "etag": version.etag, "folder": marker_folder(version.name)}
    try:
        services.ledger.container.get_blob_client(name).upload_blob(  # tagged in the same request: no cost added
            b"", overwrite=False, metadata=entry_metadata(version.name, version.etag),
            tags=arrival_tags(rule_namespace(rule.name), version.name, iso_ms(_arrived(version, services))))
    except ResourceExistsError:
        return log_decision(Decision(Outcome.DUPLICATE, reason="already collected into its folder's batch", **where))
    return log_decision(Decision(Outcome.COLLECTED, reason=f"joined the open batch of {where['folder']!r}: one run "
                                 f"starts after {rule.quiet_window.seconds} s without a new file", **where))


def _arrived(version: BlobVersion, services: Services) -> datetime:
    """When the file arrived, which freshness counts: by its Last-Modified, and by now (as a record's arrival)."""
    assert version.last_modified is not None, "a ranged read gives it"
    return min(version.last_modified, services.clock.now())


@dataclass
class QuietState:
    """Every quiet-window rule's entries (those the lifecycle rule has not deleted yet) and folder cut-offs (as
    their listing's metadata says), from one listing: what a tick reads whatever the number of rules."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)
    states: dict[str, dict[str, FolderState]] = field(default_factory=dict)


def read_state(services: Services) -> QuietState:
    found = QuietState()
    for page in services.ledger.listing(LISTING_PREFIX):
        for blob in page:
            rule = listed_rule(blob.name)
            if blob.name.startswith(QUIET_PREFIX):
                found.entries.setdefault(rule, []).append(
                    Entry.listed(blob.name, blob.metadata or {}, blob.last_modified))
            elif blob.name.startswith(FOLDERS_PREFIX) and blob.metadata:
                state = FolderState.listed(blob.metadata)
                found.states.setdefault(rule, {})[state.folder] = state
    return found


def rule_batches(rule: Rule, services: Services, listed: QuietState | None = None) -> list[OpenBatch]:
    """``rule``'s open batches, one per folder with open entries, in folder order, with when each fires; from
    ``listed`` (None: listed now). A folder state's names are read only when the listing holds more entries of its
    cut-off's second than it covers."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    listed = read_state(services) if listed is None else listed
    states = listed.states.get(rule.name, {})
    batches = []
    for folder, entries in sorted(by_folder(listed.entries.get(rule.name, [])).items()):
        state = states.get(folder)
        if state is not None and state.names_needed(entries):
            found = services.ledger.read(folder_state_name(rule.name, folder))
            state = FolderState.from_json(found[0]) if found else None
        batch = open_batch(folder, entries, state, rule.quiet_window.seconds)
        if batch is not None:
            batches.append(batch)
    return batches


def fire_due(services: Services) -> list[Decision]:
    """Start the run of every open batch whose folder has been quiet for its rule's window. A batch that failed
    for now stays open for the next tick; the first such error is raised once every batch had its turn."""
    deadline = services.clock.monotonic() + services.config.retry.deadline
    rules = [rule for rule in services.config.rules if rule.quiet_window is not None]
    listed = read_state(services) if rules else QuietState()
    due = [(rule, batch) for rule in rules for batch in rule_batches(rule, services, listed)
           if batch.fires_at <= services.clock.now()]
    return each_then_retry(partial(fire, rule, batch, services, deadline) for rule, batch in due)


def fire(rule: Rule, batch: OpenBatch, services: Services, deadline: float) -> Decision:
    """The batch's one run through the exactly-once protocol, then its folder's state advanced past the entries
    its record lists once final (one conditional swap; ``batched_files``): until then the same key comes back. Under
    ``max_active_runs`` a batch already recorded (waiting, or cut short after its turn came) runs on the files its
    record lists, not on files that arrived since (those open the next batch once it is settled)."""
    container = services.config.watch_container
    request = quiet_request(rule, batch, container, _url(services, batch.oldest.blob))
    if rule.limit is not None:  # one read per due batch of a limited rule, never per file
        found = services.ledger.read(request.record_name)
        subject = LedgerRecord.from_json(found[0], request.record_name).subject if found else None
        request = (recorded(rule, subject, services) if isinstance(subject, QuietBatchSubject) else None) or request
    decision = execute(request, services, deadline)  # returned, not raised: settled, waiting or failed for good
    found = services.ledger.read(request.record_name)
    files = batched_files(LedgerRecord.from_json(found[0], request.record_name) if found else None)
    covered = [entry for entry in batch.entries if (entry.blob, entry.etag) in files]

    def advance(current: dict[str, Any] | None) -> dict[str, Any]:
        state = FolderState(batch.folder, covered[0].arrived) if current is None else FolderState.from_json(current)
        return state.advanced(covered, request.key).to_json()

    if covered:
        services.ledger.swap(folder_state_name(rule.name, batch.folder), advance,
                             metadata=lambda document: FolderState.from_json(document).metadata)
    return decision


def recorded(rule: Rule, subject: QuietBatchSubject, services: Services) -> RunRequest | None:
    """The request of the quiet batch a record's subject names, on the files it lists (None: it lists none). Its
    folder's state is advanced by the next tick, once the record is settled."""
    oldest = recorded_oldest(subject)
    return None if oldest is None else recorded_request(rule, subject, _url(services, oldest))


def _url(services: Services, blob: str) -> str:
    return redact_url(services.watched.get_blob_client(blob).url)
