"""Run status, judged by Microsoft's packages (test-only): azure-eventgrid parses the stand-in's run events as the
events they claim to be, azureml-core's run-history client and azure-ai-ml's ``MLClient.jobs.get`` read a run's
status from the stand-in's status routes, and the app reads the same routes and events to the same status."""

from __future__ import annotations

import pytest
from azure.ai.ml import MLClient
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames

from localdev.aml_standin import FAILURE
from oracle.conftest import deadline
from oracle.test_run_history_contract import WORKSPACE, app_request, sdk_client
from oracle.test_v1_contract import sdk_client as v1_client
from oracle.test_v2_contract import app_invoke, sdk_invoke
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.core.aml.run_reads import status_read
from shared.core.aml.targets import parse_target
from shared.core.config.config_model import RetrySettings
from shared.core.ledger.run_status import run_status
from shared.core.outcomes.run_events import parse_run_event


def _v1_run(aml, credential) -> str:
    """A v1 pipeline run at the stand-in, submitted as the app submits it."""
    return _submitter(credential).submit(app_request(aml), deadline()).run_id


def _submitter(credential) -> PipelineSubmitter:
    return PipelineSubmitter(TokenProvider(credential), RetrySettings(max_attempts=1, deadline=30, attempt_timeout=5))


def test_azureml_cores_run_history_client_and_the_app_read_a_failed_runs_status_alike(aml, credential):
    run_id = _v1_run(aml, credential)
    aml.set_status(run_id, "Running")
    aml.set_status(run_id, "Failed")

    sdk = sdk_client(aml).run.get_workspace_run(*WORKSPACE, run_id)
    read = status_read(parse_target(aml.published_pipeline_url(), allow_local=True), run_id)
    app = read.outcome(_submitter(credential).read_json(read.url, read.scope, deadline()), "2026-11-30T10:00:00Z")

    assert (sdk.run_id, sdk.status, sdk.error.error.code, sdk.error.error.message) == (
        run_id, "Failed", FAILURE["code"], FAILURE["message"])
    assert (app.status.value, app.azure_status, app.error) == ("failed", sdk.status, FAILURE)
    assert app.started_at is not None and app.ended_at is not None and sdk.start_time_utc <= sdk.end_time_utc


def test_azure_ai_mls_jobs_get_and_the_app_read_a_batch_jobs_status_alike(aml, credential, monkeypatch):
    sdk_invoke(aml, credential, monkeypatch)
    [job] = aml.accepted
    aml.set_status(job.run_id, "Canceled")
    client = MLClient(credential, *WORKSPACE, enable_telemetry=False)

    sdk = client.jobs.get(job.run_id)
    target = parse_target(aml.batch_endpoint_url(), allow_local=True,
                          workspace="/subscriptions/{}/resourceGroups/{}/providers/"
                                    "Microsoft.MachineLearningServices/workspaces/{}".format(*WORKSPACE))
    read = status_read(target, job.run_id)
    app = read.outcome(_submitter(credential).read_json(read.url, read.scope, deadline()), "2026-11-30T10:00:00Z")

    assert (sdk.name, sdk.status) == (job.run_id, "Canceled")
    assert (app.status.value, app.azure_status) == ("canceled", sdk.status)


@pytest.mark.parametrize("event_type, name", [
    ("RunStatusChanged", SystemEventNames.MachineLearningServicesRunStatusChangedEventName),
    ("RunCompleted", SystemEventNames.MachineLearningServicesRunCompletedEventName),
])
def test_azure_eventgrid_reads_the_stand_ins_events_as_the_system_events_they_are(aml, credential, monkeypatch,
                                                                                  event_type, name):
    run_id = app_invoke(aml, credential, {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "v2",
                                          "trigger_key": "k" * 64})
    aml.set_status(run_id, "Completed")
    grid = aml.run_event(run_id, event_type=event_type)
    cloud = aml.run_event(run_id, event_type=event_type, schema="cloudevents")

    sdk_grid, sdk_cloud = EventGridEvent.from_dict(grid), CloudEvent.from_dict(cloud)

    assert sdk_grid.event_type == sdk_cloud.type == name
    assert sdk_grid.topic == sdk_cloud.source == grid["topic"]
    assert sdk_grid.subject == sdk_cloud.subject == f"experiments/{grid['data']['experimentId']}/runs/{run_id}"
    assert sdk_grid.data["runId"] == sdk_cloud.data["runId"] == run_id
    assert ("runStatus" in sdk_grid.data) is (event_type == "RunStatusChanged")
    app_grid, app_cloud = parse_run_event(grid), parse_run_event(cloud)
    assert (app_grid.run_id, app_grid.workspace, app_grid.azure_status) == (
        sdk_grid.data["runId"], sdk_grid.topic, "Completed")
    assert (app_cloud.run_id, app_cloud.workspace, app_cloud.labels) == (
        sdk_cloud.data["runId"], sdk_cloud.source, app_grid.labels)


def test_azureml_pipeline_cores_client_reads_the_stand_ins_pipeline_run_on_its_timeline(aml, credential):
    """The run moves on by itself (``timeline``); the v1 pipeline service says ``Finished`` where run history says
    ``Completed``, and both are the app's ``completed``."""
    aml.timeline = ((0.0, "Running"), (0.0, "Completed"))
    run_id = _v1_run(aml, credential)
    client, headers = v1_client(aml)
    get = client.api_v10_subscriptions_by_subscription_id_resource_groups_by_resource_group_name_providers_microsoft_machine_learning_services_workspaces_by_workspace_name_pipeline_runs_by_pipeline_run_id_get  # noqa: E501 - the SDK's name

    entity = get(*WORKSPACE, run_id, custom_headers=headers)

    assert (entity.id, entity.status.status_code) == (run_id, "Finished")
    assert run_status(entity.status.status_code).value == "completed" and entity.status.end_time is not None
    assert sdk_client(aml).run.get_workspace_run(*WORKSPACE, run_id).status == "Completed"
