"""A limited rule's or schedule's gate in the ledger (``shared.core.ledger.run_limits``): take a slot or wait, free
a slot.

Each call is one conditional change of the gate document (``Ledger.swap``): never a read, then a decision, then a
write that another trigger's decision could have overtaken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.clients.process.services import Services
from shared.core.ledger.keys import active_owner
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_limits import Admission, Gate, RunLimit, admit, gate_name, superseded_reason
from shared.core.ledger.run_status import moment


def take_slot(services: Services, namespace: str, record: str, limit: RunLimit, since: str) -> Admission:
    """Ask the gate of ``namespace``'s rule or schedule for a slot for ``record`` (first claimed at ``since``).
    A gate written for the first time counts the runs already in flight (their active markers) as holding slots,
    so a limit added while runs are active is kept from the start. Records a ``latest`` decision replaced (other
    than ``record``) are settled as superseded here."""
    owner = active_owner(namespace)
    answers: list[Admission] = []

    def change(current: dict[str, Any] | None) -> dict[str, Any]:
        gate = Gate.from_json(current) if current is not None else Gate(
            tuple(run.record for run in services.ledger.active_runs(owner)))
        after, admission = admit(gate, limit, record, since)
        answers.append(admission)
        return after.to_json()

    services.ledger.swap(gate_name(owner), change)
    admission = answers[-1]
    for name in admission.superseded:
        if name != record:
            supersede(services, name, newer=record)
    return admission


def free_slot(services: Services, namespace: str, record: str) -> Gate:
    """``record``'s run ended or will never start: its slot is free (again: no change). The gate after."""
    return _changed(services, namespace, lambda gate: gate.released(record))


def drop_waiting(services: Services, namespace: str, record: str) -> Gate:
    """``record`` waits no more (settled some other way, or it cannot start): the gate after."""
    return _changed(services, namespace, lambda gate: gate.dropped(record))


def read_gate(services: Services, namespace: str) -> Gate:
    found = services.ledger.read(gate_name(active_owner(namespace)))
    return Gate.from_json(None if found is None else found[0])


def _changed(services: Services, namespace: str, change: Callable[[Gate], Gate]) -> Gate:
    document = services.ledger.swap(gate_name(active_owner(namespace)), lambda current: None if current is None
                                    else change(Gate.from_json(current)).to_json())
    return Gate.from_json(document)


def supersede(services: Services, record: str, *, newer: str) -> None:
    """A waiting record replaced by a newer trigger (policy latest): skipped, saying by which; a record that is
    no longer waiting is left as it is."""

    def change(current: LedgerRecord) -> LedgerRecord | None:
        if current.state != RunState.WAITING:
            return None
        return current.settled(RunState.SKIPPED, moment(services.clock.now()),
                               {"reason": superseded_reason(newer), "superseded": True})

    services.ledger.update(record, change)
