"""shared/core/aml/targets.py: which Azure ML URLs a token may be sent to, and what they point at."""

from __future__ import annotations

import pytest

from shared.core.aml.run_reads import status_read
from shared.core.aml.targets import (
    ARM_SCOPE,
    COMPONENT_EXPECTED,
    Target,
    TargetError,
    TargetKind,
    Workspace,
    is_loopback,
    parse_target,
)

PUBLIC_HOST = "eastus.api.azureml.ms"
WORKSPACE_PATH = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
WORKSPACE_ID = "/subscriptions/sub-1/resourcegroups/rg-1/workspaces/ws-1"
WORKSPACE = Workspace("sub-1", "rg-1", "ws-1")


def published_url(host: str = PUBLIC_HOST, root: str = "/pipelines/v1.0", pipeline_id: str = "pipe-1",
                  scheme: str = "https") -> str:
    return f"{scheme}://{host}{root}{WORKSPACE_PATH}/PipelineRuns/PipelineSubmit/{pipeline_id}"


def endpoint_url(host: str = PUBLIC_HOST, root: str = "/pipelines/v1.0", endpoint_id: str = "ep-1",
                 version: str | None = None) -> str:
    url = f"https://{host}{root}{WORKSPACE_PATH}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"
    return f"{url}/{version}" if version else url


def target_error(url: str, **options) -> str:
    with pytest.raises(TargetError) as caught:
        parse_target(url, **options)
    return str(caught.value)


# --- URL shapes and kinds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, kind", [
    (published_url(), TargetKind.PUBLISHED_PIPELINE),
    (published_url(host="eastus.aether.ms", root="/api/v1.0"), TargetKind.PUBLISHED_PIPELINE),
    (published_url(host="chinaeast2.api.ml.azure.cn"), TargetKind.PUBLISHED_PIPELINE),
    (published_url(host="usgovvirginia.api.ml.azure.us"), TargetKind.PUBLISHED_PIPELINE),
    (endpoint_url(), TargetKind.PIPELINE_ENDPOINT),
    (endpoint_url(host="westeurope.aether.ms", root="/api/v1.0"), TargetKind.PIPELINE_ENDPOINT),
])
def test_url_shapes_are_recognised_and_their_kind_inferred(url, kind):
    target = parse_target(url)
    assert target == Target(url=url, kind=kind, scope=ARM_SCOPE, pipeline_version=None, workspace=WORKSPACE)
    assert target.workspace_id == WORKSPACE_ID


def test_path_is_matched_case_insensitively_and_a_trailing_slash_dropped():
    url = published_url().replace("/PipelineRuns/PipelineSubmit/", "/pipelineruns/pipelinesubmit/")
    assert parse_target(url + "/").url == url


@pytest.mark.parametrize("kind", [None, "", "auto", "published_pipeline"])
def test_explicit_kind_matching_the_url_is_accepted(kind):
    assert parse_target(published_url(), kind=kind).kind is TargetKind.PUBLISHED_PIPELINE


@pytest.mark.parametrize("url, kind, inferred", [
    (published_url(), "pipeline_endpoint", "published_pipeline"),
    (endpoint_url(), "published_pipeline", "pipeline_endpoint"),
    (endpoint_url(), "batch_endpoint", "pipeline_endpoint"),
])
def test_explicit_kind_not_matching_the_url_is_rejected(url, kind, inferred):
    assert target_error(url, kind=kind) == f"kind {kind!r} was set but the URL is a {inferred} URL"


def test_an_unknown_kind_is_rejected_with_the_known_ones():
    assert target_error(endpoint_url(), kind="PipelineEndpoint") == (
        "kind 'PipelineEndpoint' must be auto or one of published_pipeline, pipeline_endpoint, batch_endpoint, "
        "pipeline_job")


@pytest.mark.parametrize("path_end", [
    "/PipelineRuns/PipelineSubmit",
    "/PipelineRuns/PipelineSubmit/pipe-1/extra",
    "/PipelineRuns/PipelineEndpointSubmit/ep-1",
    "/PipelineRuns/PipelineEndpointSubmit/Id/ep-1/2/extra",
])
def test_other_paths_are_rejected(path_end):
    url = f"https://{PUBLIC_HOST}/pipelines/v1.0{WORKSPACE_PATH}{path_end}"
    assert target_error(url).startswith("path does not fit a v1 published pipeline URL")


