"""The v1 contract, judged by azureml-pipeline-core's own REST models and REST client (test-only packages).

Every body the app builds must deserialize into the SDK's PipelineSubmissionInfo without unknown keys or coerced
types and serialize back unchanged; the SDK's client must be able to talk to the stand-in, so the stand-in's
answers (PipelineRunEntity, ErrorResponse) are the ones the SDK expects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from azureml.pipeline.core._restclients.aeva import models as aeva
from azureml.pipeline.core._restclients.aeva.aml_pipelines_api10 import AMLPipelinesAPI10
from msrest import Deserializer, Serializer
from msrest.exceptions import DeserializationError

from localdev.aml_standin import Respond
from localdev.tokens import make_token
from oracle.conftest import deadline
from shared.clients.aml.aml_answers import error_details
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import parse_target
from shared.core.config.config_model import DataPathBinding, RetrySettings, RunSpec
from shared.core.runs.payloads import DataRef, blob_tags, submission

MODELS = {name: value for name, value in vars(aeva).items() if isinstance(value, type)}
serialize, deserialize = Serializer(MODELS), Deserializer(MODELS)
_JSON_TYPES = {"str": str, "bool": bool, "int": int, "float": (int, float), "object": object}
V1 = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
      "Microsoft.MachineLearningServices/workspaces/ws-1/PipelineRuns/")
DATA = DataRef(path="incoming/machine data é #1.csv", url="https://acct.blob.core.windows.net/c/x")


def contract_problems(body: Any, model: str = "PipelineSubmissionInfo", models: dict[str, type] = MODELS) -> list[str]:
    """What the SDK's own models say about a body; [] when the service would read it as sent."""
    problems = _shape_problems(body, model, "$", models)
    try:
        wire = Serializer(models).body(Deserializer(models)(model, body), model)
    except DeserializationError as error:
        return [*problems, f"refused by the SDK's model: {error}"]
    if wire != body:
        problems.append(f"the SDK would send {json.dumps(wire, sort_keys=True)}")
    return problems


def _shape_problems(value: Any, type_name: str, path: str, models: dict[str, type] = MODELS) -> list[str]:
    if value is None:
        return []
    if type_name.startswith("{"):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        return [p for key, item in value.items()
                for p in _shape_problems(item, type_name[1:-1], f"{path}[{key!r}]", models)]
    if type_name in _JSON_TYPES:
        fits = isinstance(value, _JSON_TYPES[type_name]) and not (type_name != "bool" and isinstance(value, bool))
        return [] if fits else [f"{path}: expected {type_name}, got {value!r}"]
    if type_name.startswith("["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for index, item in enumerate(value)
                for p in _shape_problems(item, type_name[1:-1], f"{path}[{index}]", models)]
    if type_name not in models:
        return []
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} object"]
    known = {spec["key"]: spec["type"] for spec in models[type_name]._attribute_map.values()}
    return [p for key, item in value.items()
            for p in ([f"{path}.{key}: not a {type_name} key"] if key not in known
                      else _shape_problems(item, known[key], f"{path}.{key}", models))]


def app_bodies() -> dict[str, dict]:
    """The bodies the app sends, for every shape a rule or schedule can give them."""
    published, endpoint = parse_target(V1 + "PipelineSubmit/pipe-1"), parse_target(
        V1 + "PipelineEndpointSubmit/Id/ep-1", pipeline_version="4")
    full = RunSpec(target=endpoint, experiment="retrain", parameters={"model_name": "m1", "trials": 3, "ratio": 0.5},
                   data_path=DataPathBinding("input_datapath", "workspaceblobstore"), description="nightly",
                   continue_on_step_failure=False, run_source="API")
    tags = blob_tags("rule-1", container="c", blob_name=DATA.path, etag="0x8D1", key="k" * 64)
    schedule_tags = {"triggered_by": "aml-pipeline-trigger", "trigger_schedule": "nightly",
                     "trigger_occurrence": "2026-11-22T02:00:00Z", "trigger_key": "k" * 64}
    return {
        "minimal": submission(RunSpec(target=published, experiment="e"), data=None, tags={}, key="k",
                              namespace="rules/r").body,
        "no RunSource (an imported v1 schedule's)": submission(
            RunSpec(target=published, experiment="e", run_source=None), data=None, tags=schedule_tags, key="k",
            namespace="schedules/s").body,
        "blob rule, every field": submission(full, data=DATA, tags=tags, key="k", namespace="rules/r").body,
        "schedule without data": submission(RunSpec(target=published, experiment="e"), data=None,
                                            tags=schedule_tags, key="k", namespace="rules/r").body,
    }


