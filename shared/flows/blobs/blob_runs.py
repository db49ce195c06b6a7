"""A new blob version -> exactly one pipeline run per matching rule, with every decision logged and recorded.

Order of work for one blob: match rules by name (no I/O), read at most the first 64 KiB (one ranged GET that
also yields the version's ETag and size), then per rule: claim the key in the ledger, validate, POST, settle
(``shared.flows.runs.run_steps.execute``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from azure.storage.blob import BlobClient

from shared.clients.blobs.blob_data import read_blob_version
from shared.clients.process.services import Services
from shared.core.blobs.blob_names import blob_name_problem
from shared.core.common.errors import each_then_retry
from shared.core.config.config_model import Rule
from shared.core.config.matching import split_rules
from shared.core.ledger.decisions import Decision, Outcome, log_decision
from shared.core.runs.run_requests import BlobVersion, rule_request
from shared.flows.runs.run_steps import execute


def process_blob(blob: BlobClient, services: Services, *, expected_etag: str | None = None,
                 only: Sequence[Rule] | None = None, deadline: float | None = None) -> list[Decision]:
    """Start the runs a new blob calls for (``only`` those rules, for an operator's retry).

    ``deadline`` (monotonic) bounds the work when the caller has less time than SUBMIT_DEADLINE_SECONDS (an
    HTTP request). Raises a retryable error only after every rule had its turn.
    """
    config = services.config
    where: dict[str, Any] = {"container": blob.container_name, "blob": blob.blob_name}
    if blob.container_name != config.watch_container:
        return [log_decision(Decision(Outcome.IGNORED, reason=f"container is not {config.watch_container!r}", **where))]
    unsafe = blob_name_problem(blob.blob_name, supplied=False)
    if unsafe:  # the host names blobs that exist, but a name HTTP clients rewrite must not steer a read elsewhere
        return [log_decision(Decision(Outcome.IGNORED, reason=f"blob name refused: it {unsafe}", **where))]
    rules, mismatches = split_rules(config.rules if only is None else only, blob.blob_name)
    if not rules:
        reason = "no rule matches: " + "; ".join(f"{name}: {why}" for name, why in mismatches.items())
        return [log_decision(Decision(Outcome.IGNORED, reason=reason, **where))]
    version = read_blob_version(blob, expected_etag, empty_ok=any(rule.marker for rule in rules))
    if isinstance(version, str):
        return [log_decision(Decision(Outcome.IGNORED, reason=version, etag=expected_etag, **where))]

    deadline = services.clock.monotonic() + config.retry.deadline if deadline is None else deadline
    return each_then_retry(partial(run_rule, rule, version, services, deadline) for rule in rules)


def run_rule(rule: Rule, version: BlobVersion, services: Services, deadline: float) -> Decision:
    """The run of one blob version for one rule, whether its event, the sweep or an operator's submit asks; under
    a quiet window, the version joins its folder's open batch instead."""
    if rule.quiet_window is not None:
        from shared.flows.quiet_windows.quiet_windows import collect  # such rules only: not every cold start's

        return collect(rule, version, services)
    return execute(rule_request(rule, version), services, deadline)
