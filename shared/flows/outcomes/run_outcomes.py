"""What Azure ML says of a run lands on its record, and what a run's end sets going: the outcomes' state machine.

A run's status comes from its run event (``event_intake``) or, where events are not wired, from the fallback's
GETs (``poll_open_runs``). Then, each step one conditional write of one document, in this order (the words are
the glossary's, docs/architecture.md)::

    observe    a submitted record + what is now known of its run  -> the record, status merged (``merged``: repeated
               and out-of-order observations end the same); the write that ends the run drops its open tags
    (ended)    the run reached a terminal status for the first time -> one decision line (``run_completed``,
               ``run_failed`` with Azure ML's error, ``run_canceled``)
    turn over  a limited rule's or schedule's run ended            -> its slot at the gate freed
    turn       the gate's next waiting record (oldest; policy latest: the one kept) -> reopened "failed for now",
               then run again as its own trigger would (``manual_runs.rerun``: claim, ``take_slot``, POST,
               settle): submitted (it holds the slot), or waiting again, or failed for now (still at the gate)
    release    a schedule's only_if_new_data run ended failed or canceled -> its data record "failed for now",
               which a later occurrence takes over

A crash between two steps leaves a state the next run's end or the fallback's tick picks up, and the claim of the
record run again makes that once: a slot held by an ended run is freed (``_free_ended_slots``), a holder left
failed for now or claimed past its expiry is run again, waiting records take their turn, and the gates of rules
whose limit was removed are emptied (``_start_unlimited``). docs/concepts.md draws it ("What a run's end sets
going").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients.ledger.ledger_claims import ActiveRun
from shared.clients.process.services import Services
from shared.core.aml.run_reads import status_read
from shared.core.aml.targets import Target
from shared.core.common.errors import TriggerError
from shared.core.config.config_model import Rule, Schedule
from shared.core.ledger.decisions import Decision, log_event
from shared.core.ledger.keys import iso_ms, record_name
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.run_limits import GATE_PREFIX, RunLimit
from shared.core.ledger.run_status import RunOutcome, RunStatus, moment
from shared.core.outcomes.record_changes import (
    TIMES_HORIZON,
    RecordNotSettledError,
    can_run_again,
    ended_decision,
    holder_needs_work,
    ignored,
    just_ended,
    observed,
    slot_is_free,
    times_final,
    times_given_up,
    times_settled,
    turn_taken,
)
from shared.core.outcomes.run_events import RecordRef
from shared.core.outcomes.run_records import record_ref, run_spec, trigger_namespace, trigger_of
from shared.flows.manual.manual_runs import rerun, started
from shared.flows.outcomes.data_release import release_data
from shared.flows.outcomes.status_reads import ask_status, history_answer, times_problem
from shared.flows.runs.run_gates import drop_waiting, free_slot, read_gate
from shared.flows.sweep.sweep import CLOCK_MARGIN


def observe_run(services: Services, ref: RecordRef, run_id: str, observation: RunOutcome,
                about: Mapping[str, Any], deadline: float, *, event_time: str | None = None) -> Decision | None:
    """Merge ``observation`` into the record of ``run_id``; the decision when the run just ended, else None. The
    waiting trigger a run's end lets start is started before ``deadline`` (monotonic), or left to the fallback."""
    name = record_name(ref.namespace, ref.key)
    refused: list[str] = []

    def change(record: LedgerRecord) -> LedgerRecord | None:
        after = observed(record, name, run_id, observation, services.clock.now(), event_time)
        if isinstance(after, str):
            refused.append(after)
            return None
        return after

    result = services.ledger.update(name, change)
    if result is None or refused:
        return ignored(refused[0] if refused else f"no record {name}", **about)
    before, after = result
    ended = just_ended(before, after)
    if ended is None:
        return None
    _turn_over(services, ref, deadline)  # a crash before it leaves the slot held: the fallback's tick frees it
    if ended.status is not RunStatus.COMPLETED and ref.schedule is not None:
        release_data(services, ref.schedule, after, run_id, ended)
    return ended_decision(ended, after, about)


