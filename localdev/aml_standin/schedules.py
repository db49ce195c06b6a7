"""The v1 schedule routes azureml-pipeline-core's ``Schedule.list`` / ``get`` / ``disable`` call."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from localdev.aml_standin.wire import Answer, Request, error, json_body, refused_token

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

SCHEDULE_STATUSES = ("Active", "Deprecated", "Disabled", "0", "1", "2")
"""EntityStatus as the service writes it: names, or the digits older answers carry."""


def schedules(aml: AmlStandIn, request: Request) -> Answer:
    """``GET .../Schedules?activeOnly=``, ``GET .../Schedules/{id}``, ``PUT .../Schedules/{id}`` (the whole entity
    back, as the SDK's ``update_schedule`` sends it)."""
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    assert request.match is not None
    schedule_id = request.match["id"]
    with aml._lock:
        if schedule_id is None:
            active_only = request.query.get("activeOnly", "true").lower() == "true"
            return Answer(200, [entity for entity in aml.schedules.values()
                                if not active_only or entity.get("EntityStatus") in ("Active", "0")])
        current = aml.schedules.get(unquote(schedule_id))
        if current is None:
            return Answer(404, error("EntityNotFound", f"schedule {unquote(schedule_id)} not found"))
        if request.method == "GET":
            return Answer(200, current)
        updated, refusal = json_body(request)
        if refusal:
            return refusal
        if not isinstance(updated, dict) or updated.get("Id") != current.get("Id"):
            return Answer(400, error("UserError", "the body must be the schedule (PipelineScheduleEntity) with its Id"))
        if updated.get("EntityStatus") not in SCHEDULE_STATUSES:
            return Answer(400, error("UserError", f"EntityStatus must be one of {', '.join(SCHEDULE_STATUSES[:3])}"))
        aml.schedules[current["Id"]] = {**updated, "LastModifiedDate": aml.clock.now()}
        return Answer(200, aml.schedules[current["Id"]])
