"""Quiet windows: a file version joins its folder's open batch (one conditional create in the ledger container),
and a timer over that ledger state starts one run per folder that has been quiet for the rule's window."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceExistsError

from shared.clients.services import Services
from shared.flows.run_steps import execute
from shared.rules.batches import marker_folder
from shared.rules.config_model import Rule
from shared.rules.decisions import Decision, Outcome, log_decision
from shared.rules.errors import each_then_retry
from shared.rules.quiet_windows import (
    Entry,
    FolderState,
    OpenBatch,
    batched_files,
    by_folder,
    entries_prefix,
    entry_metadata,
    entry_name,
    folder_state_name,
    folders_prefix,
    open_batch,
    quiet_request,
)
from shared.rules.run_requests import BlobVersion
from shared.rules.targets import redact_url

SETTLED = {Outcome.SUBMITTED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.REJECTED, Outcome.WAITING}
"""Outcomes after which the batch's record is settled (or waits for its rule's gate, which starts it): its folder's
state then covers its entries, so they leave the open batch."""


def collect(rule: Rule, version: BlobVersion, services: Services) -> Decision:
    """Add ``version`` to its folder's open batch, once: a redelivery (even after the batch ran) adds nothing."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    name = entry_name(rule.name, version.container, version.name, version.etag)
    where: dict[str, Any] = {"rule": rule.name, "container": version.container, "blob": version.name,
                             "etag": version.etag, "folder": marker_folder(version.name)}
    try:
        services.ledger.container.get_blob_client(name).upload_blob(
            b"", overwrite=False, metadata=entry_metadata(version.name, version.etag))
    except ResourceExistsError:
        return log_decision(Decision(Outcome.DUPLICATE, reason="already collected into its folder's batch", **where))
    return log_decision(Decision(Outcome.COLLECTED, reason=f"joined the open batch of {where['folder']!r}: one run "
                                 f"starts after {rule.quiet_window.seconds} s without a new file", **where))


def read_entries(rule: Rule, services: Services) -> Iterator[Entry]:
    """Every entry of ``rule`` the lifecycle rule has not deleted yet, from one listing (a request per 5,000)."""
    for page in services.ledger.listing(entries_prefix(rule.name)):
        for blob in page:
            yield Entry.listed(blob.name, blob.metadata or {}, blob.last_modified)


def read_states(rule: Rule, services: Services) -> dict[str, FolderState]:
    """Each folder's cut-off as its state's listing metadata says: one listing, no document read."""
    states = (FolderState.listed(blob.metadata) for page in services.ledger.listing(folders_prefix(rule.name))
              for blob in page if blob.metadata)
    return {state.folder: state for state in states}


def rule_batches(rule: Rule, services: Services) -> list[OpenBatch]:
    """``rule``'s open batches, one per folder with open entries, in folder order, with when each fires. A folder
    state's names are read only when the listing holds more entries of its cut-off's second than it covers."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    states = read_states(rule, services)
    batches = []
    for folder, entries in sorted(by_folder(read_entries(rule, services)).items()):
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
    deadline = services.monotonic() + services.config.retry.deadline
    due = [(rule, batch) for rule in services.config.rules if rule.quiet_window is not None
           for batch in rule_batches(rule, services) if batch.fires_at <= services.now()]
    return each_then_retry(partial(fire, rule, batch, services, deadline) for rule, batch in due)


def fire(rule: Rule, batch: OpenBatch, services: Services, deadline: float) -> Decision:
    """The batch's one run through the exactly-once protocol, then its folder's state advanced past the entries
    its settled record lists (one conditional swap): until then the same key comes back."""
    container = services.config.watch_container
    oldest_url = redact_url(services.watched.get_blob_client(batch.oldest.blob).url)
    request = quiet_request(rule, batch, container, oldest_url)
    decision = execute(request, services, deadline)
    if decision.outcome not in SETTLED:
        return decision
    found = services.ledger.read(request.record_name)
    files = batched_files(found[0] if found else {})
    covered = [entry for entry in batch.entries if (entry.blob, entry.etag) in files]

    def advance(current: dict[str, Any] | None) -> dict[str, Any]:
        state = FolderState(batch.folder, covered[0].arrived) if current is None else FolderState.from_json(current)
        return state.advanced(covered, request.key).to_json()

    if covered:
        services.ledger.swap(folder_state_name(rule.name, batch.folder), advance,
                             metadata=lambda document: FolderState.from_json(document).metadata)
    return decision
