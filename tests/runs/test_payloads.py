"""shared/core/runs/payloads.py and shared/core/ledger/keys.py: the exact request Azure ML receives, and the key of one
blob version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shared.core.aml.run_lookup import RunLookup
from shared.core.aml.targets import ARM_SCOPE, parse_target
from shared.core.common.records import NO_ENTRIES
from shared.core.config.config_loader import load_config
from shared.core.config.config_model import DataPathBinding, JobOutput, RunSpec
from shared.core.ledger.keys import blob_version_key, normalize_etag
from shared.core.runs import payloads
from shared.core.runs.payloads import (
    MAX_TAG_VALUE_CHARS,
    DataRef,
    SubmitRequest,
    blob_tags,
    repeatability_id,
    v1_submission,
    v2_submission,
)
from tests.support.settings import LOADED_AT

WORKSPACE = ("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
             "/PipelineRuns")
PIPELINE_URL = f"https://eastus.api.azureml.ms/pipelines/v1.0{WORKSPACE}/PipelineSubmit/pipe-1"
ENDPOINT_URL = f"https://eastus.api.azureml.ms/pipelines/v1.0{WORKSPACE}/PipelineEndpointSubmit/Id/ep-1"
CONTAINER = "training-data"
BLOB = "incoming/machine data é.csv"
ETAG = '"0x8DC1234ABCD"'
KEY = "k" * 64
NAMESPACE = "rules/daily"


def rule(**overrides) -> RunSpec:
    """What the 'daily' rule runs."""
    base = RunSpec(target=parse_target(PIPELINE_URL), experiment="retrain", parameters={"model_name": "m1"})
    return base._replace(**overrides)


def submission(run: RunSpec, blob_name: str = BLOB) -> SubmitRequest:
    tags = blob_tags("daily", container=CONTAINER, blob_name=blob_name, etag=ETAG, key=KEY)
    return v1_submission(run, data_path=blob_name, tags=tags)


EXPECTED_TAGS = {
    "triggered_by": "aml-pipeline-trigger",
    "trigger_rule": "daily",
    "trigger_blob": f"{CONTAINER}/{BLOB}",
    "trigger_etag": ETAG,
    "trigger_key": KEY,
}


def test_blob_tags_name_rule_blob_etag_and_key():
    assert blob_tags("daily", container=CONTAINER, blob_name=BLOB, etag=ETAG, key=KEY) == EXPECTED_TAGS


def test_no_data_path_assignment_without_a_data_path():
    body = v1_submission(rule(data_path=DataPathBinding("input_datapath", "store")), data_path=None, tags={}).body
    assert "DataPathAssignments" not in body


def test_minimal_rule_gives_the_minimal_body():
    assert submission(rule()).body == {
        "ExperimentName": "retrain",
        "ParameterAssignments": {"model_name": "m1"},
        "RunSource": "SDK",
        "tags": EXPECTED_TAGS,
    }


def test_every_optional_field_is_sent_when_set():
    full_rule = rule(data_path=DataPathBinding("input_datapath", "workspaceblobstore"), description="nightly retrain",
                     continue_on_step_failure=True, run_source="API")
    assert submission(full_rule).body == {
        "ExperimentName": "retrain",
        "ParameterAssignments": {"model_name": "m1"},
        "RunSource": "API",
        "tags": EXPECTED_TAGS,
        "DataPathAssignments": {
            "input_datapath": {"DataStoreName": "workspaceblobstore", "RelativePath": BLOB},
        },
        "Description": "nightly retrain",
        "ContinueRunOnStepFailure": True,
    }


def test_a_rule_that_sends_no_run_source_leaves_it_out_of_the_body():
    assert submission(rule(run_source=None)).body == {
        "ExperimentName": "retrain",
        "ParameterAssignments": {"model_name": "m1"},
        "tags": EXPECTED_TAGS,
    }


def test_continue_on_step_failure_false_is_sent_but_an_empty_description_is_not():
    body = submission(rule(continue_on_step_failure=False, description="")).body
    assert body["ContinueRunOnStepFailure"] is False
    assert "Description" not in body


@pytest.mark.parametrize("blob_name", ["incoming/a.csv", "incoming/sub dir/100%#?.csv", "incoming/日本.csv"])
def test_relative_path_is_the_blob_name_exactly(blob_name):
    body = submission(rule(data_path=DataPathBinding("input_datapath", "store")), blob_name=blob_name).body
    assert body["DataPathAssignments"]["input_datapath"]["RelativePath"] == blob_name
    assert body["tags"]["trigger_blob"] == f"{CONTAINER}/{blob_name}"


@pytest.mark.parametrize("relative_path, blob_name, sent", [
    ("file_name", "incoming/sub dir/machines 1.csv", "machines 1.csv"),  # a Logic App's triggerBody()?['Name']
    ("file_name", "machines.csv", "machines.csv"),
    ("path", "incoming/sub dir/machines 1.csv", "incoming/sub dir/machines 1.csv"),
])
def test_relative_path_file_name_sends_only_the_last_part_of_the_blob_name(relative_path, blob_name, sent):
    binding = DataPathBinding("input_datapath", "store", relative_path=relative_path)
    assert submission(rule(data_path=binding), blob_name=blob_name).body["DataPathAssignments"] == {
        "input_datapath": {"DataStoreName": "store", "RelativePath": sent}}


def test_parameters_from_settings_are_sent_as_strings():
    env = {
        "WATCH_CONTAINER": CONTAINER, "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
        "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5",
        "AML_PIPELINE_URL": PIPELINE_URL, "AML_EXPERIMENT": "retrain",
        "AML_PARAMETERS": '{"model_name": "automlmodel", "max_trials": 3, "ratio": 0.25}',
        "AML_DATA_PATH_PARAMETER": "input_datapath", "AML_DATASTORE": "workspaceblobstore",
    }
    (configured_rule,) = load_config(env, Path("/nonexistent-app-root"), now=LOADED_AT).rules
    body = submission(configured_rule.run).body
    assert body["ParameterAssignments"] == {"model_name": "automlmodel", "max_trials": "3", "ratio": "0.25"}
    assert body["DataPathAssignments"] == {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                                              "RelativePath": BLOB}}


def test_parameter_assignments_are_a_copy_of_the_rule_parameters():
    the_rule = rule()
    submission(the_rule).body["ParameterAssignments"]["model_name"] = "changed"
    assert the_rule.parameters == {"model_name": "m1"}


def test_request_goes_to_the_published_pipeline_with_the_arm_scope():
    request = submission(rule())
    assert (request.url, request.scope) == (PIPELINE_URL, ARM_SCOPE)
    assert request.headers == {"Content-Type": "application/json"}
    assert request.run_id_field == "Id"


def test_request_to_a_pipeline_endpoint_version_uses_the_submit_url_and_custom_scope():
    target = parse_target(ENDPOINT_URL, pipeline_version="4", scope="https://ml.azure.com/.default")
    request = submission(rule(target=target))
    assert request.url == target.submit_url() == f"{ENDPOINT_URL}/4?pipelineVersion=4"
    assert request.scope == "https://ml.azure.com/.default"


LONG_BLOB = "incoming/" + "deep/" * 150 + "machines.csv"  # 771 characters; blob names may have 1,024


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_a_tag_too_long_for_azure_ml_is_cut_to_its_limit_and_still_names_the_blob(kind):
    tags = blob_tags("daily", container=CONTAINER, blob_name=LONG_BLOB * 2, etag=ETAG, key=KEY)
    if kind == "v1":
        sent = v1_submission(rule(), data_path=LONG_BLOB * 2, tags=tags).body["tags"]
    else:
        run = RunSpec(target=parse_target("https://ep.eastus.inference.ml.azure.com/jobs"), experiment="retrain")
        sent = v2_submission(run, data=DataRef(LONG_BLOB, "https://a/b"), tags=tags, key=KEY).body[
            "properties"]["properties"]

    whole = f"{CONTAINER}/{LONG_BLOB * 2}"
    digest = hashlib.sha256(whole.encode()).hexdigest()[:16]
    assert len(sent["trigger_blob"]) == MAX_TAG_VALUE_CHARS == 1000
    assert sent["trigger_blob"].startswith(f"{CONTAINER}/incoming/deep/")
    assert sent["trigger_blob"].endswith("/deep/machines.csv") and f"...[sha256:{digest}]..." in sent["trigger_blob"]
    assert {name: sent[name] for name in ("trigger_key", "trigger_etag", "trigger_rule")} == {
        "trigger_key": KEY, "trigger_etag": ETAG, "trigger_rule": "daily"}  # short values are sent as they are


def test_a_tag_at_the_limit_is_sent_whole():
    name = "a" * (MAX_TAG_VALUE_CHARS - len(CONTAINER) - 1)
    tags = blob_tags("daily", container=CONTAINER, blob_name=name, etag=ETAG, key=KEY)
    assert v1_submission(rule(), data_path=name, tags=tags).body["tags"]["trigger_blob"] == f"{CONTAINER}/{name}"


# --- v2 batch endpoints, and where a run is looked up ------------------------------------------------------------

SCORING_URI = "https://retrain.eastus.inference.ml.azure.com/jobs"
ARM_WORKSPACE = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
BLOB_URL = "https://trainingdata.blob.core.windows.net/training-data/incoming/machine%20data%20%C3%A9.csv"
KEY_REQUEST_ID = "57526fb7-29a9-58f6-9c2c-e35315d8508d"
"""uuid5 of KEY in the app's repeatability namespace (6f1a3c52-2c57-4e61-9a1e-6d1f6a3e2b7c), computed once."""