def test_other_api_roots_are_rejected():
    assert "path does not fit" in target_error(published_url(root="/pipelines/v2.0"))


# --- pipeline endpoint versions --------------------------------------------------------------------------------


def test_pipeline_version_goes_in_path_and_query_of_the_submit_url():
    target = parse_target(endpoint_url(), pipeline_version="2")
    assert (target.url, target.pipeline_version) == (endpoint_url(), "2")
    assert target.submit_url() == f"{endpoint_url()}/2?pipelineVersion=2"


def test_pipeline_version_is_quoted_in_the_submit_url():
    assert parse_target(endpoint_url(), pipeline_version="v 1/2").submit_url() == \
        f"{endpoint_url()}/v%201%2F2?pipelineVersion=v%201%2F2"


@pytest.mark.parametrize("url", [endpoint_url(), published_url()])
def test_submit_url_without_a_version_is_the_url(url):
    assert parse_target(url).submit_url() == url


@pytest.mark.parametrize("explicit", [None, "3"])
def test_version_in_the_url_path_is_parsed(explicit):
    target = parse_target(endpoint_url(version="3") + "/", pipeline_version=explicit)
    assert (target.url, target.pipeline_version) == (endpoint_url(), "3")
    assert target.submit_url() == f"{endpoint_url()}/3?pipelineVersion=3"


def test_conflicting_versions_are_rejected():
    assert target_error(endpoint_url(version="3"), pipeline_version="4") == \
        "URL names version '3' but pipeline_version is '4'"


def test_pipeline_version_on_a_published_pipeline_is_rejected():
    message = target_error(published_url(), pipeline_version="2")
    assert message == "pipeline_version applies to v1 pipeline endpoints only"


# --- what must not be in a URL, hosts, schemes -----------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    (endpoint_url() + "?pipelineVersion=2", "must not carry a query string or fragment"),
    (published_url() + "#top", "must not carry a query string or fragment"),
    (published_url().replace("https://", "https://user:pw@"), "must not carry user info"),
    (published_url().replace("https://", "https://token@"), "must not carry user info"),
])
def test_query_fragment_and_user_info_are_rejected(url, expected):
    assert target_error(url).startswith(expected)


@pytest.mark.parametrize("host", ["example.com", "azureml.ms", "api.azureml.ms", "evilapi.azureml.ms",
                                  "eastus.api.azureml.ms.example.com", "management.azure.com"])
def test_hosts_other_than_azure_ml_are_rejected(host):
    assert f"host {host!r} is not an Azure ML host" in target_error(published_url(host=host))


def test_plain_http_is_rejected():
    assert target_error(published_url(scheme="http")).startswith("must be https (plain http and loopback hosts")


@pytest.mark.parametrize("host", ["localhost", "LocalHost:7071", "127.0.0.1:8080", "[::1]:8080"])
def test_loopback_targets_over_http_only_with_allow_local(host):
    url = published_url(host=host, scheme="http")
    assert parse_target(url, allow_local=True).url == url.replace("LocalHost", "localhost")  # rebuilt, host lowered
    assert "is not an Azure ML host" in target_error(url)


UNSAFE_CHARACTERS = [("url", "must not contain backslashes, spaces or control characters")]
AMBIGUOUS_HOST = [("url", "host is ambiguous (percent-encoding or a host HTTP clients would read differently)")]


