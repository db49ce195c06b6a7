"""A local Azure ML stand-in: a real HTTP server enforcing the v1 pipeline submission contract and the v2 batch
endpoint invocation contract, and v2 pipeline jobs created by name (a second PUT of a name refused as existing).

It checks what the service checks (bearer token audience per API and expiry, content type, PipelineSubmissionInfo
keys and types, pipeline endpoint versions, v2 job inputs and outputs, deployments), answers like the service
(PipelineRunEntity, batch job resources, error bodies) and can misbehave on request: 429 with Retry-After, 5xx,
slow answers, dropped connections. It also answers the two ARM reads azure-ai-ml makes before invoking a batch
endpoint, so the official client can be pointed at it, and the v1 schedule routes (list, get, update) that
azureml-pipeline-core's ``Schedule.list`` / ``get`` / ``disable`` call.

The routes are one table (``routes``); faults are applied around them by one wrapper (``faults``); what the
stand-in remembers lives in ``state``; every clock it reads in ``clock``. The names below are its public face.
"""

from localdev.aml_standin.clock import WallClock
from localdev.aml_standin.faults import AcceptThenDelay, AcceptThenDrop, Delay, Drop, Fault, Respond
from localdev.aml_standin.history import parse_run_filter
from localdev.aml_standin.pipeline_jobs import COMPONENT, EXISTS_MESSAGE, pipeline_job_problems
from localdev.aml_standin.schedules import SCHEDULE_STATUSES
from localdev.aml_standin.server import WORKSPACE_PATH, AmlStandIn
from localdev.aml_standin.state import DEFAULT_WORKSPACE, FAILURE, AcceptedRun, Received
from localdev.aml_standin.v1 import PIPELINE_STATUS_CODES, SUBMISSION_KEYS, submission_problems
from localdev.aml_standin.v2 import (
    BATCH_ENDPOINT,
    DEPLOYMENTS,
    SCORING_PATH,
    V2_INPUT_TYPES,
    V2_OUTPUT_TYPES,
    batch_job_problems,
)
from localdev.aml_standin.wire import ARM_AUDIENCES, ML_AUDIENCES
from localdev.aml_standin.workspace import DISCOVERY_PATH

__all__ = [
    "ARM_AUDIENCES", "BATCH_ENDPOINT", "COMPONENT", "DEFAULT_WORKSPACE", "DEPLOYMENTS", "DISCOVERY_PATH",
    "EXISTS_MESSAGE", "FAILURE", "ML_AUDIENCES", "PIPELINE_STATUS_CODES", "SCHEDULE_STATUSES", "SCORING_PATH",
    "SUBMISSION_KEYS", "V2_INPUT_TYPES", "V2_OUTPUT_TYPES", "WORKSPACE_PATH", "AcceptThenDelay", "AcceptThenDrop",
    "AcceptedRun", "AmlStandIn", "Delay", "Drop", "Fault", "Received", "Respond", "WallClock", "batch_job_problems",
    "parse_run_filter", "pipeline_job_problems", "submission_problems",
]