def batch_run(deployment: str | None = "blue", datastore: str | None = "workspaceblobstore", **fields) -> RunSpec:
    target = parse_target(SCORING_URI, deployment=deployment, workspace=ARM_WORKSPACE)
    return RunSpec(target=target, experiment="batch-retrain", data_path=DataPathBinding("input_data", datastore),
                   **fields)


def test_a_v2_invocation_sends_typed_inputs_the_blob_outputs_and_labels_with_its_headers():
    run = batch_run(parameters={"model_name": "m1", "max_trials": 3, "ratio": 0.25, "early_stop": True},
                    outputs={"scores": JobOutput("uri_folder", "azureml://datastores/out/paths/scores/"),
                             "best": JobOutput("uri_file", "https://acct.blob.core.windows.net/out/best.txt")})
    request = v2_submission(run, data=DataRef(BLOB, BLOB_URL), tags=EXPECTED_TAGS, key=KEY)
    assert request == SubmitRequest(
        url="https://retrain.eastus.inference.ml.azure.com/jobs",
        scope="https://ml.azure.com/.default",
        body={"properties": {
            "inputData": {
                "model_name": {"jobInputType": "Literal", "value": "m1"},
                "max_trials": {"jobInputType": "Literal", "value": 3},
                "ratio": {"jobInputType": "Literal", "value": 0.25},
                "early_stop": {"jobInputType": "Literal", "value": True},
                "input_data": {"jobInputType": "UriFile",
                               "uri": "azureml://datastores/workspaceblobstore/paths/incoming/machine data é.csv"},
            },
            "properties": {"experimentName": "batch-retrain", "triggered_by": "aml-pipeline-trigger",
                           "trigger_rule": "daily", "trigger_blob": "training-data/incoming/machine data é.csv",
                           "trigger_etag": '"0x8DC1234ABCD"', "trigger_key": KEY},
            "outputData": {
                "scores": {"jobOutputType": "UriFolder", "uri": "azureml://datastores/out/paths/scores/"},
                "best": {"jobOutputType": "UriFile", "uri": "https://acct.blob.core.windows.net/out/best.txt"},
            },
        }},
        headers={"Content-Type": "application/json", "repeatability_request-id": KEY_REQUEST_ID,
                 "azureml-model-deployment": "blue"},
        run_id_field="name",
        success_statuses=(200, 201),  # a batch endpoint answers a new job with 200 or 201
        lookup=None,
    )


