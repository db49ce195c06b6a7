"""The gate of max_active_runs, pure: who holds a slot, who waits in which order, what a ``latest`` decision
supersedes, the gate document read and written, and the words a waiting record says."""

from __future__ import annotations

import pytest

from shared.core.common.errors import InvalidValue
from shared.core.ledger.run_limits import LATEST, Admission, Gate, RunLimit, Waiting, admit, waiting_reason

pytestmark = pytest.mark.unit

ONE = RunLimit(1)
ONE_LATEST = RunLimit(1, LATEST)


def test_a_record_already_holding_a_slot_goes_again_and_the_gate_is_unchanged():
    gate = Gate(("a",), (Waiting("b", "2"),))
    assert admit(gate, ONE, "a", "9") == (gate, Admission(go=True))


def test_in_a_queue_the_oldest_trigger_takes_a_free_slot_and_the_others_keep_their_order():
    gate = Gate((), (Waiting("c", "3"), Waiting("b", "2")))

    assert admit(gate, RunLimit(2), "z", "1") == (
        Gate(("z",), (Waiting("b", "2"), Waiting("c", "3"))), Admission(go=True))
    assert admit(gate, ONE, "d", "4") == (
        Gate((), (Waiting("b", "2"), Waiting("c", "3"), Waiting("d", "4"))), Admission(go=False, position=3))


def test_with_no_free_slot_a_trigger_waits_and_asking_again_keeps_its_place():
    gate, admission = admit(Gate(("x",)), ONE, "a", "1")
    assert (gate, admission) == (Gate(("x",), (Waiting("a", "1"),)), Admission(go=False, position=1))
    assert admit(gate, ONE, "a", "5") == (gate, admission)


def test_latest_keeps_only_the_newest_waiting_trigger_and_says_which_it_superseded():
    full = Gate(("x",), (Waiting("old", "1"),))
    assert admit(full, ONE_LATEST, "new", "2") == (
        Gate(("x",), (Waiting("new", "2"),)), Admission(go=False, position=1, superseded=("old",), kept="new"))
    assert admit(full, ONE_LATEST, "older", "0") == (
        Gate(("x",), (Waiting("old", "1"),)), Admission(go=False, position=1, superseded=("older",), kept="old"))


def test_latest_with_a_free_slot_starts_the_newest_and_empties_the_queue():
    gate = Gate((), (Waiting("old", "1"),))
    assert admit(gate, ONE_LATEST, "new", "2") == (
        Gate(("new",), ()), Admission(go=True, superseded=("old",), kept="new"))


def test_the_next_trigger_up_is_the_oldest_waiting_one_once_a_slot_is_free():
    waiting = (Waiting("b", "2"), Waiting("c", "3"))
    assert Gate((), waiting).next_up(ONE) == "b"
    assert Gate(("a",), waiting).next_up(ONE) is None
    assert Gate().next_up(ONE) is None


def test_a_gate_names_records_that_hold_a_slot_or_wait_and_lets_them_go():
    gate = Gate(("a", "b"), (Waiting("c", "3"), Waiting("d", "4")))

    assert [gate.names(record) for record in ("a", "c", "e")] == [True, True, False]
    assert gate.released("a") == Gate(("b",), gate.waiting) and gate.released("c") == gate
    assert gate.dropped("c") == Gate(("a", "b"), (Waiting("d", "4"),)) and gate.dropped("a") == gate


def test_the_gate_document_round_trips_and_an_absent_one_is_an_empty_gate():
    gate = Gate(("a",), (Waiting("b", "2"),))
    assert gate.to_json() == {"active": ["a"], "waiting": [{"record": "b", "since": "2"}]}
    assert Gate.from_json(gate.to_json()) == gate
    assert Gate.from_json(None) == Gate() == Gate.from_json({})


def test_a_gate_document_that_is_not_an_object_is_refused_by_its_type():
    with pytest.raises(InvalidValue, match=r"^a gate is a JSON object, not list$"):
        Gate.from_json(["a"])


def test_a_limit_and_a_waiting_record_say_how_many_runs_and_which_place():
    assert RunLimit(1).describe() == "at most 1 active run; more triggers queue"
    assert RunLimit(2, LATEST).describe() == "at most 2 active runs; more triggers latest"
    assert waiting_reason(RunLimit(1), "rules/r", Admission(go=False, position=2)) == (
        "waiting: rules/r has 1 active run (max_active_runs 1, queue); place 2, started when a run ends")
    assert waiting_reason(RunLimit(3, LATEST), "rules/r", Admission(go=False, position=1)) == (
        "waiting: rules/r has 3 active runs (max_active_runs 3, latest); place 1, started when a run ends")
