"""import v1-schedules live: the schedules listed from the workspace (the stand-in's v1 schedule routes) with the
app's identity, and the cut-over: --disable prints what it will change and changes nothing without --yes."""

from __future__ import annotations

import json

import pytest

from cli.__main__ import main
from tests.support.harness import PROJECT_ROOT

SCHEDULES = json.loads((PROJECT_ROOT / "tests" / "fixtures" / "importers" / "v1_schedules.json").read_text())
REACTIVE = SCHEDULES[-1]["Id"]


@pytest.fixture
def workspace(aml, identity, monkeypatch) -> str:
    """The stand-in holding the fixture's schedules; the identity and settings the other commands use."""
    for name, value in {**identity.environment(), "AML_ALLOW_LOCAL_TARGETS": "true",
                        "WATCH_CONTAINER": "training-data"}.items():
        monkeypatch.setenv(name, value)
    aml.schedules.update({entity["Id"]: entity for entity in SCHEDULES})
    return aml.workspace_url()


def schedule_requests(aml) -> list[tuple[str, str]]:
    return [(request.path.rsplit("/workspaces/ml-ws", 1)[1], request.audience) for request in aml.received]


def test_live_import_lists_every_schedule_of_the_workspace_with_the_apps_identity(workspace, aml, capsys):
    assert main(["import", "v1-schedules", "--workspace-url", workspace, "--blob", "Datasets/new.csv"]) == 0

    out = capsys.readouterr().out
    assert schedule_requests(aml) == [("/Schedules", "https://management.azure.com")]
    assert aml.received[0].query == {"activeOnly": "false"}  # disabled ones are imported too (enabled: false)
    assert "v1 schedule 'Monthly' (00000000-5c4e-4d00-8000-000000000005, time, Disabled) -> schedule 'Monthly'" in out
    assert f"{workspace}/PipelineRuns/PipelineEndpointSubmit/Id/9a1b2c3d" in out


def test_disable_without_the_confirmation_prints_the_change_and_changes_nothing(workspace, aml, capsys):
    assert main(["import", "v1-schedules", "--workspace-url", workspace, "--disable", REACTIVE]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"v1 schedule 'MyReactiveSchedule' ({REACTIVE}): EntityStatus Active -> Disabled",
        "nothing changed: make sure the imported rules and schedules are live, then add --yes"]
    assert schedule_requests(aml) == [(f"/Schedules/{REACTIVE}", "https://management.azure.com")]  # one read, no PUT
    assert aml.schedules[REACTIVE] == SCHEDULES[-1]


