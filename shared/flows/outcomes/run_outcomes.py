"""What Azure ML says of a run lands on its record: from a run event, or from the fallback's GET.

The record is found from the run's labels alone (``trigger_key`` with its rule or schedule: no listing), updated
with one read and one conditional write (a write lost to a concurrent event reads and merges again), and the
status merged by ``shared.core.ledger.run_status.merged``, so repeated and out-of-order events end the same. When a run
first reaches a terminal status: one decision line (``run_completed``, ``run_failed`` with Azure ML's error,
``run_canceled``), its slot freed, and the data a failed only_if_new_data run used released. The write that ends
the run drops the record's open tags in the same request, so the event costs the read and the write alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients.aml.aml_client import SubmitError
from shared.clients.process.services import Services
from shared.core.aml.run_reads import status_read
from shared.core.aml.targets import Target
from shared.core.common.errors import TriggerError, Unavailable
from shared.core.config.config_model import AppConfig, Rule, RunSpec, Schedule
from shared.core.ledger.decisions import Decision, Outcome, log_decision, log_event
from shared.core.ledger.keys import (
    RecordName,
    blob_version_key,
    parse_iso,
    record_name,
    rule_namespace,
    schedule_data_namespace,
    schedule_namespace,
)
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_limits import GATE_PREFIX, RunLimit
from shared.core.ledger.run_status import RunOutcome, RunStatus, merged, moment
from shared.core.outcomes.run_events import RecordRef, event_id, implausible_time, parse_run_event, record_for
from shared.flows.manual.manual_runs import rerun, started
from shared.flows.runs.run_gates import drop_waiting, free_slot, read_gate
from shared.flows.sweep.sweep import CLOCK_MARGIN

_ENDED = {RunStatus.COMPLETED: Outcome.RUN_COMPLETED, RunStatus.FAILED: Outcome.RUN_FAILED,
          RunStatus.CANCELED: Outcome.RUN_CANCELED}


class RecordNotSettledError(Unavailable):
    """The run's record is still claimed (its submitter has not written the run id yet): the event is retried
    later, never written over a claim its owner is about to settle."""


def record_run_event(envelope: Mapping[str, Any], services: Services) -> Decision | None:
    """One run event (either schema) onto its record. Ignored, with a logged reason: other event types, runs the
    app did not start, events from another workspace. MalformedEventError: refused, the host retries it."""
    event = parse_run_event(envelope)
    if isinstance(event, str):
        return _ignored(event, event_id=event_id(envelope))
    ref = record_for(event.labels)
    if isinstance(ref, str):
        return _ignored(ref, run_id=event.run_id, event_id=event.id)
    about = {"rule": ref.rule, "schedule": ref.schedule, "key": ref.key, "run_id": event.run_id, "event_id": event.id}
    run = run_spec(services.config, ref)
    if run is None:
        return _ignored(f"{ref.schedule or ref.rule} is not in the configuration: its workspace is unknown", **about)
    if run.target.workspace is None or event.workspace.rstrip("/").lower() != workspace_id(run.target).lower():
        return _ignored(f"the event comes from {event.workspace or 'no workspace'}, not the workspace "
                        f"{ref.schedule or ref.rule} runs in", **about)
    observation = event.observation()
    # Event Grid has its answer when the function returns, within 30 s: the deadline and the settle grace fit in it.
    services = services.within(services.config.retry.run_event)
    deadline = services.monotonic() + services.config.retry.deadline
    if observation.status is RunStatus.FAILED:  # events carry no error: Azure ML's own word on why
        observation = merged(observation, _asked(services, run.target, event.run_id, deadline, about)
                             or observation)
    return observe_run(services, ref, event.run_id, observation, about, deadline, event_time=event.time)


def observe_run(services: Services, ref: RecordRef, run_id: str, observation: RunOutcome,
                about: Mapping[str, Any], deadline: float, *, event_time: str | None = None) -> Decision | None:
    """Merge ``observation`` into the record of ``run_id``; the decision when the run just ended, else None. The
    waiting trigger a run's end lets start is started before ``deadline`` (monotonic), or left to the fallback. An
    event's time outside its run's life (``implausible_time``) leaves the record as it is, the reason logged."""
    name = record_name(ref.namespace, ref.key)
    refused: list[str] = []

    def change(record: LedgerRecord) -> LedgerRecord | None:
        if record.state == RunState.CLAIMED:
            raise RecordNotSettledError(f"{name} is still claimed: its run {run_id} is not recorded yet")
        if record.state != RunState.SUBMITTED or record.run_id != run_id:
            refused.append(f"the record is {record.state} with run {record.run_id}, not run {run_id}")
            return None
        implausible = None if event_time is None else implausible_time(
            event_time, record.first_claimed_at or record.claimed_at, services.now())
        if implausible:
            refused.append(f"{implausible}: the event is not taken (the fallback asks Azure ML)")
            return None
        return record.with_outcome(merged(record.outcome, observation))

    result = services.ledger.update(name, change)
    if result is None or refused:
        return _ignored(refused[0] if refused else f"no record {name}", **about)
    before, after = result
    was, now = before.outcome, after.outcome
    assert now is not None, "a submitted record's update always leaves an outcome"
    ended = now.terminal and (was is None or was.status is not now.status)
    if not ended:
        return None
    _turn_over(services, ref, deadline)  # a crash before it leaves the slot held: the fallback's tick frees it
    if now.status is not RunStatus.COMPLETED and ref.schedule is not None:
        _release_data(services, ref.schedule, after, run_id, now)
    error = now.error or {}
    return log_decision(Decision(_ENDED[now.status], run_status=now.status.value, reason=error.get("message"),
                                 duration_seconds=now.duration_seconds, error_code=error.get("code"),
                                 run_url=after.extra.get("run_url"), **about))


def poll_open_runs(services: Services, *, budget: float, max_runs: int) -> dict[str, int]:
    """The fallback where run events are not wired: ask Azure ML about runs submitted and not yet seen to end,
    oldest first, at most ``max_runs`` and within ``budget`` seconds, each GET bounded by the submission deadline.
    Its requests grow with the runs in flight (one Find Blobs by Tags, then one GET and one record update each),
    never with the records the ledger holds. A run just ended may still be indexed as open: its GET says ended and
    its record, read by the update, already knows, so nothing is written."""
    started = services.monotonic()
    stop = started + budget
    report = {"open": 0, "asked": 0, "ended": 0, "unanswered": 0, "left": 0}
    runs = services.ledger.active_runs()
    report["open"] = len(runs)
    for active in runs:
        remaining = stop - services.monotonic()
        if report["asked"] >= max_runs or remaining < services.config.retry.attempt_timeout:
            report["left"] += 1
            continue
        ref = record_ref(active.record)
        run = None if ref is None else run_spec(services.config, ref)
        about = {"rule": ref.rule, "schedule": ref.schedule, "key": ref.key} if ref else {"record": active.record}
        about = {**about, "run_id": active.run_id}
        if ref is None or run is None:
            log_event(logging.WARNING, problem="an active run's rule or schedule is not in the configuration",
                      **about)
            report["unanswered"] += 1
            continue
        report["asked"] += 1
        deadline = services.monotonic() + min(remaining, services.config.retry.deadline)
        observation = _asked(services, run.target, active.run_id, deadline, about)
        if observation is None:
            report["unanswered"] += 1
            continue
        try:
            decision = observe_run(services, ref, active.run_id, observation, about, deadline)
        except (RecordNotSettledError, AzureError) as error:
            log_event(logging.WARNING, problem=f"status not recorded this time: {type(error).__name__}", **about)
            continue
        report["ended"] += decision is not None
    triggers: tuple[Rule | Schedule, ...] = (*services.config.rules, *services.config.schedules)
    indexed = {run.record for run in runs}
    for trigger in triggers:
        if trigger.limit is not None:  # a start cut short by a crash or a failure for now: its turn again
            _free_ended_slots(services, _namespace(trigger), indexed, _within(services, stop))
            start_waiting(services, _namespace(trigger), trigger.limit, _within(services, stop))
    _start_unlimited(services, {_namespace(trigger): trigger for trigger in triggers}, _within(services, stop))
    log_event(logging.INFO, fallback="run status", **report)
    return report


def run_spec(config: AppConfig, ref: RecordRef) -> RunSpec | None:
    """The run of the rule or schedule ``ref`` belongs to, as configured now: where its status is asked."""
    trigger = _trigger(config, ref)
    return None if trigger is None else trigger.run


def _trigger(config: AppConfig, ref: RecordRef) -> Rule | Schedule | None:
    """The rule or schedule ``ref`` belongs to, as configured now."""
    if ref.schedule is not None:
        return next((schedule for schedule in config.schedules if schedule.name == ref.schedule), None)
    return next((rule for rule in config.rules if rule.name == ref.rule), None)


def _within(services: Services, stop: float) -> float:
    """The fallback's deadline for one more piece of work: a submission's, cut at the end of its budget."""
    return min(stop, services.monotonic() + services.config.retry.deadline)


def start_waiting(services: Services, namespace: str, limit: RunLimit, deadline: float) -> list[Decision]:
    """Start the triggers waiting at ``namespace``'s gate while slots are free, oldest first (policy queue; the one
    kept, policy latest): each waiting record is reopened (a failure for now) and run again as its own trigger
    would run it, so its claim, its slot (``take_slot``: its turn) and its POST go through the one protocol. A
    crash anywhere leaves the record waiting or failed for now, and the gate naming it: the next run's end or the
    fallback's tick starts it, and its claim makes that once."""
    gate = read_gate(services, namespace)
    decisions: list[Decision] = []
    for _ in range(len(gate.waiting)):
        record = gate.next_up(limit)
        if record is None:
            break
        try:
            decision = _take_turn(services, namespace, record, f"a slot is free (max_active_runs {limit.most})",
                                  deadline)
        except TriggerError:
            break  # left failed for now and waiting: the next run's end or the fallback's tick tries again
        if decision is not None:
            decisions.append(decision)
        gate = read_gate(services, namespace)
    return decisions


