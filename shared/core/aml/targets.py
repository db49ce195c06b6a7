"""Azure ML submission targets: what a configured URL points at and whether a token may be sent to it."""

from __future__ import annotations

import enum
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from urllib3.util import parse_url

from shared.core.common.errors import InvalidValue

ARM_SCOPE = "https://management.azure.com/.default"
"""Token scope of v1 pipeline REST calls: the ARM audience, as azureml-core and the Logic App use."""
ML_SCOPE = "https://ml.azure.com/.default"
"""Token scope of v2 batch endpoint invocations ("different from the resource scope used to manage them")."""

V1_HOST_SUFFIXES = (".api.azureml.ms", ".aether.ms", ".api.ml.azure.cn", ".api.ml.azure.us")
"""Hosts of the v1 pipeline REST API (public cloud, the older aether route, sovereign clouds)."""
V2_HOST_SUFFIXES = (".inference.ml.azure.com", ".inference.ml.azure.cn", ".inference.ml.azure.us")
"""Hosts of v2 batch endpoint scoring URIs."""
ARM_HOSTS = ("management.azure.com", "management.chinacloudapi.cn", "management.usgovcloudapi.net")
"""ARM's hosts (public cloud, sovereign clouds), matched whole: where a v2 pipeline job is created."""
PIPELINE_JOB_ARM = "https://management.azure.com"
"""A ``pipeline_job`` target's URL when its rule names none: the public cloud's ARM."""
JOB_API_VERSION = "2024-10-01"
"""A stable Jobs API version (azure-ai-ml's MLClient.jobs pins a preview one): a pipeline job's GET, by the
submit's existing-job check and by status reads (``job_url``); here, so the blob path need not import run_reads."""


class TargetKind(str, enum.Enum):
    PUBLISHED_PIPELINE = "published_pipeline"
    PIPELINE_ENDPOINT = "pipeline_endpoint"
    BATCH_ENDPOINT = "batch_endpoint"
    PIPELINE_JOB = "pipeline_job"

    @property
    def is_v1(self) -> bool:
        return self in (TargetKind.PUBLISHED_PIPELINE, TargetKind.PIPELINE_ENDPOINT)


_WORKSPACE = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
_API_ROOT = r"^(?:/pipelines/v1\.0|/api/v1\.0)"
_PATH_SHAPES = {
    TargetKind.PUBLISHED_PIPELINE: re.compile(
        _API_ROOT + _WORKSPACE + r"/PipelineRuns/PipelineSubmit/(?P<id>[^/]+)/?$", re.IGNORECASE
    ),
    TargetKind.PIPELINE_ENDPOINT: re.compile(
        _API_ROOT + _WORKSPACE + r"/PipelineRuns/PipelineEndpointSubmit/Id/(?P<id>[^/]+)(?:/(?P<version>[^/]+))?/?$",
        re.IGNORECASE,
    ),
    TargetKind.BATCH_ENDPOINT: re.compile(r"^/jobs/?$"),
    TargetKind.PIPELINE_JOB: re.compile(r"^/?$"),
}
_HOSTS = {TargetKind.PUBLISHED_PIPELINE: V1_HOST_SUFFIXES, TargetKind.PIPELINE_ENDPOINT: V1_HOST_SUFFIXES,
          TargetKind.BATCH_ENDPOINT: V2_HOST_SUFFIXES, TargetKind.PIPELINE_JOB: ARM_HOSTS}
_DEFAULT_SCOPE = {kind: ML_SCOPE if kind is TargetKind.BATCH_ENDPOINT else ARM_SCOPE for kind in TargetKind}
_WORKSPACE_ID = re.compile("^" + _WORKSPACE + "$", re.IGNORECASE)
WORKSPACE_ID_SHAPE = ("/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices"
                      "/workspaces/<name>")
_DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
COMPONENT_VERSION = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""A component version as the app accepts it, written or read back from Azure ML."""
_COMPONENT = re.compile(r"azureml:(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]{0,254})"
                        r"(?::(?P<version>" + COMPONENT_VERSION.pattern + r")|@(?P<label>[A-Za-z0-9_.-]{1,64}))?")
LATEST = "latest"
"""The one label azure-ai-ml resolves (``ComponentOperations._managed_label_resolver``): the newest version."""
COMPONENT_EXPECTED = ("a registered pipeline component: azureml:<name>:<version> or azureml:<name>@latest (as "
                      "azure-ai-ml's components.get names them)")
_COMPUTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
MAX_URL_LENGTH = 2048
"""Longer than any Azure ML URL (a v1 pipeline URL is about 250 characters): a longer one is a mistake, and is
refused before it is parsed or shown."""
_EXPECTED_SHAPES = (
    "a v1 published pipeline URL (.../PipelineRuns/PipelineSubmit/<pipeline-id>), a v1 pipeline endpoint URL "
    "(.../PipelineRuns/PipelineEndpointSubmit/Id/<endpoint-id>), as PublishedPipeline.endpoint / "
    "PipelineEndpoint.endpoint print them, a v2 batch endpoint scoring URI "
    "(https://<endpoint>.<region>.inference.ml.azure.com/jobs), or ARM's root for a pipeline job "
    "(https://management.azure.com)"
)


class Workspace(NamedTuple):
    """A workspace's subscription, resource group and name, as parsed from a validated setting."""

    subscription: str
    resource_group: str
    name: str

    @property
    def studio_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourcegroups/{self.resource_group}/workspaces/{self.name}"

    @property
    def resource_id(self) -> str:
        """The ARM id as azure-ai-ml writes it into a job's body (componentId, default_compute)."""
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}")

    @property
    def arm_path(self) -> str:
        return (f"/subscriptions/{quote(self.subscription, safe='')}/resourceGroups/"
                f"{quote(self.resource_group, safe='')}/providers/Microsoft.MachineLearningServices/workspaces/"
                f"{quote(self.name, safe='')}")