def test_a_v2_blob_without_a_datastore_goes_as_its_url_and_the_default_deployment_sends_no_header():
    request = v2_submission(batch_run(deployment=None, datastore=None), data=DataRef(BLOB, BLOB_URL), tags={},
                            key=KEY)
    assert request.body == {"properties": {"inputData": {"input_data": {"jobInputType": "UriFile", "uri": BLOB_URL}},
                                           "properties": {"experimentName": "batch-retrain"}}}
    assert request.headers == {"Content-Type": "application/json", "repeatability_request-id": KEY_REQUEST_ID}


def test_a_v2_folder_goes_as_a_uri_folder_input_on_its_datastore_path():
    folder = DataRef("incoming/2026-12-01/", "https://trainingdata.blob.core.windows.net/training-data/incoming/"
                     "2026-12-01/", folder=True)
    request = v2_submission(batch_run(), data=folder, tags={}, key=KEY)
    assert request.body["properties"]["inputData"] == {"input_data": {
        "jobInputType": "UriFolder", "uri": "azureml://datastores/workspaceblobstore/paths/incoming/2026-12-01/"}}


def test_a_v2_run_without_a_blob_has_no_data_input():
    request = v2_submission(batch_run(parameters={"day": "mon"}), data=None, tags={}, key=KEY)
    assert request.body["properties"]["inputData"] == {"day": {"jobInputType": "Literal", "value": "mon"}}


