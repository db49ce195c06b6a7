"""Where each workspace's run history is, found by the workspace's discovery once per process and kept: an ended v2
job whose target names no region (a pipeline job, whose target is ARM's host) reads its times and error there.

The cost is ARM's workspace GET and the discovery document's GET once per process per workspace; then one run-history
GET per ended job. A failure is kept only ``retry_after`` seconds: the outcomes ending meanwhile (a fallback tick's
batch, concurrent events) share it instead of each asking again, and the next outcome after it asks again.
"""

from __future__ import annotations

import threading
from typing import NamedTuple
from urllib.parse import urlsplit

from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.core.aml.run_lookup import arm_root
from shared.core.aml.targets import Target, Workspace, is_loopback
from shared.core.common.errors import TriggerError
from shared.core.common.redaction import mask_text

RETRY_DISCOVERY_AFTER = 30.0
"""Seconds a failed discovery is kept before an outcome asks again: shorter than a fallback tick, longer than a
burst of events."""


class HistoryUnknown(TriggerError):
    """The workspace's run-history host is not known: its discovery failed or named a host outside the allowlist.
    ``retryable``: whether that may pass (ARM or the discovery document failing for now), not a refusal."""


class _Failed(NamedTuple):
    until: float
    reason: str
    retryable: bool


class HistoryHosts:
    """Each workspace's run-history root, thread-safe: one discovery at a time per workspace, the others wait for
    its result."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, retry_after: float = RETRY_DISCOVERY_AFTER):
        self._clock = clock
        self._retry_after = retry_after
        self._known: dict[str, str | _Failed] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def root(self, submitter: PipelineSubmitter, target: Target, deadline: float) -> str:
        """Run history's root for ``target``'s workspace (which it names), found once and kept; HistoryUnknown
        (its reason masked) when discovery fails now or failed less than ``retry_after`` seconds ago."""
        assert target.workspace is not None, "a status read names its workspace"
        key = f"{arm_root(target)[0]}{target.workspace.arm_path}".lower()
        with self._lock(key):
            known = self._known.get(key)
            if isinstance(known, str):
                return known
            if known is not None and self._clock.monotonic() < known.until:
                raise HistoryUnknown(known.reason, retryable=known.retryable)
            try:
                found = _discover(submitter, target, target.workspace, deadline)
            except TriggerError as error:
                reason = f"run history's host is unknown: the workspace's discovery failed: {mask_text(str(error))}"
                self._known[key] = _Failed(self._clock.monotonic() + self._retry_after, reason, error.retryable)
                raise HistoryUnknown(reason, retryable=error.retryable) from None
            self._known[key] = found
            return found

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def _discover(submitter: PipelineSubmitter, target: Target, workspace: Workspace, deadline: float) -> str:
    """ARM's workspace GET (ARM's token), then its discovery document (no token), then its ``history`` host held to
    the allowlist; a loopback host is allowed only behind a loopback ARM (AML_ALLOW_LOCAL_TARGETS let it in)."""
    from shared.core.aml import workspace_discovery as discovery  # run outcomes only: not the blob path's

    arm = discovery.ArmEndpoint(*arm_root(target))
    allow_local = is_loopback(urlsplit(arm.url).hostname or "")
    answer = submitter.read_json(discovery.workspace_get_url(arm, workspace), arm.scope, deadline)
    document = submitter.read_json(discovery.discovery_url(answer, allow_local=allow_local), None, deadline)
    return discovery.history_root(document, allow_local=allow_local)
