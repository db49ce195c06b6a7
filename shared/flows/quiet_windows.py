"""Quiet windows: a file version joins its folder's open batch (one conditional create in the ledger container),
and a timer over that ledger state starts one run per folder that has been quiet for the rule's window."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceExistsError

from shared.clients.services import Services
from shared.flows.run_steps import execute
from shared.rules.config_model import Rule
from shared.rules.decisions import Decision, Outcome, log_decision
from shared.rules.errors import each_then_retry
from shared.rules.quiet_windows import (
    Entry,
    OpenBatch,
    batched_files,
    entries_prefix,
    entry_name,
    open_batches,
    quiet_request,
)
from shared.rules.run_requests import BlobVersion
from shared.rules.targets import redact_url

SETTLED = {Outcome.SUBMITTED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.REJECTED}
"""Outcomes after which the batch's record is settled: its entries are marked, so they leave the open batch."""
MARKERS = 8
"""Entry marks in flight at once (all but the oldest, which is marked alone, last)."""


def collect(rule: Rule, version: BlobVersion, services: Services) -> Decision:
    """Add ``version`` to its folder's open batch, once: a redelivery (even after the batch ran) adds nothing."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    entry = Entry(entry_name(rule.name, version.container, version.name, version.etag), version.name,
                  version.etag, services.now())
    where: dict[str, Any] = {"rule": rule.name, "container": version.container, "blob": version.name,
                             "etag": version.etag, "folder": entry.folder}
    try:
        services.ledger.container.get_blob_client(entry.name).upload_blob(b"", overwrite=False,
                                                                           metadata=entry.metadata)
    except ResourceExistsError:
        return log_decision(Decision(Outcome.DUPLICATE, reason="already collected into its folder's batch", **where))
    return log_decision(Decision(Outcome.COLLECTED, reason=f"joined the open batch of {entry.folder!r}: one run "
                                 f"starts after {rule.quiet_window.seconds} s without a new file", **where))


def read_entries(rule: Rule, services: Services) -> Iterator[Entry]:
    """Every entry of ``rule``, from one listing (a request per 5,000 entries)."""
    for page in services.ledger.listing(entries_prefix(rule.name)):
        for blob in page:
            yield Entry.from_metadata(blob.name, blob.metadata or {})


def rule_batches(rule: Rule, services: Services) -> list[OpenBatch]:
    """``rule``'s open batches, one per folder, with when each fires."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    return open_batches(read_entries(rule, services), rule.quiet_window.seconds)


def fire_due(services: Services) -> list[Decision]:
    """Start the run of every open batch whose folder has been quiet for its rule's window. A batch that failed
    for now stays open for the next tick; the first such error is raised once every batch had its turn."""
    deadline = services.monotonic() + services.config.retry.deadline
    due = [(rule, batch) for rule in services.config.rules if rule.quiet_window is not None
           for batch in rule_batches(rule, services) if batch.fires_at <= services.now()]
    return each_then_retry(partial(fire, rule, batch, services, deadline) for rule, batch in due)


def fire(rule: Rule, batch: OpenBatch, services: Services, deadline: float) -> Decision:
    """The batch's one run through the exactly-once protocol, then its entries marked with the batch's key,
    from the list its settled record keeps, the oldest last: until then the same key comes back."""
    container = services.config.watch_container
    oldest_url = redact_url(services.watched.get_blob_client(batch.oldest.blob).url)
    request = quiet_request(rule, batch, container, oldest_url)
    decision = execute(request, services, deadline)
    if decision.outcome not in SETTLED:
        return decision
    found = services.ledger.read(request.record_name)
    open_entries = {entry.name: entry for entry in batch.entries}
    listed = [open_entries.get(entry_name(rule.name, container, blob, etag))
              for blob, etag in batched_files(found[0] if found else {})]
    to_mark = [entry for entry in listed if entry is not None]

    def mark(entry: Entry) -> None:
        marked = dataclasses.replace(entry, batch=request.key)
        services.ledger.container.get_blob_client(entry.name).set_blob_metadata(marked.metadata)

    with ThreadPoolExecutor(MARKERS) as pool:
        list(pool.map(mark, to_mark[1:]))
    for entry in to_mark[:1]:  # the oldest, last
        mark(entry)
    return decision