def test_the_repeatability_id_is_the_same_for_one_key_and_differs_between_keys():
    assert repeatability_id(KEY) == repeatability_id("k" * 64) == KEY_REQUEST_ID
    assert repeatability_id("j" * 64) == "9f9ec586-3ff2-5646-b253-60353eedbfd2"


def test_a_v1_submission_tagged_with_its_key_can_be_looked_up_in_run_history():
    request = payloads.submission(rule(data_path=DataPathBinding("input_datapath", "store")),
                                  data=DataRef(BLOB, BLOB_URL), tags=EXPECTED_TAGS, key=KEY,
                                  namespace=NAMESPACE)
    assert request == SubmitRequest(
        url=PIPELINE_URL, scope=ARM_SCOPE,
        body={"ExperimentName": "retrain", "ParameterAssignments": {"model_name": "m1"}, "RunSource": "SDK",
              "tags": EXPECTED_TAGS,
              "DataPathAssignments": {"input_datapath": {"DataStoreName": "store", "RelativePath": BLOB}}},
        lookup=RunLookup(url="https://eastus.api.azureml.ms/history/v1.0/subscriptions/sub/resourceGroups/rg/"
                             "providers/Microsoft.MachineLearningServices/workspaces/ws/experiments/retrain/runs:query",
                         scope=ARM_SCOPE, key=KEY, v1=True),
    )


def test_a_v1_submission_without_a_blob_sends_no_data_path():
    request = payloads.submission(rule(data_path=DataPathBinding("input_datapath", "store")), data=None,
                                  tags=EXPECTED_TAGS, key=KEY, namespace=NAMESPACE)
    assert "DataPathAssignments" not in request.body and request.lookup is not None


def test_a_v2_submission_tagged_with_its_key_is_looked_up_in_the_workspace_jobs_on_arm():
    request = payloads.submission(batch_run(), data=DataRef(BLOB, BLOB_URL), tags=EXPECTED_TAGS, key=KEY,
                                  namespace=NAMESPACE)
    assert request == v2_submission(batch_run(), data=DataRef(BLOB, BLOB_URL), tags=EXPECTED_TAGS, key=KEY)._replace(
        lookup=RunLookup(url=f"https://management.azure.com{ARM_WORKSPACE}/jobs", scope=ARM_SCOPE, key=KEY, v1=False))
    assert request.headers["repeatability_request-id"] == KEY_REQUEST_ID


