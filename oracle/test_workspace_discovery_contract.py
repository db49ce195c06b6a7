"""Finding a workspace's regional host, judged by azureml-core: its own ARM Workspace model reads the stand-in's
workspace GET (``discoveryUrl``), its own ServiceDiscovery reads the discovery document, and the pipelines host it
picks (the ``api`` key) is the one the app's --workspace resolution lands on; the run-history host it picks (the
``history`` key) is the one the app reads an ended pipeline job's times from."""

from __future__ import annotations

import requests
from azureml._base_sdk_common.service_discovery import ServiceDiscovery
from azureml._restclient import models as core_models
from azureml._restclient.service_context import _ServiceKeys
from msrest import Deserializer

from cli.migrate.v1_schedules import find_v1_workspace_url
from localdev.aml_standin import COMPONENT
from oracle.conftest import deadline
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.aml.history_hosts import HistoryHosts
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import ARM_SCOPE, parse_target, parse_workspace_id
from shared.core.aml.workspace_discovery import WORKSPACES_API_VERSION, ArmEndpoint
from shared.core.config.config_model import RetrySettings

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


def test_the_run_history_host_the_app_finds_is_the_one_the_sdk_picks_from_the_discovery_document(aml, credential):
    aml.discovery_history = "http://127.0.0.1:9"  # another host than the stand-in's own (never called here)
    services = ServiceDiscovery(None).discover_services_uris(f"{aml.url}/discovery")
    history_host = services[_ServiceKeys.get_discovery_key(_ServiceKeys.RUN_HISTORY)]  # "history", as the SDK picks
    target = parse_target(aml.arm_url(), kind="pipeline_job", workspace=aml.workspace_id(),
                          component="azureml:" + ":".join(COMPONENT), allow_local=True)
    submitter = PipelineSubmitter(TokenProvider(credential), RetrySettings(max_attempts=1, deadline=30,
                                                                           attempt_timeout=5))

    assert HistoryHosts().root(submitter, target, deadline()) == history_host == "http://127.0.0.1:9"