@pytest.mark.parametrize("host, problems", [
    ("evil.example\\.api.azureml.ms", UNSAFE_CHARACTERS),   # requests would send to evil.example
    ("evil.example\\@eastus.api.azureml.ms", UNSAFE_CHARACTERS),
    ("eastus.api.azureml.ms\t", UNSAFE_CHARACTERS),
    ("eastus .api.azureml.ms", UNSAFE_CHARACTERS),
    ("eastus.api.azureml.ms\x01", UNSAFE_CHARACTERS),    # a control character that is not white space
    ("eastus.api.azureml.ms\x7f", UNSAFE_CHARACTERS),    # DEL
    ("ev%69l.api.azureml.ms", AMBIGUOUS_HOST),           # percent-encoded host
    ("us%40er@eastus.api.azureml.ms", AMBIGUOUS_HOST),   # percent-encoding anywhere before the path
])
def test_hosts_an_http_client_could_read_differently_are_refused(host, problems):
    with pytest.raises(TargetError) as caught:
        parse_target(published_url(host=host))
    assert caught.value.problems == problems


def test_the_posted_url_is_rebuilt_from_the_checked_parts():
    url = published_url(host="EastUS.API.AzureML.ms:443")
    assert parse_target(url).url == url.replace("EastUS.API.AzureML.ms", "eastus.api.azureml.ms")


def test_allow_local_still_requires_http_or_https():
    assert target_error(published_url(host="localhost", scheme="ftp"), allow_local=True) == "must be http or https"


def test_malformed_port_is_not_a_url():
    assert target_error(published_url(host=f"{PUBLIC_HOST}:notaport")).startswith("not a URL (")


@pytest.mark.parametrize("url", [published_url(host=f"{PUBLIC_HOST}:8443"), "https://retrain.eastus.inference.ml.azure.com:444/jobs"])
def test_a_port_other_than_443_on_an_azure_ml_host_is_refused(url):
    port = url.split("/")[2].rsplit(":", 1)[1]
    with pytest.raises(TargetError) as caught:
        parse_target(url)
    assert caught.value.problems == [("url", f"port {port}: Azure ML hosts answer on https's port 443 only (leave the "
                                             "port out; other ports only on a loopback host, with "
                                             "AML_ALLOW_LOCAL_TARGETS=true)")]
    assert target_error(url, allow_local=True).startswith(f"port {port}: ")  # not a loopback host


def test_a_url_longer_than_2048_characters_is_refused_saying_its_length():
    longest = published_url(pipeline_id="p" * (2048 - len(published_url(pipeline_id=""))))
    assert len(longest) == 2048 and parse_target(longest).url == longest
    with pytest.raises(TargetError) as caught:
        parse_target(longest + "p" * 17_951)
    assert caught.value.problems == [("url", "is 19,999 characters long: at most 2,048")]
    assert target_error(longest + "p") == "is 2,049 characters long: at most 2,048"


def test_several_problems_in_one_url_are_reported_together():
    message = target_error("http://user:pw@example.com/nothing?x=1", kind="published_pipeline",
                           pipeline_version="2", scope="api://aml")
    expected_starts = [
        "must not carry user info", "must not carry a query string or fragment", "must be https", "path does not fit",
        "host 'example.com' is not an Azure ML host", "pipeline_version applies to v1 pipeline endpoints only",
        "token scope 'api://aml' must look like",
    ]
    parts = message.split("; ")
    assert len(parts) == len(expected_starts), message
    for part, start in zip(parts, expected_starts, strict=True):
        assert part.startswith(start)


SHAPES = (
    "a v1 published pipeline URL (.../PipelineRuns/PipelineSubmit/<pipeline-id>), a v1 pipeline endpoint URL "
    "(.../PipelineRuns/PipelineEndpointSubmit/Id/<endpoint-id>), as PublishedPipeline.endpoint / "
    "PipelineEndpoint.endpoint print them, a v2 batch endpoint scoring URI "
    "(https://<endpoint>.<region>.inference.ml.azure.com/jobs), or ARM's root for a pipeline job "
    "(https://management.azure.com)")
V1_HOSTS = "*.api.azureml.ms, *.aether.ms, *.api.ml.azure.cn, *.api.ml.azure.us"
SCORING = "https://retrain.eastus.inference.ml.azure.com/jobs"


