"""Run events against Azurite: storage requests per event (a status change, the event that ends a run, a repeat)
and what the fallback timer costs with many records but few runs in flight."""

from __future__ import annotations

from bench.common import Bench, Row
from localdev.host import deliver_blob, deliver_event
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.flows.outcomes.run_outcomes import poll_open_runs


def run_event_rows(bench: Bench, records: int) -> None:
    bench.configure("bench-run-events", "bench-run-events-ledger", "incoming/")
    names = [f"incoming/run-{index:05d}.csv" for index in range(records)]
    bench.upload_many("bench-run-events", names)
    for name in names:
        deliver_blob("bench-run-events", name)
    runs = [run for run in bench.aml.accepted if run.body.get("ExperimentName") == "bench"][-records:]
    aml = bench.aml

    def cost(run_id: str, status: str) -> int:
        aml.set_status(run_id, status)
        event = aml.run_event(run_id)
        with counting_requests() as sent:
            deliver_event(event)
        return bench.storage_requests(sent)

    first = runs[0].run_id
    changed, ended, repeated = cost(first, "Running"), cost(first, "Completed"), cost(first, "Completed")
    bench.rows.append(Row("run event: status change", f"{changed} storage requests", "read + conditional write",
                          None, "<= 2", changed <= 2))
    bench.rows.append(Row("run event: the run ends", f"{ended} storage requests", "read + conditional write",
                          None, "<= 2", ended <= 2, bound="the open tags go in the same write"))
    bench.rows.append(Row("run event: repeated", f"{repeated} storage requests", "read", None, "<= 2",
                          repeated <= 2))
    for run in runs[1:-1]:  # all but one end through their events; the fallback finds the last one alone
        cost(run.run_id, "Completed")
    aml.set_status(runs[-1].run_id, "Completed")
    gets_before = len(aml.received)
    with counting_requests() as sent:
        report = poll_open_runs(process_services(), budget=270, max_runs=50)  # the trigger's budget at 300 s
    requests, gets = bench.storage_requests(sent), len(aml.received) - gets_before
    bench.rows.append(Row(f"fallback: 1 open of {records:,} records", f"{requests} storage, {gets} Azure ML",
                          "Find by tags + read + write + gates listing, 1 GET", None, "grows with open runs only",
                          report["ended"] == 1 and requests <= 4 and gets == 1))
