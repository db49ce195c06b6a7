"""The pipeline job contract, judged by azure-ai-ml: ``MLClient.jobs.create_or_update`` and the app create a job of
the same registered pipeline component on the stand-in, with the same inputs, outputs and settings; their PUTs
must agree key for key (and in API version and token audience). The trigger's labels are given to the SDK's job
as its properties, so the whole bodies are compared, nothing removed."""

from __future__ import annotations

import json
from typing import Any

import azure.core.pipeline.policies._authentication
import pytest
from azure.ai.ml import Input, MLClient, Output
from azure.ai.ml.entities import PipelineJob

from localdev.aml_standin import COMPONENT
from oracle.conftest import body_differences, deadline
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import parse_target
from shared.core.config.config_model import DataPathBinding, JobOutput, RetrySettings, RunSpec
from shared.core.runs.payloads import DataRef, submission

WORKSPACE = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/"
             "Microsoft.MachineLearningServices/workspaces/ml-ws")
BLOB = "incoming/machines.csv"
DATASTORE = "workspaceblobstore"
SCORES = f"azureml://datastores/{DATASTORE}/paths/scores/"
PARAMETERS = {"model_name": "m1", "max_trials": 3, "learning_rate": 0.1, "early_stop": True}
KEY = "k" * 64
LABELS = {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "pjob", "trigger_blob": f"training-data/{BLOB}",
          "trigger_etag": "0x8DC1", "trigger_key": KEY}
FULL = {"display_name": "nightly retrain", "tags": {"team": "ml"}, "compute": "cpu-cluster",
        "continue_on_step_failure": True, "outputs": {"scores": SCORES}}
"""Every optional field a pipeline_job rule takes."""


def sdk_create(aml, credential, monkeypatch, tmp_path, job: dict[str, Any], label: str | None = None) -> None:
    """Create the job with Microsoft's client, offline (its ARM base URL points at the stand-in), from a directory
    outside any git repository (else it adds the checkout's branch and commit to the job's properties); from the
    component's version, or from the one its ``label`` resolves to."""
    monkeypatch.setenv("AZUREML_DEV_URL_MFE", aml.url)
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")
    monkeypatch.chdir(tmp_path)
    client = MLClient(credential, "00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws", enable_telemetry=False)
    component = client.components.get(COMPONENT[0], label=label) if label else client.components.get(*COMPONENT)
    inputs: dict[str, Any] = {**PARAMETERS,
                              "input_data": Input(type="uri_file", path=f"azureml://datastores/{DATASTORE}/paths/{BLOB}")}
    pipeline = PipelineJob(component=component, inputs=inputs, name="sdk-job", properties=dict(LABELS),
                           outputs={name: Output(type="uri_folder", path=uri)
                                    for name, uri in job.get("outputs", {}).items()},
                           display_name=job.get("display_name"), tags=job.get("tags"))
    if "compute" in job:
        pipeline.settings.default_compute = job["compute"]
    if "continue_on_step_failure" in job:
        pipeline.settings.continue_on_step_failure = job["continue_on_step_failure"]
    created = client.jobs.create_or_update(pipeline, experiment_name="retrain")
    assert created.name == "sdk-job"  # the SDK read the stand-in's answer


def app_create(aml, credential, job: dict[str, Any], component: str = f"azureml:{COMPONENT[0]}:{COMPONENT[1]}"
               ) -> str:
    target = parse_target(aml.arm_url(), kind="pipeline_job", workspace=WORKSPACE, component=component,
                          compute=job.get("compute"), allow_local=True)
    run = RunSpec(target=target, experiment="retrain", parameters=PARAMETERS,
                  data_path=DataPathBinding("input_data", DATASTORE),
                  outputs={name: JobOutput("uri_folder", uri) for name, uri in job.get("outputs", {}).items()},
                  display_name=job.get("display_name"), tags=job.get("tags", {}),
                  continue_on_step_failure=job.get("continue_on_step_failure"), run_source=None)
    request = submission(run, data=DataRef(path=BLOB, url="https://unused"), tags=LABELS, key=KEY,
                         namespace="rules/pjob")
    assert (request.method, request.scope) == ("PUT", "https://management.azure.com/.default")
    retry = RetrySettings(max_attempts=1, deadline=30, attempt_timeout=5)
    return PipelineSubmitter(TokenProvider(credential), retry).submit(request, deadline()).run_id