@pytest.mark.parametrize("url, options, problems", [
    ("http://user:pw@example.com/nothing?x=1", {"kind": "published_pipeline", "pipeline_version": "2",
                                                "scope": "api://aml"}, [
        ("url", "must not carry user info: managed identity authenticates the call"),
        ("url", "must not carry a query string or fragment (the version goes in pipeline_version)"),
        ("url", "must be https (plain http and loopback hosts are allowed only with AML_ALLOW_LOCAL_TARGETS=true, "
                "for local development)"),
        ("url", f"path does not fit {SHAPES}"),
        ("url", f"host 'example.com' is not an Azure ML host (expected {V1_HOSTS})"),
        ("pipeline_version", "pipeline_version applies to v1 pipeline endpoints only"),
        ("scope", "token scope 'api://aml' must look like https://<resource>/.default"),
    ]),
    (published_url(host=""), {}, [("url", f"host '' is not an Azure ML host (expected {V1_HOSTS})")]),
    (published_url(host=f"{PUBLIC_HOST}:notaport"), {},
     [("url", "not a URL (Port could not be cast to integer value as 'notaport')")]),
    (published_url(), {"kind": "pipeline_endpoint"},
     [("kind", "kind 'pipeline_endpoint' was set but the URL is a published_pipeline URL")]),
    (endpoint_url(), {"kind": "PipelineEndpoint"},
     [("kind", "kind 'PipelineEndpoint' must be auto or one of published_pipeline, pipeline_endpoint, "
               "batch_endpoint, pipeline_job")]),
    (endpoint_url(version="3"), {"pipeline_version": "4"},
     [("pipeline_version", "URL names version '3' but pipeline_version is '4'")]),
    (published_url(host="localhost", scheme="ftp"), {"allow_local": True}, [("url", "must be http or https")]),
    (SCORING, {"pipeline_version": "2"},
     [("pipeline_version", "pipeline_version applies to v1 pipeline endpoints only")]),
    (SCORING, {"deployment": "bad name"},
     [("deployment", "deployment applies to batch endpoints only, and is a deployment name")]),
    (SCORING, {"workspace": "ws-1"},
     [("workspace", "workspace must be the workspace's resource id: /subscriptions/<sub>/resourceGroups/<rg>/"
                    "providers/Microsoft.MachineLearningServices/workspaces/<name>")]),
    (published_url(), {"workspace": WORKSPACE_PATH},
     [("workspace", "workspace is read from a v1 URL; set it for batch endpoints and pipeline jobs only")]),
    ("https://x.eastus.inference.ml.azure.com/v2/jobs", {"kind": "batch_endpoint"},
     [("url", f"path does not fit {SHAPES}")]),
])
def test_each_refusal_names_the_field_to_fix_and_says_exactly_why(url, options, problems):
    with pytest.raises(TargetError) as caught:
        parse_target(url, **options)
    assert caught.value.problems == problems
    assert str(caught.value) == "; ".join(text for _, text in problems)


def test_a_v1_url_names_the_workspace_runs_are_looked_up_in():
    assert parse_target(published_url()).workspace == Workspace("sub-1", "rg-1", "ws-1")


def test_a_batch_endpoint_workspace_may_end_with_a_slash():
    workspace = WORKSPACE_PATH.replace("/ws-1", "/wsX")
    assert parse_target(SCORING, workspace=workspace + "/").workspace == Workspace("sub-1", "rg-1", "wsX")


def test_a_trailing_slash_is_dropped_but_nothing_before_it():
    assert parse_target(published_url(pipeline_id="PIPEX") + "/").url == published_url(pipeline_id="PIPEX")


def test_https_to_a_loopback_host_is_accepted_with_allow_local():
    url = published_url(host="127.0.0.1:8443")
    assert parse_target(url, allow_local=True).url == url


# --- token scope -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["https://ml.azure.com/.default", "https://management.core.windows.net//.default",
                                   "https://example.azure.us/api/.default"])
def test_custom_scopes_of_the_right_form_are_accepted(scope):
    assert parse_target(published_url(), scope=scope).scope == scope


@pytest.mark.parametrize("scope", ["api://aml/.default", "https://management.azure.com",
                                   "http://management.azure.com/.default", "https://management.azure.com/.default x",
                                   "https:///.default"])
