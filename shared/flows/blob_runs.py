"""A new blob version -> exactly one pipeline run per matching rule, with every decision logged and recorded.

Order of work for one blob: match rules by name (no I/O), read at most the first 64 KiB (one ranged GET that
also yields the version's ETag and size), then per rule: claim the key in the ledger, validate, POST, settle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobProperties

from shared.clients.ledger import rule_namespace
from shared.clients.services import Services
from shared.flows.run_steps import Step
from shared.rules.blob_names import blob_name_problem
from shared.rules.config_model import Rule
from shared.rules.csv_head import HEAD_BYTES, csv_head_problem
from shared.rules.decisions import Decision, Outcome, log_decision
from shared.rules.errors import TriggerError
from shared.rules.keys import blob_version_key, normalize_etag
from shared.rules.matching import split_rules
from shared.rules.payloads import DataRef, blob_tags, submission
from shared.rules.targets import redact_url

ZERO_BYTES = "zero-byte blob (its content arrives as a newer version)"


@dataclass(frozen=True)
class BlobVersion:
    """What one ranged read tells about a blob: which version it is, how big, and its first bytes."""

    container: str
    name: str
    url: str
    etag: str
    size: int
    head: bytes

    @property
    def ref(self) -> DataRef:
        return DataRef(path=self.name, url=self.url)


def read_blob_version(blob: BlobClient, expected_etag: str | None = None) -> BlobVersion | str:
    """The blob's current version and first 64 KiB, or why there is nothing to process.

    With ``expected_etag`` (an event that names its version) a newer version is reported, not read: the newer
    version's own event starts its run.
    """
    conditions: dict[str, Any] = {}
    if expected_etag:
        conditions = {"etag": f'"{normalize_etag(expected_etag)}"', "match_condition": MatchConditions.IfNotModified}
    try:
        downloader = blob.download_blob(offset=0, length=HEAD_BYTES, **conditions)
        head = downloader.readall()
    except ResourceNotFoundError:
        return "blob no longer exists"
    except ResourceModifiedError:
        return "blob was overwritten since the event; the newer version's event starts its run"
    except HttpResponseError as error:
        if error.error_code == "InvalidRange":  # a ranged read of an empty blob (ADLS CreateFile before flush)
            return ZERO_BYTES
        raise
    size = _total_size(downloader.properties)
    if size == 0:
        return ZERO_BYTES
    return BlobVersion(
        container=blob.container_name,
        name=blob.blob_name,
        url=redact_url(blob.url),  # a SAS in the client's URL must never travel into a job input or a response
        etag=normalize_etag(downloader.properties.etag),
        size=size,
        head=head,
    )


def _total_size(properties: BlobProperties) -> int:
    """The whole blob's size: for a ranged read ``size`` is the range's, the total is in ``Content-Range``."""
    total = (properties.content_range or "").rpartition("/")[2]
    return int(total) if total.isdigit() else properties.size


def process_blob(blob: BlobClient, services: Services, *, expected_etag: str | None = None,
                 only: Sequence[Rule] | None = None, deadline: float | None = None) -> list[Decision]:
    """Start the runs a new blob calls for (``only`` those rules, for an operator's retry).

    ``deadline`` (monotonic) bounds the work when the caller has less time than SUBMIT_DEADLINE_SECONDS (an
    HTTP request). Raises a retryable error only after every rule had its turn.
    """
    config = services.config
    where = {"container": blob.container_name, "blob": blob.blob_name}
    if blob.container_name != config.watch_container:
        return [log_decision(Decision(Outcome.IGNORED, reason=f"container is not {config.watch_container!r}", **where))]
    unsafe = blob_name_problem(blob.blob_name, supplied=False)
    if unsafe:  # the host names blobs that exist, but a name HTTP clients rewrite must not steer a read elsewhere
        return [log_decision(Decision(Outcome.IGNORED, reason=f"blob name refused: it {unsafe}", **where))]
    rules, mismatches = split_rules(config.rules if only is None else only, blob.blob_name)
    if not rules:
        reason = "no rule matches: " + "; ".join(f"{name}: {why}" for name, why in mismatches.items())
        return [log_decision(Decision(Outcome.IGNORED, reason=reason, **where))]
    version = read_blob_version(blob, expected_etag)
    if isinstance(version, str):
        return [log_decision(Decision(Outcome.IGNORED, reason=version, etag=expected_etag, **where))]

    deadline = services.monotonic() + config.retry.deadline if deadline is None else deadline
    decisions, retry_later = [], []
    for rule in rules:
        try:
            decisions.append(run_rule(rule, version, services, deadline))
        except TriggerError as error:
            if not error.retryable:
                raise
            retry_later.append(error)
    if retry_later:
        raise retry_later[0]
    return decisions


def run_rule(rule: Rule, version: BlobVersion, services: Services, deadline: float) -> Decision:
    """The run of one blob version for one rule, whether its event, the sweep or an operator's submit asks."""
    key = blob_version_key(version.container, version.name, version.etag)
    about = {"rule": rule.name, "container": version.container, "blob": version.name, "etag": version.etag, "key": key}
    step = Step(services, rule_namespace(rule.name), key, about)
    subject = {"kind": "blob", "container": version.container, "blob": version.name, "etag": version.etag,
               "size": version.size}
    done = step.claim_or_duplicate(subject, deadline)
    if done:
        return done
    problem = csv_head_problem(version.head, version.size, rule.run.required_columns)
    if problem:
        return step.settle_without_run(Outcome.REJECTED, problem)
    tags = blob_tags(rule.name, container=version.container, blob_name=version.name, etag=version.etag, key=key)
    return step.submit(rule.run, submission(rule.run, data=version.ref, tags=tags, key=key), deadline)
