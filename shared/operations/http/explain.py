"""What a blob or an Event Grid event would start, and why: the rules it matches, the exact request each would
send. Reads what the blob trigger reads, sends nothing to Azure ML and writes nothing."""

from __future__ import annotations

from typing import Any

from shared.clients.blobs.blob_data import read_blob_version, with_listed_files
from shared.clients.process.services import Services
from shared.core.blobs.batches import marker_folder
from shared.core.blobs.blob_events import blob_from_event
from shared.core.common.errors import InvalidInput
from shared.core.common.redaction import MASK, looks_secret, secret_name
from shared.core.config.config_model import Rule, RunSpec
from shared.core.config.matching import split_rules
from shared.core.ledger.keys import iso, rule_namespace
from shared.core.ledger.run_limits import RunLimit
from shared.core.runs.run_requests import BlobVersion, RunRequest, disabled_reason, rule_request
from shared.flows.manual.manual_runs import safe_name
from shared.flows.quiet_windows.quiet_windows import rule_batches
from shared.flows.runs.run_gates import read_gate


def explain(services: Services, *, blob: str | None = None, event: Any = None) -> dict[str, Any]:
    """Which rules a blob (or event) matches, why the others don't, and the exact request each would send.

    Reads what the blob trigger reads (the first 64 KiB), sends nothing to Azure ML and writes nothing.
    """
    if (blob is None) == (event is None) or (blob is not None and not blob.strip()):
        raise InvalidInput("give either blob (a path in the watched container) or event (a BlobCreated event)")
    container, name, etag = ((services.config.watch_container, safe_name(blob, "blob"), None) if blob
                             else blob_from_event(event, account=services.config.watch_storage.account_name))
    answer: dict[str, Any] = {"container": container, "blob": name, "sent": "nothing"}
    if container != services.config.watch_container:
        return {**answer, "rules": [], "outcome": f"ignored: container is not {services.config.watch_container!r}"}
    matched, mismatches = split_rules(services.config.rules, name)
    answer["rules"] = [{"rule": rule, "matches": False, "reason": why} for rule, why in mismatches.items()]
    if not matched:
        return {**answer, "outcome": "ignored: no rule matches"}
    version = read_blob_version(services.watched.get_blob_client(name), etag,
                                empty_ok=any(rule.marker for rule in matched))
    if isinstance(version, str):
        return {**answer, "etag": etag, "outcome": f"ignored: {version}"}
    answer["etag"] = version.etag
    for rule in matched:
        answer["rules"].append(_explain_quiet(rule, version, services) if rule.quiet_window
                               else _explain_rule(rule_request(rule, version), services))
    return {**answer, "outcome": "runs would start for the matching rules that are enabled and not rejected"}


def _explain_quiet(rule: Rule, version: BlobVersion, services: Services) -> dict[str, Any]:
    """A quiet-window rule's batch state for the blob's folder: the files in its open batch and when it fires;
    under ``max_active_runs``, whether its batch would start or wait for a slot if it fired now (its gate)."""
    assert rule.quiet_window is not None, "a quiet-window rule"
    folder = marker_folder(version.name)
    batch = next((batch for batch in rule_batches(rule, services) if batch.folder == folder), None)
    state: dict[str, Any] = {"folder": folder, "window_seconds": rule.quiet_window.seconds}
    if rule.limit is not None:
        gate = _limit(services, rule_namespace(rule.name), rule.limit)
        state |= {"max_active_runs": gate, "when_it_fires": "would submit" if gate["free"] else "would wait"}
    if batch is None:
        return {"rule": rule.name, "matches": True, "outcome": "would join a new batch for its folder", **state}
    files = [{"blob": entry.blob, "etag": entry.etag, "arrived": iso(entry.arrived)} for entry in batch.entries]
    return {"rule": rule.name, "matches": True, "outcome": "collected into the open batch" if any(
        entry.blob == version.name and entry.etag == version.etag for entry in batch.entries)
        else "would join the open batch", **state, "open_batch": {"files": files, "fires_at": iso(batch.fires_at)}}


def _explain_rule(request: RunRequest, services: Services) -> dict[str, Any]:
    rule = str(request.about["rule"])
    if request.disabled:
        return {"rule": rule, "matches": True, "enabled": False, "key": request.key,
                "outcome": f"skipped: {disabled_reason(rule)}"}
    request = with_listed_files(request, services.watched)  # what the manifest's files are now
    problem = request.problem()
    if problem:
        return {"rule": rule, "matches": True, "key": request.key, "outcome": f"rejected: {problem}"}
    rendered = request.rendered()  # the values the POST would carry, then masked as a log masks them
    shown = rendered._replace(run=_shown_run(rendered.run)).submission()
    limit = request.limit
    limited = {} if limit is None else {"max_active_runs": _limit(services, request.namespace, limit)}
    outcome = "would submit" if limit is None or limited["max_active_runs"]["free"] else "would wait"
    resolves = {} if shown.latest is None else {"resolves_first": {
        "method": "GET", "url": shown.latest.url,
        "then": f"properties.componentId is the newest version of azureml:{shown.latest.name}@latest"}}
    return {"rule": rule, "matches": True, "key": request.key, "outcome": outcome, **limited,
            "request": {"method": shown.method, "url": shown.url, "token_scope": shown.scope,
                        "headers": dict(shown.headers), **resolves, "body": shown.body}}


def _limit(services: Services, namespace: str, limit: RunLimit) -> dict[str, Any]:
    """The rule's limit and its gate now (one read): the runs holding slots, the triggers waiting, oldest first."""
    gate = read_gate(services, namespace)
    return {"limit": limit.most, "policy": limit.policy, "active": list(gate.active),
            "waiting": [entry.record for entry in gate.waiting], "free": gate.has_room(limit) and not gate.waiting,
            "describes": limit.describe()}


def _shown_run(run: RunSpec) -> RunSpec:
    """``run`` as explain shows it: a parameter whose name or value looks secret is ``***`` (the POST sends it)."""
    parameters = {name: MASK if secret_name(name) or (isinstance(value, str) and looks_secret(value)) else value
                  for name, value in run.parameters.items()}
    return run._replace(parameters=parameters)
