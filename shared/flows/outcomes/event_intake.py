"""A run event from Event Grid (either schema) to an observation of its run, then observed on its record.

The record is found from the run's labels alone (``trigger_key`` with its rule or schedule: no listing); an event
from another workspace, or about a run the app did not start, is ignored with a logged reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clients.process.services import Services
from shared.core.ledger.decisions import Decision
from shared.core.ledger.run_status import RunStatus, merged
from shared.core.outcomes.record_changes import ignored
from shared.core.outcomes.run_events import event_id, parse_run_event, record_for
from shared.core.outcomes.run_records import run_spec, workspace_id
from shared.flows.outcomes.run_outcomes import observe_run
from shared.flows.outcomes.status_reads import ask_status


def record_run_event(envelope: Mapping[str, Any], services: Services) -> Decision | None:
    """One run event (either schema) onto its record. Ignored, with a logged reason: other event types, runs the
    app did not start, events from another workspace. MalformedEventError: refused, the host retries it."""
    event = parse_run_event(envelope)
    if isinstance(event, str):
        return ignored(event, event_id=event_id(envelope))
    ref = record_for(event.labels)
    if isinstance(ref, str):
        return ignored(ref, run_id=event.run_id, event_id=event.id)
    about = {"rule": ref.rule, "schedule": ref.schedule, "key": ref.key, "run_id": event.run_id, "event_id": event.id}
    run = run_spec(services.config, ref)
    if run is None:
        return ignored(f"{ref.schedule or ref.rule} is not in the configuration: its workspace is unknown", **about)
    if run.target.workspace is None or event.workspace.rstrip("/").lower() != workspace_id(run.target).lower():
        return ignored(f"the event comes from {event.workspace or 'no workspace'}, not the workspace "
                       f"{ref.schedule or ref.rule} runs in", **about)
    observation = event.observation()
    # Event Grid has its answer when the function returns, within 30 s: the deadline and the settle grace fit in it.
    services = services.within(services.config.retry.run_event)
    deadline = services.clock.monotonic() + services.config.retry.deadline
    if observation.status is RunStatus.FAILED:  # events carry no error: Azure ML's own word on why
        observation = merged(observation, ask_status(services, run.target, event.run_id, deadline, about)
                             or observation)
    return observe_run(services, ref, event.run_id, observation, about, deadline, event_time=event.time)