def _turn_over(services: Services, ref: RecordRef, deadline: float) -> None:
    """A run of a limited rule or schedule ended: its slot is free, and the next waiting trigger starts."""
    trigger = trigger_of(services.config, ref)
    if trigger is None or trigger.limit is None:
        return
    free_slot(services, ref.namespace, record_name(ref.namespace, ref.key))
    start_waiting(services, ref.namespace, trigger.limit, deadline)


def start_waiting(services: Services, namespace: str, limit: RunLimit, deadline: float) -> list[Decision]:
    """Start the triggers waiting at ``namespace``'s gate while slots are free, oldest first (policy queue; the one
    kept, policy latest), each by its turn (``_take_turn``). A crash anywhere leaves the record waiting or failed
    for now, and the gate naming it: the next run's end or the fallback's tick starts it, and its claim makes that
    once."""
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


def _take_turn(services: Services, namespace: str, record: str, why: str, deadline: float) -> Decision | None:
    """Reopen the waiting ``record`` (a failure for now) and run it again as its own trigger would, so its claim,
    its slot (``take_slot``: its turn) and its POST go through the one protocol: its decision. None: it was not
    waiting any more or can never start, and is dropped from the gate (logged). TriggerError, retryable (logged):
    it is left failed for now and waiting."""
    turn = services.ledger.update(record, lambda current: turn_taken(current, moment(services.clock.now()), why))
    after = None if turn is None else turn[1]
    if not can_run_again(after):
        log_event(logging.WARNING, problem="a waiting trigger's record is not waiting any more; dropped from the "
                  "gate", state=None if after is None else after.state, record=record)
        drop_waiting(services, namespace, record)
        return None
    try:
        return _run_again(services, record, after, deadline)
    except TriggerError as error:
        log_event(logging.WARNING, problem=f"a waiting trigger could not start: {error}", record=record)
        if error.retryable:
            raise
        drop_waiting(services, namespace, record)
        return None


def _run_again(services: Services, record: str, current: LedgerRecord, deadline: float) -> Decision:
    """``record`` run again as its own trigger would run it, rebuilt from its stored subject."""
    return started(rerun(services, record, current.subject, deadline))


def poll_open_runs(services: Services, *, budget: float, max_runs: int) -> dict[str, int]:
    """The fallback where run events are not wired: ask Azure ML about runs submitted and not yet seen to end,
    oldest first, at most ``max_runs`` and within ``budget`` seconds, each GET bounded by the submission deadline;
    then tend every limited rule's gate. Ended runs whose times are pending are found by the same query and asked
    for their times only (``_ask_times_again``). Its requests grow with the runs in flight (one Find Blobs by Tags,
    then one GET and one record update each), never with the records the ledger holds. A run just ended may still
    be indexed as open: its GET says ended and its record, read by the update, already knows, so nothing is
    written."""
    stop = services.clock.monotonic() + budget
    report = {"open": 0, "times": 0, "asked": 0, "ended": 0, "unanswered": 0, "left": 0}
    found = services.ledger.active_runs(times_pending=True)
    runs = [active for active in found if not active.times_pending]
    report["open"], report["times"] = len(runs), len(found) - len(runs)
    for active in found:
        _ask_open_run(services, active, stop, max_runs, report)
    _tend_gates(services, {run.record for run in runs}, stop)
    log_event(logging.INFO, fallback="run status", **report)
    return report