def test_scopes_of_another_form_are_rejected(scope):
    assert target_error(published_url(), scope=scope) == \
        f"token scope {scope!r} must look like https://<resource>/.default"


@pytest.mark.parametrize("scope", [None, ""])
def test_default_scope_is_arm(scope):
    assert parse_target(published_url(), scope=scope).scope == ARM_SCOPE == "https://management.azure.com/.default"


# --- studio links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [published_url(), endpoint_url(version="2")])
def test_run_link_points_at_the_run_in_studio(url):
    assert parse_target(url).run_link("run-123") == \
        "https://ml.azure.com/runs/run-123?wsid=/subscriptions/sub-1/resourcegroups/rg-1/workspaces/ws-1"


def test_run_link_quotes_the_run_id():
    assert parse_target(published_url()).run_link("a/b c").startswith("https://ml.azure.com/runs/a%2Fb%20c?wsid=")


def test_run_link_without_a_workspace_is_none():
    assert Target(url=published_url(), kind=TargetKind.PUBLISHED_PIPELINE).run_link("run-123") is None


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host, expected", [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("localhost.example.com", False), ("example.com", False), ("", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


# --- v2 batch endpoints ----------------------------------------------------------------------------------------

SCORING_URI = "https://retrain.eastus.inference.ml.azure.com/jobs"
WORKSPACE_RESOURCE_ID = WORKSPACE_PATH


def test_a_batch_endpoint_scoring_uri_is_inferred_with_the_ml_audience():
    target = parse_target(SCORING_URI, deployment="blue", workspace=WORKSPACE_RESOURCE_ID)
    assert (target.kind, target.scope, target.deployment, target.url) == (
        TargetKind.BATCH_ENDPOINT, "https://ml.azure.com/.default", "blue", SCORING_URI)
    assert target.run_link("batchjob-1") == (
        "https://ml.azure.com/runs/batchjob-1?wsid=/subscriptions/sub-1/resourcegroups/rg-1/workspaces/ws-1")
    assert parse_target(SCORING_URI).run_link("batchjob-1") is None  # no workspace given: no link


@pytest.mark.parametrize("url, kwargs, message", [
    ("https://retrain.eastus.api.azureml.ms/jobs", {}, "host 'retrain.eastus.api.azureml.ms' is not an Azure ML host "
                                                       "(expected *.inference.ml.azure.com"),
    (published_url(host="retrain.eastus.inference.ml.azure.com"), {},
     "is not an Azure ML host (expected *.api.azureml"),
    (SCORING_URI, {"pipeline_version": "2"}, "pipeline_version applies to v1 pipeline endpoints only"),
    (published_url(), {"deployment": "blue"}, "deployment applies to batch endpoints only"),
    (SCORING_URI, {"deployment": "bad name"}, "deployment applies to batch endpoints only, and is a deployment name"),
    (SCORING_URI, {"workspace": "ws-1"}, "workspace must be the workspace's resource id"),
    (published_url(), {"workspace": WORKSPACE_RESOURCE_ID}, "workspace is read from a v1 URL"),
    ("https://retrain.eastus.inference.ml.azure.com/score", {}, "path does not fit"),
])
def test_batch_endpoint_mistakes_are_refused(url, kwargs, message):
    assert message in target_error(url, **kwargs)


def test_a_local_stand_in_may_declare_its_kind_when_its_path_fits_none():
    target = parse_target("http://127.0.0.1:8080/v2/jobs", kind="batch_endpoint", allow_local=True)
    assert (target.kind, target.scope) == (TargetKind.BATCH_ENDPOINT, "https://ml.azure.com/.default")
    assert "path does not fit" in target_error("https://x.eastus.inference.ml.azure.com/v2/jobs",
                                               kind="batch_endpoint")


