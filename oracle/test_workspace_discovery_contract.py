"""Finding a workspace's regional host, judged by azureml-core: its own ARM Workspace model reads the stand-in's
workspace GET (``discoveryUrl``), its own ServiceDiscovery reads the discovery document, and the pipelines host it
picks (the ``api`` key) is the one the app's --workspace resolution lands on."""

from __future__ import annotations

import requests
from azureml._base_sdk_common.service_discovery import ServiceDiscovery
from azureml._restclient import models as core_models
from azureml._restclient.service_context import _ServiceKeys
from msrest import Deserializer

from cli.migrate.v1_schedules import find_v1_workspace_url
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import ARM_SCOPE, parse_workspace_id
from shared.core.aml.workspace_discovery import WORKSPACES_API_VERSION, ArmEndpoint

CORE_MODELS = {name: value for name, value in vars(core_models).items() if isinstance(value, type)}


def test_the_sdks_models_read_the_stand_ins_workspace_and_discovery_document_as_the_app_does(aml, credential):
    token = credential.get_token(ARM_SCOPE).token
    answer = requests.get(f"{aml.url}{aml.workspace_id()}", params={"api-version": WORKSPACES_API_VERSION},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    workspace = Deserializer(CORE_MODELS)("Workspace", answer.json())
    assert (workspace.location, workspace.discovery_url) == ("eastus", f"{aml.url}/discovery")

    services = ServiceDiscovery(None).discover_services_uris(workspace.discovery_url)
    pipelines_host = services[_ServiceKeys.get_discovery_key(_ServiceKeys.PIPELINES)]  # "api", as the SDK picks

    found = find_v1_workspace_url(parse_workspace_id(aml.workspace_id()), ArmEndpoint(aml.url, ARM_SCOPE),
                                  TokenProvider(credential), allow_local=True)
    assert found == f"{pipelines_host}/pipelines/v1.0{aml.workspace_id()}" == aml.workspace_url()
