"""Finding a workspace's v1 pipelines API and its run history from its resource id, as pure steps: which ARM
endpoints a token may go to, what of ARM's answer and the discovery document is trusted (run history's host held to
the clouds' run-history hosts), and the exact message for what is not."""

from __future__ import annotations

import pytest

from shared.core.aml.targets import ARM_SCOPE, Workspace
from shared.core.aml.workspace_discovery import (
    ArmEndpoint,
    arm_endpoint,
    discovery_url,
    history_root,
    pipelines_workspace_url,
    workspace_get_url,
    workspace_id,
)
from shared.core.common.errors import InvalidInput, Refused

pytestmark = pytest.mark.unit

RESOURCE_ID = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
WORKSPACE = Workspace("sub-1", "rg-1", "ws-1")
NO_HOST = "the workspace's properties.discoveryUrl is not an https URL: cannot find its regional host"


def test_a_workspace_resource_id_is_read_with_surrounding_space_and_a_trailing_slash():
    assert workspace_id(f"  {RESOURCE_ID}/ ") == WORKSPACE


def test_a_resource_id_of_another_shape_is_refused_with_the_shape_expected():
    with pytest.raises(InvalidInput) as caught:
        workspace_id("/subscriptions/sub-1/resourceGroups/rg-1")
    assert str(caught.value) == (
        "--workspace '/subscriptions/sub-1/resourceGroups/rg-1': not a workspace resource id (expected /subscriptions/"
        "<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>)")


@pytest.mark.parametrize(("given", "url", "scope"), [
    ("https://management.azure.com", "https://management.azure.com", ARM_SCOPE),
    (" HTTPS://Management.ChinaCloudAPI.cn/ ", "https://management.chinacloudapi.cn",
     "https://management.chinacloudapi.cn/.default"),
    ("https://management.usgovcloudapi.net//", "https://management.usgovcloudapi.net",
     "https://management.usgovcloudapi.net/.default"),
])
def test_each_clouds_arm_endpoint_is_known_with_its_own_token_scope(given, url, scope):
    assert arm_endpoint(given, allow_local=False) == ArmEndpoint(url, scope)
    assert arm_endpoint(given, allow_local=True) == ArmEndpoint(url, scope)


def test_a_loopback_arm_endpoint_takes_arms_scope_and_only_with_the_local_flag():
    assert arm_endpoint("http://127.0.0.1:8123/", allow_local=True) == ArmEndpoint("http://127.0.0.1:8123", ARM_SCOPE)
    assert arm_endpoint("https://localhost:8123", allow_local=True) == ArmEndpoint("https://localhost:8123", ARM_SCOPE)
    with pytest.raises(InvalidInput) as caught:
        arm_endpoint("http://127.0.0.1:8123", allow_local=False)
    assert str(caught.value) == (
        "--arm-endpoint 'http://127.0.0.1:8123': expected one of https://management.azure.com, "
        "https://management.chinacloudapi.cn, https://management.usgovcloudapi.net (loopback hosts only with "
        "AML_ALLOW_LOCAL_TARGETS=true, for local development)")


@pytest.mark.parametrize("url", ["https://management.example.com", "ftp://127.0.0.1:8123", "http://10.0.0.1",
                                 "https://management.azure.comX"])
def test_an_arm_endpoint_outside_the_allowlist_is_refused_even_with_the_local_flag(url):
    with pytest.raises(InvalidInput, match=r"^--arm-endpoint .*: expected one of https://management\.azure\.com, "):
        arm_endpoint(url, allow_local=True)


def test_the_workspace_get_url_is_the_arm_endpoint_and_the_workspaces_arm_path():
    assert workspace_get_url(ArmEndpoint("https://management.azure.com", ARM_SCOPE), WORKSPACE) == (
        f"https://management.azure.com{RESOURCE_ID}?api-version=2024-10-01")


@pytest.mark.parametrize(("url", "allow_local"), [
    ("https://westeurope.api.azureml.ms/discovery", False),
    ("http://127.0.0.1:8123/discovery", True),
    ("https://localhost/discovery", True),
])
def test_the_discovery_url_is_taken_from_arms_answer_when_it_is_https_or_an_allowed_loopback(url, allow_local):
    assert discovery_url({"properties": {"discoveryUrl": url}}, allow_local=allow_local) == url


@pytest.mark.parametrize("answer", [{}, {"properties": {}}, {"properties": {"discoveryUrl": ""}},
                                    {"properties": {"discoveryUrl": 7}}, ["properties"], None])
def test_an_answer_without_a_discovery_url_is_refused_by_name(answer):
    with pytest.raises(Refused) as caught:
        discovery_url(answer, allow_local=True)
    assert str(caught.value) == (
        "ARM's answer for the workspace has no properties.discoveryUrl: cannot find its regional host")


