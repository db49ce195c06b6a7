"""Where a workspace's v1 pipelines API is, from its resource id, found the way azureml-core finds it: ARM's
workspace GET gives ``properties.discoveryUrl``; the discovery document there names the service hosts, and the
pipelines API is on its ``api`` host (azureml-core ``_restclient/service_context.py``: PIPELINES -> "api").

Only the ARM call carries a token (ARM's scope); the discovery document is read without one, as azureml-core
reads it. The URL that comes out is checked by the caller against the v1 host allowlist before a token goes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.core.aml.run_lookup import ARM_FOR_SCORING_HOST
from shared.core.aml.targets import ARM_SCOPE, WORKSPACE_ID_SHAPE, Workspace, is_loopback, parse_workspace_id
from shared.core.common.errors import InvalidInput, Refused

WORKSPACES_API_VERSION = "2024-10-01"
"""A stable Microsoft.MachineLearningServices api-version that serves Workspaces - Get."""
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
ARM_ENDPOINTS = dict(ARM_FOR_SCORING_HOST.values())
"""The clouds' ARM endpoints -> their token scopes: the only hosts the ARM call goes to (and, with
AML_ALLOW_LOCAL_TARGETS, a loopback stand-in)."""
DISCOVERY_KEY = "api"


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


def workspace_resource_url(arm: ArmEndpoint, workspace: Workspace) -> str:
    """ARM's Workspaces - Get URL, without its api-version (a query parameter)."""
    return f"{arm.url}{workspace.arm_path}"


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
    host = document.get(DISCOVERY_KEY) if isinstance(document, dict) else None
    if not isinstance(host, str) or not host.strip():
        raise Refused(f"the workspace's discovery document has no {DISCOVERY_KEY!r} host")
    return f"{host.strip().rstrip('/')}/pipelines/v1.0{workspace.arm_path}"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
