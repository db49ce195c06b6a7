"""The v1 run lookup, judged by azureml-core's own run-history REST client and models (test-only package).

The query the app sends must be the one ``Experiment.get_runs(tags={"trigger_key": ...})`` builds (azureml-core's
OData helpers), and must read back unchanged through the SDK's QueryParamsDto; the stand-in's answer must be a
PaginatedRunDto the SDK's own client deserializes, pages through, and finds the app's run in.
"""

from __future__ import annotations

import pytest
import requests
from azureml._restclient import models as run_history
from azureml._restclient._odata.expressions import and_join
from azureml._restclient._odata.runs import get_filter_include_children, get_filter_run_tags
from azureml._restclient.rest_client import RestClient
from msrest.authentication import BasicTokenAuthentication

from localdev.aml_standin import AcceptThenDrop
from localdev.tokens import make_token
from oracle.conftest import deadline
from oracle.test_v1_contract import _shape_problems, contract_problems
from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.common.auth import TokenProvider
from shared.core.aml.targets import parse_target
from shared.core.config.config_model import RetrySettings, RunSpec
from shared.core.runs.payloads import submission

MODELS = {name: value for name, value in vars(run_history).items() if isinstance(value, type)}
KEY = "4df255dff1154e8f3f71a8207b95905f2accc627d988e3736207e7334bf84641"
WORKSPACE = ("00000000-0000-0000-0000-000000000001", "ml-rg", "ml-ws")


def sdk_filter(key: str, include_children: bool | None = None) -> str:
    """The filter azureml-core's run history facade builds for ``tags={"trigger_key": key}``."""
    expressions = [get_filter_run_tags({"trigger_key": key}), get_filter_include_children(include_children)
                   if include_children is not None else None]
    return and_join([expression for expression in expressions if expression])


def app_request(aml, key: str = KEY):
    run = RunSpec(target=parse_target(aml.published_pipeline_url(), allow_local=True), experiment="retrain")
    return submission(run, data=None, tags={"trigger_key": key}, key=key, namespace="rules/r")


def sdk_client(aml) -> RestClient:
    token, _ = make_token("https://management.azure.com", "oracle")
    return RestClient(BasicTokenAuthentication({"access_token": token}), base_url=aml.url)


def sdk_query(aml, **query):
    return sdk_client(aml).run.get_by_query(*WORKSPACE, "retrain", query_params=run_history.QueryParamsDto(**query))


def test_the_apps_query_is_the_filter_azureml_core_builds_and_the_sdk_reads_it_as_sent(aml):
    body = app_request(aml).lookup.page(None).body

    assert body["filter"] == sdk_filter(KEY) == f'(Tags/trigger_key eq "{KEY}")'
    assert contract_problems(body, "QueryParamsDto", MODELS) == []
    assert contract_problems({**body, "continuationToken": "1"}, "QueryParamsDto", MODELS) == []


@pytest.mark.parametrize("broken, expected", [
    ({"Filter": '(Tags/trigger_key eq "k")', "top": 50}, "$.Filter: not a QueryParamsDto key"),
    ({"filter": '(Tags/trigger_key eq "k")', "top": "50"}, "$.top: expected int"),
    ({"value": [{"RunId": "r", "tags": {}}]}, "$.value[0].RunId: not a RunDto key"),
])
def test_the_check_fails_on_a_renamed_key_or_a_wrong_type(broken, expected):
    model = "PaginatedRunDto" if "value" in broken else "QueryParamsDto"
    problems = contract_problems(broken, model, MODELS)
    assert any(expected in problem for problem in problems), problems


def test_the_sdks_client_finds_the_run_the_app_adopted_and_pages_as_the_service_does(aml, credential):
    aml.inject(AcceptThenDrop())
    retry = RetrySettings(max_attempts=2, deadline=30, attempt_timeout=5, listing_delay=1)
    result = PipelineSubmitter(TokenProvider(credential), retry).submit(app_request(aml), deadline())
    assert result.reconciled and [run.run_id for run in aml.accepted] == [result.run_id]
    app_query = aml.queries[-1]

    page = sdk_query(aml, filter=sdk_filter(KEY, include_children=False), top=1)

    assert [(run.run_id, run.tags["trigger_key"], run.parent_run_id) for run in page.value] == [
        (result.run_id, KEY, None)]
    assert page.continuation_token is None
    sdk_sent = aml.queries[-1]
    assert sdk_sent.path == app_query.path and sdk_sent.audience == app_query.audience
    assert sdk_sent.body["filter"] == f'((Tags/trigger_key eq "{KEY}") and (ParentRunId eq null))'


def test_the_stand_ins_pages_are_paginated_run_dtos_the_sdk_follows(aml, credential):
    retry = RetrySettings(max_attempts=1, deadline=30, attempt_timeout=5)
    submitter = PipelineSubmitter(TokenProvider(credential), retry)
    first, second = (submitter.submit(app_request(aml), deadline()).run_id for _ in range(2))

    page = sdk_query(aml, filter=sdk_filter(KEY), top=1)
    following = sdk_query(aml, filter=sdk_filter(KEY), top=1, continuation_token=page.continuation_token)

    assert [run.run_id for run in page.value + following.value] == [first, second]
    assert following.continuation_token is None
    token, _ = make_token("https://management.azure.com", "oracle")
    lookup = app_request(aml).lookup
    answer = requests.post(lookup.url, json=lookup.page(None).body, headers={"Authorization": f"Bearer {token}"},
                           timeout=5).json()
    assert _shape_problems(answer, "PaginatedRunDto", "$", MODELS) == []  # every key and type a RunDto's