def _start_unlimited(services: Services, triggers: Mapping[str, Rule | Schedule], deadline: float) -> None:
    """Gates whose rule or schedule has no limit any more (``max_active_runs`` removed): no run's end looks at them,
    so their waiting triggers start here, each once (their claims), and leave the gate. One listing of the gates;
    a gate of a rule or schedule no longer configured is left as it is, logged."""
    for page in services.ledger.listing(GATE_PREFIX):
        for blob in page:
            namespace = str(blob.name).removeprefix(GATE_PREFIX).removesuffix(".json")
            trigger = triggers.get(namespace)
            if trigger is not None and trigger.limit is not None:
                continue  # its own limit's turn, above
            waiting = read_gate(services, namespace).waiting
            if trigger is None:
                if waiting:
                    log_event(logging.WARNING, problem="a gate's rule or schedule is not in the configuration: "
                              "its waiting triggers are left as they are", gate=blob.name,
                              waiting=[entry.record for entry in waiting])
                continue
            for entry in waiting:
                try:
                    if _take_turn(services, namespace, entry.record, "max_active_runs was removed",
                                  deadline) is not None:
                        drop_waiting(services, namespace, entry.record)
                except TriggerError:
                    continue  # left failed for now and waiting: the next tick tries again


def _take_turn(services: Services, namespace: str, record: str, why: str, deadline: float) -> Decision | None:
    """Reopen the waiting ``record`` (a failure for now) and run it again as its own trigger would, so its claim,
    its slot (``take_slot``: its turn) and its POST go through the one protocol: its decision. None: it was not
    waiting any more or can never start, and is dropped from the gate (logged). TriggerError, retryable (logged):
    it is left failed for now and waiting."""
    turn = services.ledger.update(record, lambda current: current.reopened(_now(services), f"its turn: {why}")
                                  if current.state == RunState.WAITING else None)
    after = None if turn is None else turn[1]
    about = {"record": record}
    if after is None or not (after.state == RunState.CLAIMED
                             or (after.state == RunState.FAILED and after.retryable)):
        log_event(logging.WARNING, problem="a waiting trigger's record is not waiting any more; dropped from the "
                  "gate", state=None if after is None else after.state, **about)
        drop_waiting(services, namespace, record)
        return None
    try:
        return started(rerun(services, record, after.subject, deadline))
    except TriggerError as error:
        log_event(logging.WARNING, problem=f"a waiting trigger could not start: {error}", **about)
        if error.retryable:
            raise
        drop_waiting(services, namespace, record)
        return None


