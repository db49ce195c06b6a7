"""Where a workspace's regional services are, from its resource id, found the way azureml-core finds them: ARM's
workspace GET gives ``properties.discoveryUrl``; the discovery document there names the service hosts (azureml-core
``_restclient/service_context.py``): the v1 pipelines API is on its ``api`` host (the importer), run history on its
``history`` host (an ended v2 job's times and error).

Only the ARM call carries a token (ARM's scope); the discovery document is read without one, as azureml-core
reads it. A host that comes out is held to its service's allowlist before a token goes there: run history's here,
the v1 pipelines API's by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.core.aml.run_lookup import ARM_FOR_SCORING_HOST
from shared.core.aml.run_reads import HISTORY_FOR_SCORING_HOST
from shared.core.aml.targets import ARM_SCOPE, WORKSPACE_ID_SHAPE, Workspace, is_loopback, parse_workspace_id
from shared.core.common.errors import InvalidInput, Refused
from shared.core.common.redaction import redact_url

WORKSPACES_API_VERSION = "2024-10-01"
"""A stable Microsoft.MachineLearningServices api-version that serves Workspaces - Get."""
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
ARM_ENDPOINTS = dict(ARM_FOR_SCORING_HOST.values())
"""The clouds' ARM endpoints -> their token scopes: the only hosts the ARM call goes to (and, with
AML_ALLOW_LOCAL_TARGETS, a loopback stand-in)."""
API_KEY = "api"
"""The discovery document's key for the v1 pipelines API (azureml-core: PIPELINES -> "api")."""
HISTORY_KEY = "history"
"""The discovery document's key for run history (azureml-core: RUNHISTORY -> "history")."""
RUN_HISTORY_HOSTS = tuple(HISTORY_FOR_SCORING_HOST.values())
"""The clouds' run-history hosts, after the region (``https://<region>.api.azureml.ms``)."""


@dataclass(frozen=True)
class ArmEndpoint:
    url: str
    scope: str


def workspace_id(resource_id: str) -> Workspace:
    """The workspace ``resource_id`` names, or InvalidInput saying the shape expected (nothing is sent)."""
    workspace = parse_workspace_id(resource_id.strip())
    if workspace is None:
        raise InvalidInput(f"--workspace {resource_id!r}: not a workspace resource id (expected {WORKSPACE_ID_SHAPE})")
    return workspace


def arm_endpoint(url: str, *, allow_local: bool) -> ArmEndpoint:
    """A known cloud's ARM endpoint with its scope, or a loopback one (the stand-in, ARM's scope) when allowed."""
    normalized = url.strip().rstrip("/").lower()
    if normalized in ARM_ENDPOINTS:
        return ArmEndpoint(normalized, ARM_ENDPOINTS[normalized])
    if allow_local and _is_local(normalized):
        return ArmEndpoint(normalized, ARM_SCOPE)
    raise InvalidInput(f"--arm-endpoint {url!r}: expected one of {', '.join(ARM_ENDPOINTS)} (loopback hosts only "
                       f"with AML_ALLOW_LOCAL_TARGETS=true, for local development)")


def workspace_get_url(arm: ArmEndpoint, workspace: Workspace) -> str:
    """ARM's Workspaces - Get URL, with its api-version."""
    return f"{arm.url}{workspace.arm_path}?api-version={WORKSPACES_API_VERSION}"


def discovery_url(answer: Any, *, allow_local: bool) -> str:
    """The workspace's ``properties.discoveryUrl``: https (http on loopback only when allowed), no user info."""
    url = answer.get("properties", {}).get("discoveryUrl") if isinstance(answer, dict) else None
    if not isinstance(url, str) or not url:
        raise Refused("ARM's answer for the workspace has no properties.discoveryUrl: cannot find its regional host")
    parts = urlsplit(url)
    local = allow_local and _is_local(url)
    if (parts.scheme != "https" and not local) or parts.username or "\\" in url or not parts.hostname:
        raise Refused("the workspace's properties.discoveryUrl is not an https URL: cannot find its regional host")
    return url


def pipelines_workspace_url(document: Any, workspace: Workspace) -> str:
    """The workspace's v1 pipelines API URL from the discovery document's ``api`` host (checked by the caller)."""
    return f"{_service_host(document, API_KEY)}/pipelines/v1.0{workspace.arm_path}"


def history_root(document: Any, *, allow_local: bool) -> str:
    """Run history's root from the discovery document's ``history`` host, if it is a run-history host of a cloud
    (``https://<region>.api.azureml.ms``, ``.api.ml.azure.cn``, ``.api.ml.azure.us``; a loopback host only when
    allowed); else Refused naming the host, before any token goes there."""
    root = _service_host(document, HISTORY_KEY)
    if not _is_history_root(root, allow_local=allow_local):
        raise Refused(f"the workspace's discovery document names run history at {redact_url(root)!r}, not an Azure "
                      f"ML run-history host (expected https://<region>{', https://<region>'.join(RUN_HISTORY_HOSTS)})"
                      ": no token is sent there")
    return root


def _service_host(document: Any, key: str) -> str:
    host = document.get(key) if isinstance(document, dict) else None
    if not isinstance(host, str) or not host.strip():
        raise Refused(f"the workspace's discovery document has no {key!r} host")
    return host.strip().rstrip("/")


def _is_history_root(root: str, *, allow_local: bool) -> bool:
    """A bare scheme and host (no user info, port, path, query or character clients read apart) of a cloud's run
    history, or a loopback one when allowed."""
    if any(char in root for char in "\\%@?#") or any(char.isspace() for char in root):
        return False
    try:
        parts = urlsplit(root)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if parts.path:
        return False
    if allow_local and _is_local(root):
        return True
    region, _, cloud = parts.netloc.lower().partition(".")
    return parts.scheme == "https" and region.isascii() and region.isalnum() and f".{cloud}" in RUN_HISTORY_HOSTS


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