@pytest.mark.parametrize("name", sorted(app_bodies()))
def test_every_body_the_app_builds_is_read_by_the_sdk_exactly_as_sent(name):
    assert contract_problems(app_bodies()[name]) == []


GOOD = app_bodies()["blob rule, every field"]


@pytest.mark.parametrize("broken, expected", [
    ({**{k: v for k, v in GOOD.items() if k != "ExperimentName"}, "ExperimentNmae": "e"},
     "$.ExperimentNmae: not a PipelineSubmissionInfo key"),
    ({**GOOD, "DataPathAssignments": {"input_datapath": {"DatastoreName": "d", "RelativePath": "p"}}},
     "DatastoreName: not a LegacyDataPath key"),
    ({**GOOD, "Tags": GOOD["tags"]}, "$.Tags: not a PipelineSubmissionInfo key"),
    ({**GOOD, "ParameterAssignments": {"trials": 3}}, "$.ParameterAssignments['trials']: expected str, got 3"),
    ({**GOOD, "ContinueRunOnStepFailure": "false"}, "$.ContinueRunOnStepFailure: expected bool"),
])
def test_the_check_fails_on_a_renamed_key_or_a_wrong_type(broken, expected):
    problems = contract_problems(broken)
    assert any(expected in problem for problem in problems), problems


def sdk_client(aml) -> tuple[AMLPipelinesAPI10, dict[str, str]]:
    token, _ = make_token("https://management.azure.com", "oracle")
    return AMLPipelinesAPI10(base_url=aml.url), {"Authorization": f"Bearer {token}"}


def sdk_submit(aml, body: dict):
    """Submit ``body`` with the SDK's own REST client: it serializes PipelineSubmissionInfo its own way."""
    client, headers = sdk_client(aml)
    operation = client.api_v10_subscriptions_by_subscription_id_resource_groups_by_resource_group_name_providers_microsoft_machine_learning_services_workspaces_by_workspace_name_pipeline_runs_pipeline_submit_by_pipeline_id_post  # noqa: E501 - the SDK's name
    info = deserialize("PipelineSubmissionInfo", body)
    return operation("00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws", "pipe-1",
                     pipeline_submission_info=info, custom_headers=headers)


def test_the_sdk_and_the_app_send_the_stand_in_the_same_body_and_read_its_answer(aml, credential):
    body = app_bodies()["blob rule, every field"]
    run = sdk_submit(aml, body)
    request = submission(RunSpec(target=parse_target(aml.published_pipeline_url("pipe-1"), allow_local=True),
                                 experiment="retrain",
                                 parameters={"model_name": "m1", "trials": 3, "ratio": 0.5},
                                 data_path=DataPathBinding("input_datapath", "workspaceblobstore"),
                                 description="nightly", continue_on_step_failure=False, run_source="API"),
                         data=DATA, tags=body["tags"], key="k", namespace="rules/r")
    retry = RetrySettings(max_attempts=1, deadline=30, attempt_timeout=5)
    app_run_id = PipelineSubmitter(TokenProvider(credential), retry).submit(request, deadline()).run_id

    sdk_sent, app_sent = (received.body for received in aml.received)
    assert sdk_sent == app_sent == body
    assert run.id == aml.accepted[0].run_id and run.status.status_code == "NotStarted"  # PipelineRunEntity
    assert app_run_id == aml.accepted[1].run_id
    assert aml.received[0].content_type == "application/json-patch+json; charset=utf-8"  # the SDK's own header


def test_the_stand_ins_errors_are_the_sdks_error_model_and_the_app_reads_them_alike(aml):
    aml.inject(Respond(400, code="UserError", message="Assignment for parameter input_string is not specified"))
    with pytest.raises(aeva.ErrorResponseException) as raised:
        sdk_submit(aml, GOOD)
    sdk_error = raised.value.error.error
    assert (sdk_error.code, sdk_error.message) == (
        "UserError", "Assignment for parameter input_string is not specified")

    answer = requests.Response()  # the same body, as the app's error reader gets it from requests
    answer.status_code = 400
    answer._content = json.dumps({"Error": {"Code": sdk_error.code, "Message": sdk_error.message}}).encode()

    assert error_details(answer) == (sdk_error.code, sdk_error.message)