def record_ref(name: str) -> RecordRef | None:
    """The record a record name points to (``rules/<rule>/<key>.json``, ``manual/...``, ``schedules/...``)."""
    try:
        kind, owner, key = parsed = RecordName.parse(name)
    except ValueError:
        return None
    if kind == "schedules":
        return RecordRef(parsed.namespace, key, schedule=owner)
    return RecordRef(parsed.namespace, key, rule=owner) if kind in ("rules", "manual") else None


def workspace_id(target: Target) -> str:
    """The workspace's resource id as Event Grid names it in ``topic`` / ``source``."""
    workspace = target.workspace
    assert workspace is not None
    return (f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.name}")


def _asked(services: Services, target: Target, run_id: str, deadline: float,
           about: Mapping[str, Any]) -> RunOutcome | None:
    """Azure ML's own answer on ``run_id`` (status, times, error), or None (logged) when it gives none."""
    read = status_read(target, run_id)
    if read is None:
        log_event(logging.WARNING, problem="the run's status cannot be asked: its target names no workspace", **about)
        return None
    try:
        outcome = read.outcome(services.submitter.read_json(read.url, read.scope, deadline), _now(services))
    except (SubmitError, ValueError) as error:
        log_event(logging.WARNING, problem=f"Azure ML gave no status: {error}", **about)
        return None
    if not outcome.terminal or read.times_url is None:
        return outcome
    try:  # a v2 job ended: its times (and error) are run history's, one GET more
        return read.with_times(outcome, services.submitter.read_json(read.times_url, read.scope, deadline),
                               _now(services))
    except (SubmitError, ValueError) as error:
        log_event(logging.WARNING, problem=f"the ended job's times are unknown: run history gave none: {error}",
                  **about)
        return outcome