def puts(aml) -> list:
    return [received for received in aml.received if "/jobs/" in received.path]


def test_the_app_creates_a_pipeline_job_as_azure_ai_ml_does(aml, credential, monkeypatch, tmp_path):
    sdk_create(aml, credential, monkeypatch, tmp_path, FULL)
    app_job = app_create(aml, credential, FULL)

    sdk_put, app_put = puts(aml)
    assert body_differences(app_put.body, sdk_put.body) == []
    assert app_put.path.rsplit("/", 1)[0] == sdk_put.path.rsplit("/", 1)[0] == f"{WORKSPACE}/jobs"
    assert app_put.query == sdk_put.query == {"api-version": "2024-01-01-preview"}
    assert app_put.audience == sdk_put.audience == "https://management.azure.com"
    assert app_put.headers["Content-Type"] == sdk_put.headers["Content-Type"] == "application/json"
    assert app_job == aml.accepted[-1].run_id == app_put.path.rsplit("/", 1)[1]


def test_without_a_display_name_only_the_sdk_copies_the_components(aml, credential, monkeypatch, tmp_path):
    """azure-ai-ml reads the component first and copies its display name; the app does not read it (the studio
    shows the job's name instead). Every other key agrees."""
    sdk_create(aml, credential, monkeypatch, tmp_path, {})
    app_create(aml, credential, {})

    sdk_put, app_put = puts(aml)
    assert body_differences(app_put.body, sdk_put.body) == ["$.properties.displayName: only the SDK sends it"]


def test_a_latest_component_is_resolved_with_the_get_azure_ai_ml_makes_and_the_bodies_agree(
        aml, credential, monkeypatch, tmp_path):
    """``components.get(name, label="latest")`` reads the newest version with one ``ComponentVersions - List``
    (``_get_latest_version``); the app makes the same GET before its PUT, and both PUTs name version 4. That list
    call drops the client's ``enforce_https=False`` (which lets the others reach the http stand-in), so its check is
    switched off here (the option still taken out of the request's context); it only refuses http URLs, the
    request is unchanged."""
    monkeypatch.setattr(azure.core.pipeline.policies._authentication, "_enforce_https",
                        lambda request: request.context.options.pop("enforce_https", None))
    aml.component_versions.append("4")
    sdk_create(aml, credential, monkeypatch, tmp_path, FULL, label="latest")
    app_create(aml, credential, FULL, component=f"azureml:{COMPONENT[0]}@latest")

    sdk_list, app_list = [seen for seen in aml.received if seen.path.endswith(f"/components/{COMPONENT[0]}/versions")]
    assert app_list.path == sdk_list.path == f"{WORKSPACE}/components/{COMPONENT[0]}/versions"
    assert app_list.query == sdk_list.query == {"api-version": "2024-01-01-preview", "$orderBy": "createdtime desc",
                                                "$top": "1"}
    assert app_list.audience == sdk_list.audience == "https://management.azure.com"
    sdk_put, app_put = puts(aml)
    assert body_differences(app_put.body, sdk_put.body) == []
    assert app_put.body["properties"]["componentId"] == f"{WORKSPACE}/components/{COMPONENT[0]}/versions/4"


@pytest.mark.parametrize("rename", [("componentId", "componentID"), ("jobInputType", "job_input_type"),
                                    ("default_compute", "defaultCompute"), ("experimentName", "experiment_name")])
def test_the_comparison_fails_when_a_key_is_renamed(aml, credential, monkeypatch, tmp_path, rename):
    sdk_create(aml, credential, monkeypatch, tmp_path, FULL)
    app_create(aml, credential, FULL)
    sdk_put, app_put = puts(aml)
    old, new = rename
    renamed = json.loads(json.dumps(app_put.body).replace(f'"{old}"', f'"{new}"'))

    assert body_differences(renamed, sdk_put.body) != []