@pytest.mark.parametrize("tags", [{}, {**EXPECTED_TAGS, "trigger_key": "another"}])
def test_a_submission_not_tagged_with_its_key_has_no_lookup(tags):
    assert payloads.submission(rule(), data=None, tags=tags, key=KEY, namespace=NAMESPACE).lookup is None
    assert payloads.submission(batch_run(), data=None, tags=tags, key=KEY, namespace=NAMESPACE).lookup is None


# --- keys ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("etag", ['"0x8DC1234ABCD"', "0x8DC1234ABCD", ' "0x8DC1234ABCD" ', '""0x8DC1234ABCD""'])
def test_normalize_etag_strips_quotes_and_spaces(etag):
    assert normalize_etag(etag) == "0x8DC1234ABCD"


def test_blob_version_key_is_a_stable_sha256_hex_digest():
    key = blob_version_key(CONTAINER, "incoming/a.csv", "0x8DC1234ABCD")
    assert key == "2ef93cd8c2e23bd82db2cd8cf5bdbaaac8ee3b91aef38eb914556fc51c159ee7"
    assert key == blob_version_key(CONTAINER, "incoming/a.csv", "0x8DC1234ABCD")


def test_blob_version_key_is_the_same_for_quoted_and_bare_etags():
    assert blob_version_key(CONTAINER, BLOB, '"0x8DC1234ABCD"') == blob_version_key(CONTAINER, BLOB, "0x8DC1234ABCD")


@pytest.mark.parametrize("container, blob_name, etag", [
    ("other-data", BLOB, ETAG),
    (CONTAINER, "incoming/other.csv", ETAG),
    (CONTAINER, BLOB.upper(), ETAG),
    (CONTAINER, BLOB, '"0x8DC1234ABCE"'),
])
def test_blob_version_key_differs_per_container_name_and_etag(container, blob_name, etag):
    assert blob_version_key(container, blob_name, etag) != blob_version_key(CONTAINER, BLOB, ETAG)


# --- v2 pipeline jobs ----------------------------------------------------------------------------------------------

JOB_NAME = "trigger-" + hashlib.sha256(f"{NAMESPACE}\n{KEY}".encode()).hexdigest()
"""The job name of NAMESPACE's KEY, computed here rather than by the code under test."""
COMPONENT_ID = f"{ARM_WORKSPACE}/components/retrain/versions/3"


def job_run(compute: str | None = "cpu-cluster", component: str = "azureml:retrain:3", **fields) -> RunSpec:
    target = parse_target("https://management.azure.com", kind="pipeline_job", workspace=ARM_WORKSPACE,
                          component=component, compute=compute)
    return RunSpec(target=target, experiment="retrain", data_path=DataPathBinding("input_data", "workspaceblobstore"),
                   run_source=None, **fields)