@pytest.mark.parametrize("scoring, history", [
    (SCORING_URI, "https://eastus.api.azureml.ms"),
    ("https://retrain.chinaeast2.inference.ml.azure.cn/jobs", "https://chinaeast2.api.ml.azure.cn"),
    ("https://retrain.usgovvirginia.inference.ml.azure.us/jobs", "https://usgovvirginia.api.ml.azure.us"),
])
def test_a_batch_jobs_status_is_read_through_arm_and_its_times_once_ended_from_its_regions_run_history(
        scoring, history):
    read = status_read(parse_target(scoring, workspace=WORKSPACE_RESOURCE_ID), "batchjob-1")

    assert read is not None and read.url.endswith(f"{WORKSPACE_RESOURCE_ID}/jobs/batchjob-1?api-version=2024-10-01")
    assert read.history_root == history
    assert read.times_url(history) == f"{history}/history/v1.0{WORKSPACE_RESOURCE_ID}/runs/batchjob-1"
    v1 = status_read(parse_target(published_url()), "run-1")
    assert v1 is not None and v1.times_path is None  # v1: run history itself answers status and times


# --- pipeline jobs: ARM itself, a workspace and a registered component --------------------------------------------

ARM_WORKSPACE = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"


def pipeline_job(url: str = "https://management.azure.com", **options) -> Target:
    return parse_target(url, **{"kind": "pipeline_job", "workspace": ARM_WORKSPACE,
                                "component": "azureml:retrain:3", **options})


def test_a_pipeline_job_target_is_arm_with_its_workspace_component_and_compute():
    target = pipeline_job(compute="cpu-cluster")

    assert target == Target(url="https://management.azure.com", kind=TargetKind.PIPELINE_JOB, scope=ARM_SCOPE,
                            workspace=WORKSPACE, component="azureml:retrain:3", compute="cpu-cluster")
    assert target.workspace_id == WORKSPACE_ID
    assert target.component_id() == f"{ARM_WORKSPACE}/components/retrain/versions/3"
    assert target.compute_id() == f"{ARM_WORKSPACE}/computes/cpu-cluster"
    assert pipeline_job().compute_id() is None
    assert not target.kind.is_v1 and not TargetKind.BATCH_ENDPOINT.is_v1
    assert TargetKind.PUBLISHED_PIPELINE.is_v1 and TargetKind.PIPELINE_ENDPOINT.is_v1


@pytest.mark.parametrize("url, scope", [
    ("https://management.azure.com/", "https://management.azure.com/.default"),
    ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
    ("https://Management.UsGovCloudApi.net", "https://management.usgovcloudapi.net/.default"),
])
def test_a_pipeline_jobs_token_scope_is_its_clouds_arm(url, scope):
    target = parse_target(url, workspace=ARM_WORKSPACE, component="azureml:retrain:3")  # kind inferred from the root

    assert (target.kind, target.scope, target.url) == (TargetKind.PIPELINE_JOB, scope, url.rstrip("/").lower())


def test_a_loopback_pipeline_job_target_takes_arms_scope():
    target = pipeline_job("http://127.0.0.1:8080", allow_local=True)

    assert (target.url, target.scope) == ("http://127.0.0.1:8080", ARM_SCOPE)


@pytest.mark.parametrize("url, options, problems", [
    ("https://xmanagement.azure.com", {}, [("url", "host 'xmanagement.azure.com' is not an Azure ML host (expected "
                                                  "*management.azure.com, *management.chinacloudapi.cn, "
                                                  "*management.usgovcloudapi.net)")]),
    ("https://a.management.azure.com", {}, [("url", "host 'a.management.azure.com' is not an Azure ML host "
                                                    "(expected *management.azure.com, *management.chinacloudapi.cn, "
                                                    "*management.usgovcloudapi.net)")]),
    ("https://management.azure.com", {"workspace": None},
     [("workspace", "a pipeline job is created in a workspace: its resource id, /subscriptions/<sub>/resourceGroups/"
                    "<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>")]),
    ("https://management.azure.com", {"component": None}, [("component", COMPONENT_EXPECTED)]),
    ("https://management.azure.com", {"component": "azureml:retrain"}, [("component", COMPONENT_EXPECTED)]),
    ("https://management.azure.com", {"component": "retrain:3"}, [("component", COMPONENT_EXPECTED)]),
    ("https://management.azure.com", {"component": "azureml:retrain@"}, [("component", COMPONENT_EXPECTED)]),
    ("https://management.azure.com", {"component": "azureml:retrain@prod"},
     [("component", "a registered pipeline component: azureml:<name>:<version> or azureml:<name>@latest (as "
                    "azure-ai-ml's components.get names them); azure-ai-ml resolves no label but @latest: it refuses "
                    "@prod without asking Azure ML")]),
    ("https://management.azure.com", {"component": "azureml:retrain@Latest"},
     [("component", COMPONENT_EXPECTED + "; azure-ai-ml resolves no label but @latest: it refuses @Latest without "
                                         "asking Azure ML")]),
    ("https://management.azure.com", {"compute": "cpu cluster"},
     [("compute", "a compute name in the workspace (e.g. cpu-cluster)")]),
    ("https://management.azure.com", {"compute": "-cpu"},
     [("compute", "a compute name in the workspace (e.g. cpu-cluster)")]),
])
def test_a_pipeline_job_target_refusal_names_the_field(url, options, problems):
    assert COMPONENT_EXPECTED == ("a registered pipeline component: azureml:<name>:<version> or azureml:<name>@latest "
                                  "(as azure-ai-ml's components.get names them)")
    with pytest.raises(TargetError) as caught:
        pipeline_job(url, **options)

    assert caught.value.problems == problems


