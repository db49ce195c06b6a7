"""Faults a test injects, and the one wrapper that applies them around a route's handler: the routes know nothing
of faults, and a fault is the same whichever route it meets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from localdev.aml_standin import clock
from localdev.aml_standin.wire import Answer, error


@dataclass(frozen=True)
class Respond:
    """Answer the next submission with this status instead of handling it."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "ServiceError"
    message: str = "injected by the stand-in"


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer, before any run is created."""


@dataclass(frozen=True)
class AcceptThenDrop:
    """Create the run, then close the connection before answering: the client cannot know the run started."""


@dataclass(frozen=True)
class AcceptThenDelay:
    """Create the run, then wait ``seconds`` before answering: a client that gave up cannot know the run started."""

    seconds: float


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering; then apply ``then`` or handle the request normally."""

    seconds: float
    then: Respond | Drop | None = None


Fault = Respond | Drop | AcceptThenDrop | AcceptThenDelay | Delay


def apply(fault: Fault | None, handle: Callable[[], Answer]) -> Answer | None:
    """The answer to send when ``fault`` meets a request ``handle`` would answer; None: close the connection
    without one."""
    if isinstance(fault, Delay):
        clock.sleep(fault.seconds)
        fault = fault.then
    if isinstance(fault, AcceptThenDrop):
        handle()
        return None
    if isinstance(fault, AcceptThenDelay):
        answer = handle()
        clock.sleep(fault.seconds)
        return answer
    if isinstance(fault, Drop):
        return None
    if isinstance(fault, Respond):
        return Answer(fault.status, error(fault.code, fault.message), fault.headers)
    return handle()


class FaultQueues:
    """The faults waiting for the next submissions and the next run listings."""

    def __init__(self) -> None:
        self.always: Fault | None = None
        """A fault applied to every submission once the injected ones are used up (every answer slow, say)."""
        self._faults: list[Fault] = []
        self._query_faults: list[Respond] = []
        self._fault_lock = threading.Lock()

    def inject(self, *faults: Fault) -> None:
        """Apply each fault, in order, to one of the next submissions."""
        with self._fault_lock:
            self._faults.extend(faults)

    def inject_into_listings(self, *answers: Respond) -> None:
        """Answer each of the next run listings (``runs:query``) with one of these instead."""
        with self._fault_lock:
            self._query_faults.extend(answers)

    def next_fault(self) -> Fault | None:
        with self._fault_lock:
            return self._faults.pop(0) if self._faults else self.always

    def next_listing_fault(self) -> Respond | None:
        with self._fault_lock:
            return self._query_faults.pop(0) if self._query_faults else None