def test_a_pipeline_job_is_put_under_its_name_with_the_body_azure_ai_ml_sends():
    run = job_run(parameters={"model_name": "m1", "max_trials": 3, "ratio": 0.25, "early_stop": False},
                  outputs={"scores": JobOutput("uri_folder", "azureml://datastores/out/paths/scores/")},
                  display_name="nightly", tags={"team": "ml"}, continue_on_step_failure=False)

    request = payloads.submission(run, data=DataRef(BLOB, BLOB_URL), tags=EXPECTED_TAGS, key=KEY,
                                  namespace=NAMESPACE)

    assert request == SubmitRequest(
        url=f"https://management.azure.com{ARM_WORKSPACE}/jobs/{JOB_NAME}?api-version=2024-01-01-preview",
        scope=ARM_SCOPE, method="PUT", run_id_field="name", success_statuses=(200, 201), lookup=None,
        existing=payloads.ExistingJob(f"https://management.azure.com{ARM_WORKSPACE}/jobs/{JOB_NAME}"
                                      "?api-version=2024-10-01", KEY), latest=None, component="azureml:retrain:3",
        body={"properties": {
            "jobType": "Pipeline", "componentId": COMPONENT_ID, "experimentName": "retrain", "displayName": "nightly",
            "inputs": {"model_name": {"jobInputType": "literal", "value": "m1"},
                       "max_trials": {"jobInputType": "literal", "value": "3"},
                       "ratio": {"jobInputType": "literal", "value": "0.25"},
                       "early_stop": {"jobInputType": "literal", "value": "False"},
                       "input_data": {"jobInputType": "uri_file", "uri": f"azureml://datastores/workspaceblobstore"
                                                                                f"/paths/{BLOB}"}},
            "outputs": {"scores": {"jobOutputType": "uri_folder", "uri": "azureml://datastores/out/paths/scores/"}},
            "settings": {"_source": "REMOTE.WORKSPACE.COMPONENT", "continue_on_step_failure": False,
                         "default_compute": f"{ARM_WORKSPACE}/computes/cpu-cluster"},
            "jobs": {}, "isArchived": False, "tags": {"team": "ml"}, "properties": EXPECTED_TAGS}})


def test_a_bare_pipeline_job_sends_no_display_name_compute_step_setting_or_data_input():
    request = payloads.submission(job_run(compute=None), data=None, tags={}, key=KEY, namespace=NAMESPACE)

    assert request.body == {"properties": {
        "jobType": "Pipeline", "componentId": COMPONENT_ID, "experimentName": "retrain", "inputs": {}, "outputs": {},
        "settings": {"_source": "REMOTE.WORKSPACE.COMPONENT"}, "jobs": {}, "isArchived": False, "tags": {},
        "properties": {}}}
    assert (request.existing, request.lookup) == (None, None)  # without the key in its labels, nothing to adopt by


def test_a_pipeline_jobs_folder_goes_as_a_uri_folder_input_and_long_labels_are_cut():
    folder = DataRef("incoming/2026-12-01/", "https://unused", folder=True)
    tags = {"trigger_blob": LONG_BLOB * 2}

    request = payloads.pipeline_job_submission(job_run(), data=folder, tags=tags, name="n", key=KEY)

    assert request.body["properties"]["inputs"]["input_data"] == {
        "jobInputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/incoming/2026-12-01/"}
    assert len(request.body["properties"]["properties"]["trigger_blob"]) == MAX_TAG_VALUE_CHARS


def test_a_job_name_is_the_same_for_one_record_and_differs_between_records():
    assert payloads.job_name(NAMESPACE, KEY) == JOB_NAME
    assert len(JOB_NAME) == 72 and JOB_NAME.startswith("trigger-")
    assert payloads.job_name("rules/other", KEY) != JOB_NAME != payloads.job_name(NAMESPACE, "j" * 64)


@pytest.mark.parametrize("document, adopted", [
    ({"name": "job-1", "properties": {"properties": {"trigger_key": KEY}}}, "job-1"),
    ({"name": "job-1", "properties": {"properties": {"trigger_key": "other"}}}, None),
    ({"name": "job-1", "properties": {"properties": {}}}, None),
    ({"name": "job-1", "properties": {"properties": None}}, None),
    ({"name": "job-1", "properties": None}, None),
    ({"name": "", "properties": {"properties": {"trigger_key": KEY}}}, None),
    ({"name": 7, "properties": {"properties": {"trigger_key": KEY}}}, None),
    (["job-1"], None),
])
def test_an_existing_job_is_adopted_only_when_it_carries_the_key(document, adopted):
    assert payloads.ExistingJob("https://unused", KEY).adopted(document) == adopted


LATEST = payloads.LatestComponent(
    f"https://management.azure.com{ARM_WORKSPACE}/components/retrain/versions?api-version=2024-01-01-preview"
    "&$orderBy=createdtime%20desc&$top=1", "retrain", f"{ARM_WORKSPACE}/components/retrain/versions/")


