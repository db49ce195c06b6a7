"""How azureml-core finds a workspace's regional host: ARM's workspace GET, whose ``properties.discoveryUrl`` points
at the discovery document, whose ``api`` host serves the pipelines API and ``history`` host run history."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from localdev.aml_standin.wire import Answer, Request, error, refused_token

if TYPE_CHECKING:
    from localdev.aml_standin.server import AmlStandIn

DISCOVERY_PATH = "/discovery"


def discovery(aml: AmlStandIn, request: Request) -> Answer:
    """The discovery document, read without a token as azureml-core reads it."""
    if aml.discovery_down:
        return Answer(503, error("ServiceUnavailable", "The service is temporarily unavailable."))
    return Answer(200, {"api": aml.discovery_api or aml.url, "catalog": "https://catalog.cortanaanalytics.com",
                        "experimentation": aml.url, "gallery": "https://gallery.cortanaintelligence.com/project",
                        "history": aml.discovery_history or aml.url, "hyperdrive": aml.url, "labeling": aml.url,
                        "modelmanagement": aml.url, "pipelines": aml.url, "studiocoreservices": aml.url})


def read_workspace(aml: AmlStandIn, request: Request) -> Answer:
    """ARM's workspace GET: the workspaces in ``aml.workspaces``, 404 for any other."""
    refused = refused_token(request.headers, aml.audiences, challenge=False)
    if refused:
        return refused
    if not request.query.get("api-version"):
        return Answer(400, error("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                                 "required for all requests.", v2=True))
    assert request.match is not None
    sub, rg, ws = (unquote(request.match[name]) for name in ("sub", "rg", "ws"))
    if (sub.lower(), rg.lower(), ws.lower()) not in {tuple(part.lower() for part in w) for w in aml.workspaces}:
        return Answer(404, error("ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
                                 f"{ws}' under resource group '{rg}' was not found. For more details please go to "
                                 f"https://aka.ms/ARMResourceNotFoundFix", v2=True))
    path = request.url.path
    resource_group = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
    return Answer(200, {
        "id": path, "name": ws, "type": "Microsoft.MachineLearningServices/workspaces", "location": "eastus",
        "tags": {}, "etag": None, "kind": "Default", "sku": {"name": "Basic", "tier": "Basic"},
        "identity": {"type": "SystemAssigned", "principalId": "00000000-0000-0000-0000-0000000000a1",
                     "tenantId": "00000000-0000-0000-0000-0000000000b1"},
        "properties": {
            "friendlyName": ws, "description": "", "hbiWorkspace": False, "provisioningState": "Succeeded",
            "workspaceId": "00000000-0000-0000-0000-0000000000c1", "v1LegacyMode": False,
            "storageAccount": f"{resource_group}/Microsoft.Storage/storageAccounts/{ws.replace('-', '')}store",
            "keyVault": f"{resource_group}/Microsoft.KeyVault/vaults/{ws}-kv",
            "applicationInsights": f"{resource_group}/Microsoft.Insights/components/{ws}-ai",
            "discoveryUrl": aml.url + DISCOVERY_PATH, "publicNetworkAccess": "Enabled",
            "mlFlowTrackingUri": f"azureml://{urlsplit(aml.url).netloc}/mlflow/v1.0{path}"},
    })