def test_disable_with_the_confirmation_puts_the_schedule_back_disabled_as_the_sdk_does(workspace, aml, capsys):
    assert main(["import", "v1-schedules", "--workspace-url", workspace, "--disable", REACTIVE, "--yes"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        f"disabled v1 schedule 'MyReactiveSchedule' ({REACTIVE}): it starts no more runs")
    assert [request.path.rsplit("/", 1)[1] for request in aml.received] == [REACTIVE, REACTIVE, REACTIVE]
    put = aml.received[-1]
    assert (put.status, put.content_type) == (200, "application/json-patch+json; charset=utf-8")
    assert put.body == {**SCHEDULES[-1], "EntityStatus": "Disabled"}  # the whole entity, only its status changed
    assert aml.schedules[REACTIVE]["EntityStatus"] == "Disabled"

    assert main(["import", "v1-schedules", "--workspace-url", workspace, "--disable", REACTIVE, "--yes"]) == 0
    assert "already disabled, unchanged" in capsys.readouterr().out
    assert len(aml.received) == 4  # the second time: one read, no PUT


def test_an_unknown_schedule_id_is_a_clear_error_and_nothing_changes(workspace, aml, capsys):
    assert main(["import", "v1-schedules", "--workspace-url", workspace, "--disable", "no-such", "--yes"]) == 1
    assert "not found (schedule no-such not found)" in json.loads(capsys.readouterr().err)["error"]
    assert [request.status for request in aml.received] == [404]


def test_an_unreachable_workspace_is_a_clear_error(identity, monkeypatch, capsys, closed_port):
    for name, value in {**identity.environment(), "AML_ALLOW_LOCAL_TARGETS": "true"}.items():
        monkeypatch.setenv(name, value)
    url = (f"http://127.0.0.1:{closed_port}/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
           f"Microsoft.MachineLearningServices/workspaces/w")

    assert main(["import", "v1-schedules", "--workspace-url", url]) == 1

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == (f"the workspace at {url}/Schedules cannot be reached (ConnectionError); check the "
                              f"workspace URL and the network")
    assert error["retryable"] is True


def workspace_requests(aml) -> list[tuple[str, str | None, dict[str, str], int | None]]:
    return [(request.path, request.audience, request.query, request.status) for request in aml.received]


def test_a_workspace_resource_id_is_resolved_as_the_sdk_does_and_its_schedules_listed(workspace, aml, capsys):
    assert main(["import", "v1-schedules", "--workspace", aml.workspace_id(), "--arm-endpoint", aml.url,
                 "--blob", "Datasets/new.csv"]) == 0

    out = capsys.readouterr().out
    assert workspace_requests(aml) == [
        (aml.workspace_id(), "https://management.azure.com", {"api-version": "2024-10-01"}, 200),  # ARM's GET
        ("/discovery", None, {}, 200),  # properties.discoveryUrl, read without a token as azureml-core reads it
        (f"{aml.workspace_id().join(['/pipelines/v1.0', ''])}/Schedules", "https://management.azure.com",
         {"activeOnly": "false"}, 200)]  # on the discovery document's "api" host
    assert f"{workspace}/PipelineRuns/PipelineEndpointSubmit/Id/9a1b2c3d" in out  # the same URLs as --workspace-url
    assert "v1 schedule 'Monthly' (00000000-5c4e-4d00-8000-000000000005, time, Disabled) -> schedule 'Monthly'" in out


@pytest.mark.parametrize("resource_id", [
    "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/w",
    "/subscriptions/s/resourceGroups/r/workspaces/w", "ml-ws",
    "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/extra"])
def test_a_malformed_resource_id_is_a_clear_error_sending_nothing(workspace, aml, identity, capsys, resource_id):
    assert main(["import", "v1-schedules", "--workspace", resource_id, "--arm-endpoint", aml.url]) == 1

    assert json.loads(capsys.readouterr().err)["error"] == (
        f"--workspace {resource_id!r}: not a workspace resource id (expected /subscriptions/<sub>/resourceGroups/<rg>"
        f"/providers/Microsoft.MachineLearningServices/workspaces/<name>)")
    assert aml.received == [] and identity.requests == []  # no token asked for either


def test_a_workspace_arm_does_not_know_is_a_clear_error_and_nothing_else_is_asked(workspace, aml, capsys):
    missing = aml.workspace_id(ws="no-such-ws")
    assert main(["import", "v1-schedules", "--workspace", missing, "--arm-endpoint", aml.url]) == 1

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == (
        f"{aml.url}{missing}: not found (The Resource 'Microsoft.MachineLearningServices/workspaces/no-such-ws' under "
        f"resource group 'ml-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix)")
    assert workspace_requests(aml) == [(missing, "https://management.azure.com", {"api-version": "2024-10-01"}, 404)]


def test_an_unreachable_arm_endpoint_is_a_clear_error(workspace, aml, capsys, closed_port):
    arm = f"http://127.0.0.1:{closed_port}"
    assert main(["import", "v1-schedules", "--workspace", aml.workspace_id(), "--arm-endpoint", arm]) == 1

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == (f"ARM at {arm}{aml.workspace_id()} cannot be reached (ConnectionError); check "
                              f"--arm-endpoint and the network")
    assert error["retryable"] is True
    assert aml.received == []


@pytest.mark.parametrize("arm, allow_local", [
    ("https://management.example.com", "true"),  # not a cloud's ARM endpoint
    ("http://management.azure.com", "true"),  # plain http
    (None, "false"),  # the loopback stand-in, without AML_ALLOW_LOCAL_TARGETS
])
def test_the_arm_endpoint_is_held_to_the_allowlist_and_nothing_is_sent(workspace, aml, identity, monkeypatch, capsys,
                                                                       arm, allow_local):
    monkeypatch.setenv("AML_ALLOW_LOCAL_TARGETS", allow_local)
    arm = arm or aml.url
    assert main(["import", "v1-schedules", "--workspace", aml.workspace_id(), "--arm-endpoint", arm]) == 1

    assert json.loads(capsys.readouterr().err)["error"] == (
        f"--arm-endpoint {arm!r}: expected one of https://management.azure.com, https://management.chinacloudapi.cn, "
        f"https://management.usgovcloudapi.net (loopback hosts only with AML_ALLOW_LOCAL_TARGETS=true, for local "
        f"development)")
    assert aml.received == [] and identity.requests == []


def test_a_discovery_document_naming_a_host_outside_the_allowlist_gets_no_token(workspace, aml, capsys):
    aml.discovery_api = "https://eastus.api.example.com"
    assert main(["import", "v1-schedules", "--workspace", aml.workspace_id(), "--arm-endpoint", aml.url]) == 1

    assert ("the workspace's discovery document gave https://eastus.api.example.com/pipelines/v1.0/subscriptions/"
            "00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/"
            "workspaces/ml-ws: host 'eastus.api.example.com' is not an Azure ML host") in json.loads(
        capsys.readouterr().err)["error"]
    assert [request.path for request in aml.received] == [aml.workspace_id(), "/discovery"]  # no schedule listing