def test_a_latest_components_job_names_no_version_until_it_is_resolved_then_names_the_newest():
    request = payloads.submission(job_run(component="azureml:retrain@latest"), data=DataRef(BLOB, BLOB_URL),
                                  tags=EXPECTED_TAGS, key=KEY, namespace=NAMESPACE)

    assert (request.latest, request.component, request.body["properties"]["componentId"]) == (LATEST, None, None)
    resolved = LATEST.resolved(request, "4")
    assert resolved == request._replace(latest=None, component="azureml:retrain:4", body={
        "properties": {**request.body["properties"], "componentId": f"{ARM_WORKSPACE}/components/retrain/versions/4"}})
    assert request.body["properties"]["componentId"] is None  # the request built from the rule is left as it was
    assert resolved.url == request.url  # the job's name does not depend on the version


def test_a_pinned_components_job_resolves_nothing():
    assert payloads.submission(job_run(), data=None, tags={}, key=KEY, namespace=NAMESPACE).latest is None


@pytest.mark.parametrize("document, version", [
    ({"value": [{"name": "4"}, {"name": "3"}]}, "4"),
    ({"value": [{"name": "1.0.3-rc_1"}]}, "1.0.3-rc_1"),
    ({"value": []}, None),
    ({"value": [{"name": ""}]}, None),
    ({"value": [{"name": "4/../5"}]}, None),
    ({"value": [{"name": 4}]}, None),
    ({"value": ["4"]}, None),
    ({"value": {"name": "4"}}, None),
    ({}, None),
    ([{"name": "4"}], None),
])
def test_the_newest_version_is_the_first_listed_when_it_is_a_version(document, version):
    assert LATEST.version(document) == version


@pytest.mark.parametrize("document, component", [
    ({"properties": {"componentId": f"{ARM_WORKSPACE}/components/retrain/versions/3"}}, "azureml:retrain:3"),
    ({"properties": {"componentId": "/components/retrain/versions/3"}}, "azureml:retrain:3"),
    ({"properties": {"componentId": "components/retrain/versions/3"}}, "azureml:retrain:3"),
    ({"properties": {"componentId": "retrain/versions/3"}}, None),
    ({"properties": {"componentId": f"{ARM_WORKSPACE}/components/retrain/labels/3"}}, None),
    ({"properties": {"componentId": f"{ARM_WORKSPACE}/datasets/retrain/versions/3"}}, None),
    ({"properties": {"componentId": 3}}, None),
    ({"properties": {}}, None),
    ({"properties": None}, None),
    (["x"], None),
])
def test_an_adopted_jobs_component_is_read_from_its_component_id(document, component):
    assert payloads.adopted_component(document) == component


def test_a_run_spec_left_without_parameters_outputs_or_tags_sends_them_empty_as_json():
    """Their default is a read-only mapping that ``json.dumps`` refuses: every body kind copies it."""
    bare = (RunSpec(parse_target(PIPELINE_URL), "retrain"), batch_run(datastore=None), job_run(compute=None))
    assert all(field is NO_ENTRIES for spec in bare for field in (spec.parameters, spec.outputs, spec.tags))
    requests = (v1_submission(bare[0], data_path=None, tags={}), v2_submission(bare[1], data=None, tags={}, key=KEY),
                payloads.submission(bare[2], data=None, tags={}, key=KEY, namespace=NAMESPACE))

    sent = [json.loads(json.dumps(request.body, ensure_ascii=False)) for request in requests]  # as the client sends

    assert sent == [
        {"ExperimentName": "retrain", "ParameterAssignments": {}, "RunSource": "SDK", "tags": {}},
        {"properties": {"inputData": {}, "properties": {"experimentName": "batch-retrain"}}},
        {"properties": {"jobType": "Pipeline", "componentId": COMPONENT_ID, "experimentName": "retrain",
                        "inputs": {}, "outputs": {}, "settings": {"_source": "REMOTE.WORKSPACE.COMPONENT"},
                        "jobs": {}, "isArchived": False, "tags": {}, "properties": {}}},
    ]
