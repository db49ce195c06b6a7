"""Declarative mapping from a trigger (rule + blob version) to the exact request Azure ML receives."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.core.aml.run_lookup import RunLookup, run_lookup
from shared.core.config.config_model import RunSpec

JSON = "application/json"
TRIGGERED_BY = "aml-pipeline-trigger"
REPEATABILITY_HEADER = "repeatability_request-id"
"""The per-request id header, spelled as azure-ai-ml's batch endpoint client sends it."""
_REPEATABILITY_NAMESPACE = uuid.UUID("6f1a3c52-2c57-4e61-9a1e-6d1f6a3e2b7c")
MAX_TAG_VALUE_CHARS = 1000
"""Azure ML's longest run tag value and run property value ("Service limits in Azure Machine Learning");
a v2 job's properties are its run's properties."""


@dataclass(frozen=True)
class DataRef:
    """The blob a run gets: its path inside its container, and its https URL."""

    path: str
    url: str
    folder: bool = False
    """A folder (a marker's batch): a v2 ``UriFolder`` input; ``path`` ends with '/'."""


@dataclass(frozen=True)
class SubmitRequest:
    """One POST to Azure ML: where, with which token scope, what body, and where the run id comes back."""

    url: str
    scope: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": JSON})
    run_id_field: str = "Id"
    success_statuses: tuple[int, ...] = (200,)
    lookup: RunLookup | None = None
    """Where a run this request started is listed, to look for it when an answer was lost."""


def blob_tags(rule: str, *, container: str, blob_name: str, etag: str, key: str) -> dict[str, str]:
    """Labels naming the blob version that triggered a run, so a run can always be traced back to its event."""
    return {
        "triggered_by": TRIGGERED_BY,
        "trigger_rule": rule,
        "trigger_blob": f"{container}/{blob_name}",
        "trigger_etag": etag,
        "trigger_key": key,
    }


def bounded_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """``tags`` with every value cut to what Azure ML accepts; a cut value keeps its start, its end and a hash
    of the whole, so the run still names its blob (the whole name is in the record trigger_key leads to)."""
    return {name: _bounded(value) for name, value in tags.items()}


def _bounded(value: str) -> str:
    if len(value) <= MAX_TAG_VALUE_CHARS:
        return value
    marker = f"...[sha256:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:16]}]..."
    kept = MAX_TAG_VALUE_CHARS - len(marker)
    return value[: kept // 2] + marker + value[len(value) - (kept - kept // 2):]


def v1_submission(run: RunSpec, *, data_path: str | None, tags: Mapping[str, str]) -> SubmitRequest:
    """The body of a v1 published pipeline / pipeline endpoint submission (PipelineSubmissionInfo).

    ``data_path`` is the blob's path inside the container the run's datastore points at.
    """
    body: dict[str, Any] = {
        "ExperimentName": run.experiment,
        "ParameterAssignments": {name: str(value) for name, value in run.parameters.items()},
    }
    if run.run_source is not None:
        body["RunSource"] = run.run_source
    body["tags"] = bounded_tags(tags)
    if run.data_path is not None and data_path is not None:
        relative = data_path.rsplit("/", 1)[-1] if run.data_path.relative_path == "file_name" else data_path
        body["DataPathAssignments"] = {
            run.data_path.parameter: {"DataStoreName": run.data_path.datastore, "RelativePath": relative}
        }
    if run.description:
        body["Description"] = run.description
    if run.continue_on_step_failure is not None:
        body["ContinueRunOnStepFailure"] = run.continue_on_step_failure
    return SubmitRequest(url=run.target.submit_url(), scope=run.target.scope, body=body)


def repeatability_id(key: str) -> str:
    """The same id for every POST of one key (retries, redeliveries), so a repeated request is recognisable."""
    return str(uuid.uuid5(_REPEATABILITY_NAMESPACE, key))


def v2_submission(run: RunSpec, *, data: DataRef | None, tags: Mapping[str, str], key: str) -> SubmitRequest:
    """The body of a v2 batch endpoint invocation, as azure-ai-ml's ``batch_endpoints.invoke`` sends it.

    Parameters become typed ``Literal`` inputs, the blob a ``UriFile`` input (an ``azureml://`` datastore path, or
    its https URL without a datastore); the trigger's labels ride in the job's property bag.
    """
    inputs: dict[str, Any] = {name: {"jobInputType": "Literal", "value": value}
                              for name, value in run.parameters.items()}
    if run.data_path is not None and data is not None:
        datastore = run.data_path.datastore
        uri = f"azureml://datastores/{datastore}/paths/{data.path}" if datastore else data.url
        inputs[run.data_path.parameter] = {"jobInputType": "UriFolder" if data.folder else "UriFile", "uri": uri}
    properties: dict[str, Any] = {"inputData": inputs,
                                  "properties": {"experimentName": run.experiment, **bounded_tags(tags)}}
    if run.outputs:
        properties["outputData"] = {name: {"jobOutputType": output.job_output_type, "uri": output.uri}
                                    for name, output in run.outputs.items()}
    headers = {"Content-Type": JSON, REPEATABILITY_HEADER: repeatability_id(key)}
    if run.target.deployment:
        headers["azureml-model-deployment"] = run.target.deployment
    return SubmitRequest(url=run.target.submit_url(), scope=run.target.scope, body={"properties": properties},
                         headers=headers, run_id_field="name", success_statuses=(200, 201))


def submission(run: RunSpec, *, data: DataRef | None, tags: Mapping[str, str], key: str) -> SubmitRequest:
    """The request ``run``'s target takes: a v1 pipeline submission or a v2 batch endpoint invocation."""
    if run.target.kind.is_v1:
        request = v1_submission(run, data_path=data.path if data else None, tags=tags)
    else:
        request = v2_submission(run, data=data, tags=tags, key=key)
    if tags.get("trigger_key") != key:
        return request  # only a run tagged with the key can be found by it
    return dataclasses.replace(request, lookup=run_lookup(run.target, run.experiment, key))
