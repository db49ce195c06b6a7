"""Release: the data an only_if_new_data schedule's failed or canceled run used is free for a later occurrence."""

from __future__ import annotations

from shared.clients.process.services import Services
from shared.core.ledger.ledger_record import LedgerRecord
from shared.core.ledger.run_status import RunOutcome, moment
from shared.core.outcomes.record_changes import data_record, released


def release_data(services: Services, schedule: str, record: LedgerRecord, run_id: str, ended: RunOutcome) -> None:
    """The schedule's data record, if it still names this run, becomes a failure for now (one conditional write),
    which a later occurrence takes over and submits."""
    name = data_record(services.config, schedule, record)
    if name is None:
        return
    reason = f"its run {run_id} ended {ended.status.value} in Azure ML; a later occurrence may use it"
    services.ledger.update(name, lambda claim: released(claim, run_id, moment(services.clock.now()), reason))
