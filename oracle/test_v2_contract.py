"""The v2 contract, judged by azure-ai-ml: MLClient.batch_endpoints.invoke() and the app invoke the same batch
endpoint on the stand-in with the same inputs; their requests must agree in body, headers and token scope."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from azure.ai.ml import Input, MLClient, Output
from azure.ai.ml.constants._endpoint import EndpointInvokeFields

from localdev.aml_standin import SCORING_PATH
from oracle.conftest import body_differences, deadline
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import parse_target
from shared.core.config.config_model import DataPathBinding, JobOutput, RetrySettings, RunSpec
from shared.core.runs.payloads import REPEATABILITY_HEADER, DataRef, submission

BLOB = "incoming/machines.csv"
DATA_URI = f"azureml://datastores/workspaceblobstore/paths/{BLOB}"
SCORES = "azureml://datastores/workspaceblobstore/paths/scores/"
PARAMETERS = {"model_name": "m1", "max_trials": 3, "learning_rate": 0.1, "early_stop": True}
SDK_LITERAL_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
TRIGGER_LABELS = {"triggered_by", "trigger_rule", "trigger_blob", "trigger_etag", "trigger_key"}


def sdk_invoke(aml, credential, monkeypatch) -> None:
    """Invoke the stand-in's batch endpoint with Microsoft's client, offline (its ARM base URL points here)."""
    monkeypatch.setenv("AZUREML_DEV_URL_MFE", aml.url)
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")  # MLClient writes it; keep it per test
    monkeypatch.setattr(EndpointInvokeFields, "DEFAULT_HEADER", {"Content-Type": "application/json"})  # shared state
    client = MLClient(credential, "00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws", enable_telemetry=False)
    inputs = {name: Input(type=SDK_LITERAL_TYPES[type(value)], default=value) for name, value in PARAMETERS.items()}
    inputs["input_data"] = Input(type="uri_file", path=DATA_URI)
    job = client.batch_endpoints.invoke(endpoint_name="retrain", deployment_name="blue",
                                        experiment_name="batch-retrain", inputs=inputs,
                                        outputs={"scores": Output(type="uri_folder", path=SCORES)})
    assert job.name == aml.accepted[-1].run_id  # the SDK read the stand-in's answer


def app_invoke(aml, credential, tags: dict[str, str]) -> str:
    run = RunSpec(target=parse_target(aml.batch_endpoint_url(), deployment="blue", allow_local=True),
                  experiment="batch-retrain", parameters=PARAMETERS,
                  data_path=DataPathBinding("input_data", "workspaceblobstore"),
                  outputs={"scores": JobOutput(type="uri_folder", uri=SCORES)})
    request = submission(run, data=DataRef(path=BLOB, url="https://unused"), tags=tags, key="k" * 64,
                         namespace="rules/v2")
    assert request.scope == "https://ml.azure.com/.default"
    retry = RetrySettings(max_attempts=1, deadline=30, attempt_timeout=5)
    return PipelineSubmitter(TokenProvider(credential), retry).submit(request, deadline()).run_id


def without_trigger_labels(body: dict[str, Any]) -> dict[str, Any]:
    """The app's body minus the labels it adds to the job's property bag (the SDK's invoke has no such option)."""
    body = copy.deepcopy(body)
    bag = body["properties"]["properties"]
    for label in TRIGGER_LABELS:
        bag.pop(label, None)
    return body


def posts(aml) -> list:
    return [received for received in aml.received if received.path == SCORING_PATH]


def test_the_app_invokes_a_batch_endpoint_as_azure_ai_ml_does(aml, credential, monkeypatch):
    sdk_invoke(aml, credential, monkeypatch)
    sdk_scopes = list(credential.scopes)
    app_job = app_invoke(aml, credential, tags={"trigger_rule": "v2", "trigger_key": "k" * 64})

    sdk_post, app_post = posts(aml)
    assert body_differences(without_trigger_labels(app_post.body), sdk_post.body) == []
    for header in ("Content-Type", "azureml-model-deployment"):
        assert app_post.headers[header] == sdk_post.headers[header], header
    assert REPEATABILITY_HEADER in sdk_post.headers and REPEATABILITY_HEADER in app_post.headers
    assert sdk_scopes[-1] == "https://ml.azure.com/.default"  # the SDK's token for the POST
    assert app_post.audience == sdk_post.audience == "https://ml.azure.com"
    assert app_job == aml.accepted[-1].run_id


@pytest.mark.parametrize("rename", [("inputData", "inputDatas"), ("jobInputType", "JobInputType"),
                                    ("experimentName", "experiment_name")])
def test_the_comparison_fails_when_a_key_is_renamed(aml, credential, monkeypatch, rename):
    sdk_invoke(aml, credential, monkeypatch)
    app_invoke(aml, credential, tags={})
    sdk_post, app_post = posts(aml)
    old, new = rename
    renamed = json.loads(json.dumps(app_post.body).replace(f'"{old}"', f'"{new}"'))

    assert body_differences(without_trigger_labels(renamed), sdk_post.body) != []