class TargetError(InvalidValue, ValueError):
    """A target that must not be used; ``problems`` pairs each expectation with the field it is about (url, kind,
    pipeline_version, deployment, workspace, scope), so a configuration error names the setting to fix."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(text for _, text in problems))


class Target(NamedTuple):
    """Where runs are started, checked (``parse_target``): its URL, kind and token scope, and what its kind needs."""

    url: str
    kind: TargetKind
    scope: str = ARM_SCOPE
    pipeline_version: str | None = None
    deployment: str | None = None
    """A batch endpoint's non-default deployment (``azureml-model-deployment``)."""
    workspace: Workspace | None = None
    """The workspace as the validated URL (v1) or ``workspace`` setting (v2) named it: where a run is looked up."""
    component: str | None = None
    """A pipeline job's registered pipeline component, ``azureml:<name>:<version>`` or ``azureml:<name>@latest``."""
    compute: str | None = None
    """A pipeline job's default compute (a compute name in the workspace)."""

    def submit_url(self) -> str:
        """The URL to POST to: a pipeline endpoint version goes in the path and in ``pipelineVersion``."""
        if self.kind is TargetKind.PIPELINE_ENDPOINT and self.pipeline_version:
            version = quote(self.pipeline_version, safe="")
            return f"{self.url}/{version}?pipelineVersion={version}"
        return self.url

    def component_id(self, version: str | None = None) -> str | None:
        """The ARM id of the component's pinned version, or of ``version`` (what ``@latest`` resolved to), as
        azure-ai-ml's ``componentId`` names a registered version; None without a workspace or a version."""
        found = None if self.component is None else _COMPONENT.fullmatch(self.component)
        version = version or (found["version"] if found else None)
        if self.workspace is None or found is None or version is None:
            return None
        return f"{self.workspace.resource_id}/components/{found['name']}/versions/{version}"

    def latest_component(self) -> str | None:
        """The component's name when the target names its ``@latest`` version (resolved per job), else None."""
        found = None if self.component is None else _COMPONENT.fullmatch(self.component)
        return found["name"] if found and found["label"] == LATEST else None

    def component_versions_url(self, name: str, api_version: str) -> str:
        """``ComponentVersions - List`` of ``name``, newest first, one: the GET azure-ai-ml's
        ``_get_latest_version`` makes for ``name@latest`` (``$orderBy=createdtime desc``, ``$top=1``)."""
        if self.workspace is None:
            raise ValueError("a component is read from a workspace: this target names none")
        return (f"{self.url}{self.workspace.arm_path}/components/{name}/versions?api-version={api_version}"
                "&$orderBy=createdtime%20desc&$top=1")

    def job_url(self, name: str, api_version: str) -> str:
        """Pipeline job ``name``'s URL in ARM's ``Jobs`` API (its PUT and its GET); the name is the app's own
        (letters, digits, '-'), so it needs no quoting."""
        if self.workspace is None:
            raise ValueError("a pipeline job is created in a workspace: this target names none")
        return f"{self.url}{self.workspace.arm_path}/jobs/{name}?api-version={api_version}"

    def compute_id(self) -> str | None:
        """The default compute's ARM id, as azure-ai-ml sends ``settings.default_compute``."""
        if self.workspace is None or self.compute is None:
            return None
        return f"{self.workspace.resource_id}/computes/{self.compute}"

    @property
    def workspace_id(self) -> str | None:
        """``/subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>``, the form studio links carry: read from
        ``workspace``, so the two cannot disagree (and ``==`` compares the workspace once)."""
        return None if self.workspace is None else self.workspace.studio_id

    def run_link(self, run_id: str) -> str | None:
        if not self.workspace_id:
            return None
        return f"https://ml.azure.com/runs/{quote(run_id, safe='')}?wsid={self.workspace_id}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(
    url: str,
    *,
    kind: str | None = None,
    pipeline_version: str | None = None,
    scope: str | None = None,
    deployment: str | None = None,
    workspace: str | None = None,
    component: str | None = None,
    compute: str | None = None,
    allow_local: bool = False,
) -> Target:
    """Check a configured URL and infer its kind from its shape; raise TargetError listing every problem.

    ``kind`` confirms the inferred kind; on a loopback host (local development) it may name the kind of a
    stand-in whose path fits no Azure shape.
    """
    if len(url) > MAX_URL_LENGTH:
        raise TargetError([("url", f"is {len(url):,} characters long: at most {MAX_URL_LENGTH:,}")])
    problems: list[tuple[str, str]] = []
    if "\\" in url or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        # HTTP clients end the host at a backslash where urlsplit does not: the token would go elsewhere.
        raise TargetError([("url", "must not contain backslashes, spaces or control characters")])
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
        sent_to = (parse_url(url).host or "").lower()
    except ValueError as error:
        raise TargetError([("url", f"not a URL ({error})")]) from None
    if "%" in parts.netloc or sent_to.strip("[]") != host:
        raise TargetError([("url", "host is ambiguous (percent-encoding or a host HTTP clients would read "
                                   "differently)")])
    local = allow_local and is_loopback(host)
    if parts.username or parts.password:
        problems.append(("url", "must not carry user info: managed identity authenticates the call"))
    if parts.query or parts.fragment:
        problems.append(("url", "must not carry a query string or fragment (the version goes in pipeline_version)"))
    if local:
        if parts.scheme not in ("http", "https"):
            problems.append(("url", "must be http or https"))
    elif parts.scheme != "https":
        problems.append(("url", "must be https (plain http and loopback hosts are allowed only with "
                                "AML_ALLOW_LOCAL_TARGETS=true, for local development)"))

    inferred, match = _infer_kind(parts.path)
    declared = None
    if kind not in (None, "", "auto"):
        try:
            declared = TargetKind(kind)
        except ValueError:
            problems.append(("kind", f"kind {kind!r} must be auto or one of "
                                     f"{', '.join(k.value for k in TargetKind)}"))
    if declared and inferred and declared is not inferred:
        problems.append(("kind", f"kind {kind!r} was set but the URL is a {inferred.value} URL"))
    if inferred is None and not (local and declared):
        problems.append(("url", f"path does not fit {_EXPECTED_SHAPES}"))
    resolved = inferred or declared
    hosts = _HOSTS[resolved] if resolved else V1_HOST_SUFFIXES + V2_HOST_SUFFIXES
    if not local and not _host_fits(host.lower(), hosts):
        problems.append(("url", f"host {host!r} is not an Azure ML host (expected *{', *'.join(hosts)})"))
    if not local and port not in (None, 443):
        problems.append(("url", f"port {port}: Azure ML hosts answer on https's port 443 only (leave the port out; "
                                "other ports only on a loopback host, with AML_ALLOW_LOCAL_TARGETS=true)"))

    version = pipeline_version or None
    if match and inferred is TargetKind.PIPELINE_ENDPOINT and match.group("version"):
        if version and version != match.group("version"):
            problems.append(("pipeline_version",
                             f"URL names version {match.group('version')!r} but pipeline_version is {version!r}"))
        version = match.group("version")
    if version and resolved and resolved is not TargetKind.PIPELINE_ENDPOINT:
        problems.append(("pipeline_version", "pipeline_version applies to v1 pipeline endpoints only"))
    if deployment is not None and resolved and (
            resolved is not TargetKind.BATCH_ENDPOINT or not _DEPLOYMENT.fullmatch(deployment)):
        problems.append(("deployment", "deployment applies to batch endpoints only, and is a deployment name"))
    workspace_parts = _workspace(match, workspace, problems)
    _pipeline_job_fields(resolved, workspace_parts, component, compute, problems)

    resolved_scope = scope or _default_scope(resolved, host, local)
    if not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?/\.default", resolved_scope):
        problems.append(("scope", f"token scope {resolved_scope!r} must look like https://<resource>/.default"))

    if problems:
        raise TargetError(problems)
    assert resolved is not None
    base_path = parts.path.rstrip("/")
    if match and inferred is TargetKind.PIPELINE_ENDPOINT and match.group("version"):
        base_path = base_path.rsplit("/", 1)[0]
    netloc = f"[{host}]" if ":" in host else host
    return Target(
        url=f"{parts.scheme}://{netloc}{f':{port}' if port else ''}{base_path}",
        kind=resolved,
        scope=resolved_scope,
        pipeline_version=version,
        deployment=deployment,
        workspace=workspace_parts,
        component=component,
        compute=compute,
    )


