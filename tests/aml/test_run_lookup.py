"""Finding a run Azure ML already started: the listing's URL comes from the validated target alone, v2 batch jobs
are found in the workspace's job list, and the stand-in answers run history's query the way the service does."""

from __future__ import annotations

import pytest
import requests

from localdev.aml_standin import AcceptThenDelay, AcceptThenDrop
from localdev.tokens import make_token
from shared.core.aml.run_lookup import PageRequest, run_lookup
from shared.core.aml.targets import parse_target
from tests.support.batch import WORKSPACE, batch_rule, rules_file
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

V1 = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
      "Microsoft.MachineLearningServices/workspaces/ws-1/PipelineRuns/PipelineSubmit/pipe-1")
KEY = "a" * 64


def test_a_v1_lookup_asks_run_history_on_the_targets_own_host_with_the_targets_scope():
    lookup = run_lookup(parse_target(V1), "retrain nightly", KEY)

    assert lookup.url == ("https://eastus.api.azureml.ms/history/v1.0/subscriptions/sub-1/resourceGroups/rg-1/"
                          "providers/Microsoft.MachineLearningServices/workspaces/ws-1/experiments/retrain%20nightly/"
                          "runs:query")
    assert lookup.scope == "https://management.azure.com/.default"
    assert lookup.page(None) == PageRequest("POST", lookup.url, {"filter": f'(Tags/trigger_key eq "{KEY}")', "top": 50})
    assert lookup.page("token-2").body["continuationToken"] == "token-2"


@pytest.mark.parametrize("host, arm", [
    ("retrain.eastus.inference.ml.azure.com", "https://management.azure.com"),
    ("retrain.chinaeast2.inference.ml.azure.cn", "https://management.chinacloudapi.cn"),
])
def test_a_v2_lookup_asks_arm_in_the_endpoints_cloud_for_jobs_carrying_the_key(host, arm):
    lookup = run_lookup(parse_target(f"https://{host}/jobs", workspace=WORKSPACE), "e", KEY)

    assert lookup.page(None).url == (f"{arm}{WORKSPACE}/jobs?api-version=2024-04-01&properties=trigger_key%3D{KEY}")
    assert lookup.scope == f"{arm}/.default"


def test_a_batch_endpoint_without_a_workspace_has_no_lookup():
    assert run_lookup(parse_target("https://retrain.eastus.inference.ml.azure.com/jobs"), "e", KEY) is None


def test_a_next_link_from_an_answer_is_never_followed_only_its_page_token():
    lookup = run_lookup(parse_target("https://retrain.eastus.inference.ml.azure.com/jobs", workspace=WORKSPACE),
                        "e", KEY)

    runs, token = lookup.read({"value": [], "nextLink": "https://evil.example/steal?$skip=page-2"})

    assert (runs, token) == ([], "page-2")
    assert lookup.page(token).url.startswith(f"https://management.azure.com{WORKSPACE}/jobs?")


def test_only_runs_that_carry_the_key_count_whatever_the_service_matched():
    lookup = run_lookup(parse_target(V1), "e", KEY)

    runs, token = lookup.read({"value": [{"runId": "other", "tags": {"trigger_key": "b" * 64}},
                                         {"runId": "ours", "tags": {"trigger_key": KEY}}]})

    assert (runs, token) == (["ours"], None)


@pytest.mark.unit
def test_the_experiment_is_one_path_segment_of_the_v1_query_url():
    assert run_lookup(parse_target(V1), "a/b", KEY).url.endswith("/experiments/a%2Fb/runs:query")


@pytest.mark.unit
def test_a_loopback_batch_endpoint_lists_jobs_at_the_stand_in_with_arms_scope():
    target = parse_target("http://127.0.0.1:8123/jobs", workspace=WORKSPACE, allow_local=True)
    lookup = run_lookup(target, "e", KEY)
    assert (lookup.url, lookup.scope) == (f"http://127.0.0.1:8123{WORKSPACE}/jobs",
                                          "https://management.azure.com/.default")


@pytest.mark.unit
def test_a_v1_page_gives_the_runs_carrying_the_key_and_its_continuation_token():
    lookup = run_lookup(parse_target(V1), "e", KEY)

    assert lookup.read({"value": [{"runId": "ours", "tags": {"trigger_key": KEY}}, {"runId": "", "tags": None},
                                  "not a run"], "continuationToken": "token-2"}) == (["ours"], "token-2")
    assert lookup.read({"value": [], "continuationToken": ""}) == ([], None)
    assert lookup.read({"value": [], "continuationToken": 7}) == ([], None)


@pytest.mark.unit
def test_a_v2_page_gives_the_jobs_whose_property_bag_carries_the_key():
    lookup = run_lookup(parse_target("https://retrain.eastus.inference.ml.azure.com/jobs", workspace=WORKSPACE),
                        "e", KEY)
    jobs = [{"name": "ours", "properties": {"properties": {"trigger_key": KEY}}},
            {"name": "other", "properties": {"properties": None}}, {"name": "bare", "properties": None}]

    assert lookup.read({"value": jobs, "nextLink": "https://management.azure.com/x?api-version=1"}) == (["ours"], None)
    assert lookup.page("page 2") == PageRequest(
        "GET", f"{lookup.url}?api-version=2024-04-01&properties=trigger_key%3D{KEY}&%24skip=page%202", None)


