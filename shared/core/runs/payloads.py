"""Declarative mapping from a trigger (rule + blob version) to the exact request Azure ML receives."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from shared.core.aml.run_lookup import RunLookup, run_lookup
from shared.core.aml.targets import COMPONENT_VERSION, JOB_API_VERSION, TargetKind
from shared.core.config.config_model import RunSpec

JSON = "application/json"
JSON_HEADERS: Mapping[str, str] = MappingProxyType({"Content-Type": JSON})
"""The headers of a request that sends JSON and nothing else (a v1 submission's): one read-only mapping every such
request shares, so none can change another's. Copy it (``dict(...)``) before writing it as JSON."""
TRIGGERED_BY = "aml-pipeline-trigger"
REPEATABILITY_HEADER = "repeatability_request-id"
"""The per-request id header, spelled as azure-ai-ml's batch endpoint client sends it."""
_REPEATABILITY_NAMESPACE = uuid.UUID("6f1a3c52-2c57-4e61-9a1e-6d1f6a3e2b7c")
PIPELINE_JOB_API_VERSION = "2024-01-01-preview"
"""The Jobs API version azure-ai-ml 1.35's ``jobs.create_or_update`` PUTs a pipeline job with."""
COMPONENT_API_VERSION = "2024-01-01-preview"
"""The API version azure-ai-ml 1.35's ``components`` operations read a component's versions with."""
PIPELINE_JOB_SOURCE = "REMOTE.WORKSPACE.COMPONENT"
"""``settings._source`` as azure-ai-ml sends it for a job from a registered component."""
JOB_NAME_PREFIX = "trigger-"
MAX_TAG_VALUE_CHARS = 1000
"""Azure ML's longest run tag value and run property value ("Service limits in Azure Machine Learning");
a v2 job's properties are its run's properties."""


class DataRef(NamedTuple):
    """The blob a run gets: its path inside its container, and its https URL."""

    path: str
    url: str
    folder: bool = False
    """A folder (a marker's batch): a v2 ``UriFolder`` input; ``path`` ends with '/'."""


class ExistingJob(NamedTuple):
    """The pipeline job a PUT names, read with one GET when Azure ML answers that a job of that name exists."""

    url: str
    key: str

    def adopted(self, document: Any) -> str | None:
        """The job's name when it carries this trigger's key (it is the job an earlier PUT of the key created);
        None for any other job or answer."""
        job = document if isinstance(document, Mapping) else {}
        properties = job.get("properties")
        bag = properties.get("properties") if isinstance(properties, Mapping) else None
        found = bag.get("trigger_key") if isinstance(bag, Mapping) else None
        name = job.get("name")
        return name if found == self.key and isinstance(name, str) and name else None


class LatestComponent(NamedTuple):
    """A pipeline job's component named ``azureml:<name>@latest``: its newest version, read with one GET just
    before the PUT (as azure-ai-ml's ``ComponentOperations._get_latest_version`` reads it), goes into the body."""

    url: str
    name: str
    ids: str
    """The component's versions' ARM ids without the version: ``<workspace id>/components/<name>/versions/``."""

    def version(self, document: Any) -> str | None:
        """The newest version a ``ComponentVersions - List`` answer names (its first ``value``'s ``name``), or
        None when it names none (no version is registered) or not one the app would send."""
        listed = document.get("value") if isinstance(document, Mapping) else None
        newest = listed[0] if isinstance(listed, list) and listed else None
        found = newest.get("name") if isinstance(newest, Mapping) else None
        return found if isinstance(found, str) and COMPONENT_VERSION.fullmatch(found) else None

    def resolved(self, request: SubmitRequest, version: str) -> SubmitRequest:
        """``request`` with the component's ``version`` in its body, and named as the job's component."""
        body = {**request.body, "properties": {**request.body["properties"], "componentId": self.ids + version}}
        return request._replace(body=body, latest=None, component=f"azureml:{self.name}:{version}")


def adopted_component(document: Any) -> str | None:
    """The component version an existing job was created from (``azureml:<name>:<version>``, from its
    ``componentId``), or None when its answer names none."""
    job = document if isinstance(document, Mapping) else {}
    properties = job.get("properties")
    found = properties.get("componentId") if isinstance(properties, Mapping) else None
    parts = found.split("/") if isinstance(found, str) else []
    if len(parts) < 4 or parts[-4] != "components" or parts[-2] != "versions":
        return None
    return f"azureml:{parts[-3]}:{parts[-1]}"


class SubmitRequest(NamedTuple):
    """One request that starts a run (a POST, or a pipeline job's PUT): where, with which token scope, what body,
    and where the run id comes back."""

    url: str
    scope: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = JSON_HEADERS
    run_id_field: str = "Id"
    success_statuses: tuple[int, ...] = (200,)
    lookup: RunLookup | None = None
    """Where a run this request started is listed, to look for it when an answer was lost."""
    method: str = "POST"
    existing: ExistingJob | None = None
    """A pipeline job's PUT: the job to adopt when Azure ML answers that its name exists."""
    latest: LatestComponent | None = None
    """A pipeline job's ``@latest`` component, resolved before the PUT (its ``componentId`` is None until then)."""
    component: str | None = None
    """The component version a pipeline job's body names (``azureml:<name>:<version>``), kept on its record."""


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
    headers = {**JSON_HEADERS, REPEATABILITY_HEADER: repeatability_id(key)}
    if run.target.deployment:
        headers["azureml-model-deployment"] = run.target.deployment
    return SubmitRequest(url=run.target.submit_url(), scope=run.target.scope, body={"properties": properties},
                         headers=headers, run_id_field="name", success_statuses=(200, 201))


def job_name(namespace: str, key: str) -> str:
    """A pipeline job's name, the same for every PUT of one trigger's key (a second PUT cannot start a second job):
    lowercase letters, digits and '-', 72 characters (Azure ML takes letters, digits, '-' and '_', up to 255)."""
    return JOB_NAME_PREFIX + hashlib.sha256(f"{namespace}\n{key}".encode()).hexdigest()


def pipeline_job_submission(run: RunSpec, *, data: DataRef | None, tags: Mapping[str, str], name: str,
                            key: str) -> SubmitRequest:
    """The PUT creating pipeline job ``name`` from a registered component, its body as azure-ai-ml's
    ``jobs.create_or_update`` sends it (literals as strings, booleans as "True"); the trigger's labels ride in the
    job's properties, the rule's tags in its tags. An "already exists" answer adopts the job carrying ``key``.
    ``run`` is rendered (``rendering.rendered_run``): its parameters and input path are the values to send."""
    target = run.target
    inputs: dict[str, Any] = {parameter: {"jobInputType": "literal", "value": str(value)}
                              for parameter, value in run.parameters.items()}
    if run.data_path is not None and data is not None:
        path = f"azureml://datastores/{run.data_path.datastore}/paths/{data.path}"
        inputs[run.data_path.parameter] = {"jobInputType": "uri_folder" if data.folder else "uri_file", "uri": path}
    settings: dict[str, Any] = {"_source": PIPELINE_JOB_SOURCE}
    if target.compute_id() is not None:
        settings["default_compute"] = target.compute_id()
    if run.continue_on_step_failure is not None:
        settings["continue_on_step_failure"] = run.continue_on_step_failure
    properties: dict[str, Any] = {
        "jobType": "Pipeline", "componentId": target.component_id(), "experimentName": run.experiment,
        "inputs": inputs, "outputs": {output_name: {"jobOutputType": output.type, "uri": output.uri}
                                      for output_name, output in run.outputs.items()},
        "settings": settings, "jobs": {}, "isArchived": False, "tags": dict(run.tags),
        "properties": bounded_tags(tags)}
    if run.display_name:
        properties["displayName"] = run.display_name
    return SubmitRequest(url=target.job_url(name, PIPELINE_JOB_API_VERSION), scope=target.scope,
                         body={"properties": properties}, run_id_field="name", success_statuses=(200, 201),
                         method="PUT", existing=ExistingJob(target.job_url(name, JOB_API_VERSION), key),
                         latest=_latest_component(run), component=None if target.latest_component() else
                         target.component)


def _latest_component(run: RunSpec) -> LatestComponent | None:
    """What resolves a target's ``@latest`` component at submit time; None for a pinned version."""
    target = run.target
    name = target.latest_component()
    if name is None or target.workspace is None:
        return None
    return LatestComponent(target.component_versions_url(name, COMPONENT_API_VERSION), name,
                           f"{target.workspace.resource_id}/components/{name}/versions/")


def submission(run: RunSpec, *, data: DataRef | None, tags: Mapping[str, str], key: str,
               namespace: str) -> SubmitRequest:
    """The request ``run``'s target takes: a v1 pipeline submission, a v2 batch endpoint invocation, or the PUT of
    a pipeline job named after ``namespace`` and ``key`` (the trigger's ledger record)."""
    if run.target.kind.is_v1:
        request = v1_submission(run, data_path=data.path if data else None, tags=tags)
    elif run.target.kind is TargetKind.PIPELINE_JOB:
        request = pipeline_job_submission(run, data=data, tags=tags, name=job_name(namespace, key), key=key)
    else:
        request = v2_submission(run, data=data, tags=tags, key=key)
    if tags.get("trigger_key") != key:
        return request._replace(existing=None)  # only a run tagged with the key can be found by it
    if request.existing is not None:
        return request  # its name finds it: a PUT after a lost answer is refused as existing, and the job adopted
    return request._replace(lookup=run_lookup(run.target, run.experiment, key))