@pytest.mark.parametrize("url, options, field", [
    ("https://retrain.eastus.inference.ml.azure.com/jobs", {"component": "azureml:retrain:3"}, "component"),
    (published_url(), {"compute": "cpu-cluster"}, "compute"),
])
def test_a_component_or_compute_is_refused_on_other_kinds(url, options, field):
    with pytest.raises(TargetError) as caught:
        parse_target(url, **options)

    assert caught.value.problems == [(field, f"{field} applies to pipeline_job targets only")]


def test_a_pipeline_jobs_ids_carry_the_names_as_written():
    target = pipeline_job(component="azureml:my.pipe_line-2:1.0.3", compute="gpu_1")

    assert target.component_id() == f"{ARM_WORKSPACE}/components/my.pipe_line-2/versions/1.0.3"
    assert target.compute_id() == f"{ARM_WORKSPACE}/computes/gpu_1"


def test_a_latest_component_is_listed_newest_first_and_has_an_id_once_its_version_is_known():
    target = pipeline_job(component="azureml:my.pipe_line-2@latest")

    assert target.latest_component() == "my.pipe_line-2"
    assert target.component_id() is None
    assert target.component_id("4") == f"{ARM_WORKSPACE}/components/my.pipe_line-2/versions/4"
    assert target.component_versions_url("my.pipe_line-2", "2024-01-01-preview") == (
        f"https://management.azure.com{ARM_WORKSPACE}/components/my.pipe_line-2/versions?"
        "api-version=2024-01-01-preview&$orderBy=createdtime%20desc&$top=1")
    assert pipeline_job().latest_component() is None
    assert pipeline_job().component_id("4") == f"{ARM_WORKSPACE}/components/retrain/versions/4"
    with pytest.raises(ValueError, match=r"^a component is read from a workspace: this target names none$"):
        Target(url="https://m", kind=TargetKind.PIPELINE_JOB).component_versions_url("retrain", "v")


def test_a_target_without_a_workspace_or_pinned_component_has_no_component_id_nor_job_url():
    component = "azureml:retrain:3"
    workspace = Workspace("sub-1", "rg-1", "ws-1")

    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, component=component).component_id() is None
    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, workspace=workspace).component_id() is None
    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, workspace=workspace,
                  component="azureml:retrain").component_id() is None
    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, component=component).component_id("4") is None
    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, workspace=workspace).component_id("4") is None
    assert Target(url="https://m", kind=TargetKind.PIPELINE_JOB, workspace=workspace).latest_component() is None
    with pytest.raises(ValueError, match=r"^a pipeline job is created in a workspace: this target names none$"):
        Target(url="https://m", kind=TargetKind.PIPELINE_JOB, component=component).job_url("n", "v")
    assert pipeline_job().job_url("trigger-1", "2024-10-01") == (
        f"https://management.azure.com{ARM_WORKSPACE}/jobs/trigger-1?api-version=2024-10-01")