def _ask_open_run(services: Services, active: ActiveRun, stop: float, max_runs: int, report: dict[str, int]) -> None:
    """One open run asked about and its answer observed on its record (an ended one's times only:
    ``_ask_times_again``), counted in ``report`` (left: out of runs or time)."""
    remaining = stop - services.clock.monotonic()
    if report["asked"] >= max_runs or remaining < services.config.retry.attempt_timeout:
        report["left"] += 1
        return
    ref = record_ref(active.record)
    run = None if ref is None else run_spec(services.config, ref)
    about = {"rule": ref.rule, "schedule": ref.schedule, "key": ref.key} if ref else {"record": active.record}
    about = {**about, "run_id": active.run_id}
    if ref is None or run is None:
        log_event(logging.WARNING, problem="an active run's rule or schedule is not in the configuration", **about)
        report["unanswered"] += 1
        return
    report["asked"] += 1
    deadline = services.clock.monotonic() + min(remaining, services.config.retry.deadline)
    if active.times_pending:
        _ask_times_again(services, active, run.target, deadline, about)
        return
    observation = ask_status(services, run.target, active.run_id, deadline, about)
    if observation is None:
        report["unanswered"] += 1
        return
    try:
        decision = observe_run(services, ref, active.run_id, observation, about, deadline)
    except (RecordNotSettledError, AzureError) as error:
        log_event(logging.WARNING, problem=f"status not recorded this time: {type(error).__name__}", **about)
        return
    report["ended"] += decision is not None


def _ask_times_again(services: Services, active: ActiveRun, target: Target, deadline: float,
                     about: Mapping[str, Any]) -> None:
    """An ended run whose times were pending: run history asked again (only the times GET, not the status) and
    its answer recorded; a failure for now writes nothing (asked again next tick). Its end's work (slot, decision
    line) was done at its end."""
    answer = _times_answer(services, active, target, deadline, about)
    if answer is None:
        return
    try:
        services.ledger.update(active.record, lambda record: times_settled(record, active.run_id, answer))
    except AzureError as error:
        log_event(logging.WARNING, problem=f"times not recorded this time: {type(error).__name__}", **about)


def _times_answer(services: Services, active: ActiveRun, target: Target, deadline: float,
                  about: Mapping[str, Any]) -> Callable[[RunOutcome], RunOutcome] | None:
    """What becomes of the pending outcome: run history's times and error, or a final reason (a refusal, or
    ``TIMES_HORIZON`` after its end: given up without asking); None: still failing for now."""
    until = active.since + TIMES_HORIZON
    if services.clock.now() >= until:
        return partial(times_given_up, until=iso_ms(until))
    read = status_read(target, active.run_id)
    assert read is not None and not read.v1, "only an ended v2 job's times are pending"
    try:
        document = history_answer(services, read, target, deadline)
    except (TriggerError, ValueError) as error:
        why, pending = times_problem(error, about)
        return None if pending else partial(times_final, why=why)
    return partial(read.with_times, document=document, at=moment(services.clock.now()))


def _tend_gates(services: Services, indexed: set[str], stop: float) -> None:
    """Every limited gate's turns missed by a crash or a failure for now taken, then unlimited gates emptied."""
    triggers: tuple[Rule | Schedule, ...] = (*services.config.rules, *services.config.schedules)
    for trigger in triggers:
        if trigger.limit is not None:  # a start cut short by a crash or a failure for now: its turn again
            _free_ended_slots(services, trigger_namespace(trigger), indexed, _within(services, stop))
            start_waiting(services, trigger_namespace(trigger), trigger.limit, _within(services, stop))
    _start_unlimited(services, {trigger_namespace(trigger): trigger for trigger in triggers},
                     _within(services, stop))


def _within(services: Services, stop: float) -> float:
    """The fallback's deadline for one more piece of work: a submission's, cut at the end of its budget."""
    return min(stop, services.clock.monotonic() + services.config.retry.deadline)


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
        if record is None or slot_is_free(record):
            free_slot(services, namespace, holder)
        elif holder_needs_work(record, services.clock.now(), services.config.claim_expiry, CLOCK_MARGIN):
            try:
                _run_again(services, holder, record, deadline)
            except TriggerError as error:
                log_event(logging.WARNING, problem=f"a slot holder left failed for now could not start: {error}",
                          record=holder)
                if not error.retryable:
                    free_slot(services, namespace, holder)