def _turn_over(services: Services, ref: RecordRef, deadline: float) -> None:
    """A run of a limited rule or schedule ended: its slot is free, and the next waiting trigger starts."""
    trigger = _trigger(services.config, ref)
    if trigger is None or trigger.limit is None:
        return
    free_slot(services, ref.namespace, record_name(ref.namespace, ref.key))
    start_waiting(services, ref.namespace, trigger.limit, deadline)


def _free_ended_slots(services: Services, namespace: str, indexed: set[str], deadline: float) -> None:
    """Free the slots of runs that ended while their slot stayed held (a crash between the write that ended the run
    and ``_turn_over``): only holders the open-runs index does not name are read, so a healthy gate costs its one
    read; a holder whose record is claimed within its expiry, or submitted and open, keeps its slot. A holder left
    failed for now (its own retries used up: a schedule's timer gives up after 5) or claimed past its expiry (its
    owner killed: no retry follows), with no sweep covering schedules, would hold its slot forever with nothing in
    flight to free it: it is run again, as a waiting trigger's turn is (its claim makes that once, an abandoned one
    looked up in Azure ML first), and one that can never start frees its slot."""
    for holder in read_gate(services, namespace).active:
        if holder in indexed:
            continue
        found = services.ledger.read(holder)
        record = None if found is None else LedgerRecord.from_json(found[0], holder)
        outcome = None if record is None else record.outcome
        if record is None or (record.state == RunState.SUBMITTED and outcome is not None and outcome.terminal):
            free_slot(services, namespace, holder)
        elif _needs_work(services, record):
            try:
                started(rerun(services, holder, record.subject, deadline))
            except TriggerError as error:
                log_event(logging.WARNING, problem=f"a slot holder left failed for now could not start: {error}",
                          record=holder)
                if not error.retryable:
                    free_slot(services, namespace, holder)


def _needs_work(services: Services, record: LedgerRecord) -> bool:
    """Failed for now, or claimed past its own expiry by this machine's clock (less a margin for the difference
    from storage's, which the claim then judges by)."""
    since = record.claimed_at or record.updated_at
    age = 0.0 if since is None else (services.now() - parse_iso(since)).total_seconds()
    return record.judged(age, services.config.claim_expiry, CLOCK_MARGIN).needs_work


def _release_data(services: Services, schedule: str, record: LedgerRecord, run_id: str, ended: RunOutcome) -> None:
    """An only_if_new_data schedule's data whose run failed or was canceled is free again: its data record, if it
    still names this run, becomes a failure for now, which a later occurrence takes over and submits."""
    data = record.extra.get("data")
    if not isinstance(data, Mapping) or not data.get("blob") or not data.get("etag"):
        return
    key = blob_version_key(services.config.watch_container, str(data["blob"]), str(data["etag"]))
    reason = f"its run {run_id} ended {ended.status.value} in Azure ML; a later occurrence may use it"

    def release(claim: LedgerRecord) -> LedgerRecord | None:
        if claim.state != RunState.SUBMITTED or claim.run_id != run_id:
            return None
        return claim.reopened(_now(services), reason)

    services.ledger.update(record_name(schedule_data_namespace(schedule), key), release)


def _now(services: Services) -> str:
    return moment(services.now())


def _ignored(reason: str, **about: Any) -> Decision:
    return log_decision(Decision(Outcome.IGNORED, reason=reason,
                                 **{name: value for name, value in about.items() if value is not None}))


def _namespace(trigger: Rule | Schedule) -> str:
    return schedule_namespace(trigger.name) if isinstance(trigger, Schedule) else rule_namespace(trigger.name)