def _host_fits(host: str, hosts: tuple[str, ...]) -> bool:
    """A suffix ('.api.azureml.ms') matches the hosts ending with it; a host (ARM's) matches only itself."""
    return any(host.endswith(known) if known.startswith(".") else host == known for known in hosts)


def _default_scope(kind: TargetKind | None, host: str, local: bool) -> str:
    """ARM's scope for a pipeline job is its cloud's ARM host (``https://management.chinacloudapi.cn/.default``)."""
    if kind is TargetKind.PIPELINE_JOB and not local:
        return f"https://{host.lower()}/.default"
    return _DEFAULT_SCOPE[kind] if kind else ARM_SCOPE


def _pipeline_job_fields(kind: TargetKind | None, workspace: Workspace | None, component: str | None,
                         compute: str | None, problems: list[tuple[str, str]]) -> None:
    """A pipeline job needs its workspace and component; no other kind takes a component or a compute."""
    if kind is not TargetKind.PIPELINE_JOB:
        for name, value in (("component", component), ("compute", compute)):
            if value is not None and kind is not None:
                problems.append((name, f"{name} applies to pipeline_job targets only"))
        return
    if workspace is None:
        problems.append(("workspace", f"a pipeline job is created in a workspace: its resource id, "
                                      f"{WORKSPACE_ID_SHAPE}"))
    found = None if component is None else _COMPONENT.fullmatch(component)
    if found is None or (found["version"] is None and found["label"] is None):
        problems.append(("component", COMPONENT_EXPECTED))
    elif found["label"] not in (None, LATEST):
        problems.append(("component", COMPONENT_EXPECTED + f"; azure-ai-ml resolves no label but @latest: it "
                                                           f"refuses @{found['label']} without asking Azure ML"))
    if compute is not None and not _COMPUTE.fullmatch(compute):
        problems.append(("compute", "a compute name in the workspace (e.g. cpu-cluster)"))


def _infer_kind(path: str) -> tuple[TargetKind | None, re.Match[str] | None]:
    for candidate, shape in _PATH_SHAPES.items():
        match = shape.match(path)
        if match:
            return candidate, match
    return None, None


def _workspace(match: re.Match[str] | None, workspace: str | None,
               problems: list[tuple[str, str]]) -> Workspace | None:
    """The workspace: from a v1 URL, or from ``workspace`` (an ARM id) for a batch endpoint or pipeline job."""
    if match is not None and "ws" in match.groupdict():
        if workspace is not None:
            problems.append(("workspace", "workspace is read from a v1 URL; set it for batch endpoints and "
                                          "pipeline jobs only"))
        return Workspace(match["sub"], match["rg"], match["ws"])
    if workspace is None:
        return None
    parsed = parse_workspace_id(workspace)
    if parsed is None:
        problems.append(("workspace", f"workspace must be the workspace's resource id: {WORKSPACE_ID_SHAPE}"))
    return parsed


def parse_workspace_id(resource_id: str) -> Workspace | None:
    """The workspace an ARM resource id names (a trailing slash allowed), or None if it is not one."""
    found = _WORKSPACE_ID.match(resource_id.rstrip("/"))
    return Workspace(found["sub"], found["rg"], found["ws"]) if found else None