@pytest.mark.parametrize(("url", "allow_local"), [
    ("http://westeurope.api.azureml.ms/discovery", True),
    ("http://127.0.0.1:8123/discovery", False),
    ("https://user@westeurope.api.azureml.ms/discovery", False),
    ("https://westeurope.api.azureml.ms\\@evil.example/discovery", False),
    ("https://westeurope.api.azureml.ms\\evil.example/discovery", False),
    ("https:///discovery", False),
])
def test_a_discovery_url_that_is_not_plain_https_is_refused(url, allow_local):
    with pytest.raises(Refused) as caught:
        discovery_url({"properties": {"discoveryUrl": url}}, allow_local=allow_local)
    assert str(caught.value) == NO_HOST


def test_the_pipelines_url_is_on_the_discovery_documents_api_host():
    assert pipelines_workspace_url({"api": " https://westeurope.api.azureml.ms/ "}, WORKSPACE) == (
        f"https://westeurope.api.azureml.ms/pipelines/v1.0{RESOURCE_ID}")
    assert pipelines_workspace_url({"api": "https://EU.API.EXAMPLEX/"}, WORKSPACE) == (
        f"https://EU.API.EXAMPLEX/pipelines/v1.0{RESOURCE_ID}")  # only slashes are trimmed


@pytest.mark.parametrize("document", [{}, {"api": " "}, {"api": None}, {"history": "https://h"}, ["api"]])
def test_a_discovery_document_without_an_api_host_is_refused_by_name(document):
    with pytest.raises(Refused) as caught:
        pipelines_workspace_url(document, WORKSPACE)
    assert str(caught.value) == "the workspace's discovery document has no 'api' host"


@pytest.mark.parametrize(("host", "allow_local", "root"), [
    (" https://eastus.api.azureml.ms/ ", False, "https://eastus.api.azureml.ms"),
    ("https://chinaeast2.api.ml.azure.cn", False, "https://chinaeast2.api.ml.azure.cn"),
    ("https://usgovvirginia.api.ml.azure.us", False, "https://usgovvirginia.api.ml.azure.us"),
    ("https://EastUS2.API.AzureML.ms", False, "https://EastUS2.API.AzureML.ms"),
    ("https://MEXICOCENTRAL.API.AZUREML.MS", False, "https://MEXICOCENTRAL.API.AZUREML.MS"),
    ("http://[::1]:8123", True, "http://[::1]:8123"),
    ("http://127.0.0.1:8123", True, "http://127.0.0.1:8123"),
    ("https://localhost:8443/", True, "https://localhost:8443"),
])
def test_run_history_is_on_the_discovery_documents_history_host_of_a_cloud(host, allow_local, root):
    assert history_root({"api": "https://elsewhere.example.com", "history": host}, allow_local=allow_local) == root


@pytest.mark.parametrize(("host", "allow_local"), [
    ("https://eastus.api.example.com", True),
    ("http://eastus.api.azureml.ms", True),
    ("https://eastus.api.azureml.ms:8443", True),
    ("https://eastus.api.azureml.ms:443", False),
    ("https://eastus.api.azureml.ms:99999", False),
    ("https://[eastus.api.azureml.ms", True),
    ("https://api.azureml.ms", False),
    ("https://east.us.api.azureml.ms", False),
    ("https://east-us.api.azureml.ms", False),
    ("https://eastüs.api.azureml.ms", False),
    ("https://eastus.api.azureml.ms/history", False),
    ("https://eastus.api.azureml.ms?x=1", False),
    ("https://eastus.api.azureml.ms#x", False),
    ("https://user@eastus.api.azureml.ms", False),
    ("https://evil.example\\@eastus.api.azureml.ms", False),
    ("https://eastus.api.azureml.ms%2f.evil.example", False),
    ("https://eastus .api.azureml.ms", False),
    ("https://eastus.api.azureml.msx", False),
    ("https://eastus.xapi.azureml.ms", False),
    ("http://127.0.0.1:8123", False),
    ("ftp://127.0.0.1:8123", True),
    ("http://127.0.0.1:8123/history", True),
    ("http://10.0.0.1", True),
])
def test_a_history_host_outside_the_clouds_run_history_hosts_is_refused_naming_it(host, allow_local):
    with pytest.raises(Refused) as caught:
        history_root({"history": host}, allow_local=allow_local)
    assert str(caught.value).startswith("the workspace's discovery document names run history at '")
    assert str(caught.value).endswith(
        "', not an Azure ML run-history host (expected https://<region>.api.azureml.ms, "
        "https://<region>.api.ml.azure.cn, https://<region>.api.ml.azure.us): no token is sent there")


@pytest.mark.parametrize("document", [{}, {"history": " "}, {"history": None}, {"api": "https://h"}, ["history"]])
def test_a_discovery_document_without_a_history_host_is_refused_by_name(document):
    with pytest.raises(Refused) as caught:
        history_root(document, allow_local=True)
    assert str(caught.value) == "the workspace's discovery document has no 'history' host"
