"""The events Azure ML's system topic sends about a run, in the Event Grid or the CloudEvents schema."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

_DEFAULT_SOURCE = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
                   "Microsoft.MachineLearningServices/workspaces/ml-ws")


def run_event(aml: AmlStandIn, run_id: str, *, schema: str, event_type: str, workspace: str | None) -> dict[str, Any]:
    """The event about ``run_id`` now, as the stand-in's run would raise it."""
    run = next(run for run in aml.accepted if run.run_id == run_id)
    life = aml.run_life(run_id) or {}
    experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, run.experiment or ""))
    data: dict[str, Any] = {
        "experimentId": experiment_id, "experimentName": run.experiment, "runId": run.run_id,
        "runType": "azureml.PipelineRun",
        "runTags": run.labels if run.kind == "v1" else {},
        "runProperties": {"azureml.runsource": "azureml.PipelineRun", "runSource": "SDK", "runType": "HTTP",
                          **({} if run.kind == "v1" else run.labels)}}
    if event_type == "RunStatusChanged":
        data["runStatus"] = life.get("status")
    source = workspace or _DEFAULT_SOURCE
    common = {"id": str(uuid.uuid4()), "subject": f"experiments/{experiment_id}/runs/{run.run_id}", "data": data}
    moment = aml.clock.now().replace("+00:00", "Z")
    kind = f"Microsoft.MachineLearningServices.{event_type}"
    if schema == "cloudevents":
        return {**common, "specversion": "1.0", "source": source, "type": kind, "time": moment}
    return {**common, "topic": source, "eventType": kind, "eventTime": moment, "dataVersion": "",
            "metadataVersion": "1"}