@pytest.mark.unit
@pytest.mark.parametrize("document", [{"value": {}}, {"values": []}, [], None])
def test_a_page_that_is_not_a_list_of_runs_is_refused(document):
    lookup = run_lookup(parse_target(V1), "e", KEY)
    with pytest.raises(ValueError) as caught:
        lookup.read(document)
    assert str(caught.value) == 'expected {"value": [...]}'


def test_a_batch_job_whose_answer_was_lost_is_found_in_the_workspace_job_list_and_adopted(
        app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [batch_rule(aml)])
    aml.inject(AcceptThenDrop())
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/machines.csv", SAMPLE_CSV)

    deliver_blob(container, "incoming/machines.csv")

    [job] = aml.accepted
    record = ledger_record("v2", container, "incoming/machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", job.run_id, True)
    query = aml.queries[-1]
    assert query.path == f"{WORKSPACE}/jobs"
    assert query.query == {"api-version": "2024-04-01", "properties": f"trigger_key={record['key']}"}
    assert query.audience == "https://management.azure.com"  # an ARM call, not the scoring audience


def test_a_batch_endpoint_without_a_workspace_posts_again_after_a_lost_answer(app_env, aml, tmp_path, monkeypatch):
    """The documented v2 window: with no workspace there is nowhere to look, so the lost answer costs a second
    job; both carry the same repeatability_request-id (docs/concepts.md, Exactly once)."""
    rule = batch_rule(aml)
    del rule["target"]["workspace"]
    rules_file(tmp_path, monkeypatch, [rule])
    aml.inject(AcceptThenDrop())
    container = app_env["WATCH_CONTAINER"]
    upload(container, "incoming/machines.csv", SAMPLE_CSV)

    deliver_blob(container, "incoming/machines.csv")

    first, second = aml.accepted
    assert first.request_id == second.request_id and aml.queries == []


def test_an_answer_delayed_past_the_attempt_timeout_after_the_run_was_created_is_adopted(app_env, aml, monkeypatch):
    monkeypatch.setenv("SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "1")
    aml.inject(AcceptThenDelay(3))
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    [run] = aml.accepted
    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def test_a_last_attempt_whose_answer_was_lost_is_recorded_unknown_and_the_hosts_retry_adopts_its_run(
        app_env, aml, monkeypatch):
    """Retries run out on the very attempt that may have started the run: the redelivery must look before posting."""
    from shared.clients.aml.aml_client import TransientSubmitError

    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    aml.inject(AcceptThenDrop())
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    with pytest.raises(TransientSubmitError):
        deliver_blob(container, "machines.csv")
    failed = ledger_record("default", container, "machines.csv", etag)
    deliver_blob(container, "machines.csv")  # the host's retry

    [run] = aml.accepted
    assert (failed["state"], failed["outcome_unknown"]) == ("failed", True)
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def query(aml, body, experiment: str = "retrain-machines") -> requests.Response:
    token, _ = make_token("https://management.azure.com", "test")
    url = aml.url + ("/history/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                     f"workspaces/ws/experiments/{experiment}/runs:query")
    return requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5)


@pytest.mark.parametrize("text", ['(Tags/trigger_key ne "x")', "(Status eq 'Running')", '(Tags/a eq "x"',
                                  'Tags/a eq "x" or Tags/b eq "y"'])
def test_the_stand_in_refuses_a_filter_it_does_not_understand_with_a_400(aml, text):
    answer = query(aml, {"filter": text, "top": 5})

    assert answer.status_code == 400 and answer.json()["Error"]["Code"] == "BadRequest"


def test_a_run_listed_later_than_the_listing_delay_is_the_remaining_window_and_the_stand_in_pages(app_env, aml):
    """Run history listing the run later than RUN_LISTING_DELAY_SECONDS (1 s here) after the unanswered POST:
    the key is posted again (docs/concepts.md, Exactly once: the remaining window). The stand-in's query pages
    by ``top``."""
    aml.listing_delay = 60
    aml.inject(AcceptThenDrop())
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    first, second = aml.accepted
    key = first.body["tags"]["trigger_key"]
    assert query(aml, {"filter": f'(Tags/trigger_key eq "{key}")', "top": 5}).json()["value"] == []
    aml.listing_delay = 0
    sdk_filter = f'((Tags/trigger_key eq "{key}") and (ParentRunId eq null))'
    page = query(aml, {"filter": sdk_filter, "top": 1}).json()
    assert [run["runId"] for run in page["value"]] == [first.run_id] and page["continuationToken"] == "1"
    page = query(aml, {"filter": sdk_filter, "top": 1, "continuationToken": "1"}).json()
    assert [run["runId"] for run in page["value"]] == [second.run_id] and page["continuationToken"] is None
