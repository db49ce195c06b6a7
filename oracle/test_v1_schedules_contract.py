"""The v1 schedule routes, judged by azureml-pipeline-core's own REST client and models: the SDK lists, gets and
disables (GET, then PUT the entity with EntityStatus Disabled, as ``Schedule.disable`` does) against the stand-in,
and the app's client sends the PUT the SDK sends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.migrate.v1_schedules import V1ScheduleClient
from oracle.test_v1_contract import MODELS, contract_problems, deserialize, sdk_client, serialize
from shared.clients.common.auth import TokenProvider

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "importers" / "v1_schedules.json"
SCHEDULES = json.loads(FIXTURE.read_text(encoding="utf-8"))
WORKSPACE = ("00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws")
_ROUTES = "api_v10_subscriptions_by_subscription_id_resource_groups_by_resource_group_name_providers_microsoft_" \
          "machine_learning_services_workspaces_by_workspace_name_schedules"


@pytest.fixture
def workspace(aml):
    aml.schedules.update({entity["Id"]: entity for entity in SCHEDULES})
    return aml


def operation(client, name: str):
    return getattr(client, f"{_ROUTES}{name}")


@pytest.mark.parametrize("index", range(len(SCHEDULES)))
def test_the_checked_in_fixtures_are_read_by_the_sdks_model_exactly_as_written(index):
    assert contract_problems(SCHEDULES[index], "PipelineScheduleEntity", MODELS) == []


def test_the_sdk_lists_the_stand_ins_schedules_active_only_or_all(workspace):
    client, headers = sdk_client(workspace)
    everything = operation(client, "_get")(*WORKSPACE, active_only=False, custom_headers=headers)
    active = operation(client, "_get")(*WORKSPACE, active_only=True, custom_headers=headers)

    assert [schedule.name for schedule in everything] == [entity["Name"] for entity in SCHEDULES]
    assert "Monthly" not in [schedule.name for schedule in active]  # EntityStatus "2": disabled
    assert everything[-1].data_store_trigger_info.path_on_data_store == "Datasets"
    assert [request.query for request in workspace.received] == [{"activeOnly": "false"}, {"activeOnly": "true"}]


def test_the_sdk_gets_one_schedule_and_disables_it_by_putting_it_back(workspace):
    client, headers = sdk_client(workspace)
    schedule_id = SCHEDULES[2]["Id"]
    entity = operation(client, "_by_schedule_id_get")(*WORKSPACE, schedule_id, custom_headers=headers)
    assert (entity.name, entity.recurrence.schedule.hours) == ("Nightly retrain", [2])

    entity.entity_status = "Disabled"  # what Schedule.disable sets before update_schedule_async's PUT
    updated = operation(client, "_by_schedule_id_put")(*WORKSPACE, schedule_id, updated=entity,
                                                        custom_headers=headers)

    assert updated.entity_status == "Disabled"
    assert workspace.schedules[schedule_id]["EntityStatus"] == "Disabled"
    assert workspace.received[-1].content_type == "application/json-patch+json; charset=utf-8"


def test_the_apps_disable_sends_the_put_the_sdk_sends(workspace, credential):
    client, headers = sdk_client(workspace)
    reactive = SCHEDULES[-1]["Id"]
    V1ScheduleClient(workspace.workspace_url(), TokenProvider(credential)).disable(reactive)
    app_put = workspace.received[-1]
    workspace.schedules[reactive] = SCHEDULES[-1]

    entity = operation(client, "_by_schedule_id_get")(*WORKSPACE, reactive, custom_headers=headers)
    entity.entity_status = "Disabled"
    operation(client, "_by_schedule_id_put")(*WORKSPACE, reactive, updated=entity, custom_headers=headers)
    sdk_put = workspace.received[-1]

    assert app_put.body == sdk_put.body == serialize.body(deserialize("PipelineScheduleEntity", app_put.body),
                                                          "PipelineScheduleEntity")
    assert app_put.content_type == sdk_put.content_type
    assert credential.scopes == ["https://management.azure.com/.default"] * 2  # the GET and the PUT
    assert app_put.audience == sdk_put.audience == "https://management.azure.com"
