"""The v1 pipelines API's schedule routes, as azureml-pipeline-core's REST client calls them: list, get, and the
disable that ``Schedule.disable`` does (read the entity, PUT it back with ``EntityStatus: Disabled``); and where
that API is for a workspace's resource id (ARM's workspace GET, then its discovery document)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import requests

from shared.clients.aml.aml_answers import answer_json, error_details
from shared.clients.common.auth import TokenProvider
from shared.core.aml import workspace_discovery as discovery
from shared.core.aml.targets import ARM_SCOPE, Workspace
from shared.core.common.errors import NotFound, Refused, Unavailable, UnreadableJson
from shared.core.common.redaction import redact_url

DISABLED = "Disabled"
_GET_CONTENT_TYPE = "application/json; charset=utf-8"
_PUT_CONTENT_TYPE = "application/json-patch+json; charset=utf-8"
"""The content types the SDK's REST client sends on these routes."""


class V1ScheduleClient:
    """One workspace's v1 schedules; ``workspace_url`` is ``https://<region>.api.azureml.ms/pipelines/v1.0`` and the
    workspace's resource id, already checked against the v1 host allowlist."""

    def __init__(self, workspace_url: str, tokens: TokenProvider, *, timeout: float = 30,
                 session: requests.Session | None = None):
        self._base = workspace_url.rstrip("/") + "/Schedules"
        self._tokens = tokens
        self._timeout = timeout
        self._session = session or requests.Session()

    def list(self, *, active_only: bool = False) -> list[dict[str, Any]]:
        answer = self._call("GET", self._base, params={"activeOnly": str(active_only).lower()})
        if not isinstance(answer, list):
            raise Refused(f"{redact_url(self._base)}: expected a list of schedules")
        return answer

    def get(self, schedule_id: str) -> dict[str, Any]:
        answer = self._call("GET", self._url(schedule_id))
        if not isinstance(answer, dict):
            raise Refused(f"{redact_url(self._url(schedule_id))}: expected a schedule")
        return answer

    def disable(self, schedule_id: str) -> dict[str, Any]:
        """The schedule, disabled: the SDK's route (GET, then PUT the entity with its status changed)."""
        entity = {**self.get(schedule_id), "EntityStatus": DISABLED}
        answer = self._call("PUT", self._url(schedule_id), body=entity)
        if not isinstance(answer, dict):
            raise Refused(f"{redact_url(self._url(schedule_id))}: expected the updated schedule")
        return answer

    def _url(self, schedule_id: str) -> str:
        return f"{self._base}/{quote(schedule_id, safe='')}"

    def _call(self, method: str, url: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._tokens.bearer(ARM_SCOPE)}", "Accept": "application/json",
                   "Content-Type": _PUT_CONTENT_TYPE if body is not None else _GET_CONTENT_TYPE}
        return request_json(self._session, method, url, headers=headers, timeout=self._timeout, params=params,
                            body=body, reaching="the workspace", check="the workspace URL",
                            missing="no such schedule")


def find_v1_workspace_url(workspace: Workspace, arm: discovery.ArmEndpoint, tokens: TokenProvider, *,
                          allow_local: bool, timeout: float = 30, session: requests.Session | None = None) -> str:
    """The workspace's v1 pipelines API URL, as azureml-core finds it: ARM's workspace GET (ARM token) for its
    ``discoveryUrl``, then that document (no token) for the ``api`` host. Not yet checked against the allowlist."""
    session = session or requests.Session()
    answer = request_json(session, "GET", discovery.workspace_get_url(arm, workspace),
                          headers={"Authorization": f"Bearer {tokens.bearer(arm.scope)}", "Accept": "application/json"},
                          timeout=timeout,
                          reaching="ARM", check="--arm-endpoint",
                          missing="no such workspace, or the identity may not read it")
    document = request_json(session, "GET", discovery.discovery_url(answer, allow_local=allow_local),
                            headers={"Accept": "application/json"}, timeout=timeout,
                            reaching="the workspace's discovery document",
                            check="the workspace's properties.discoveryUrl", missing="no discovery document")
    return discovery.pipelines_workspace_url(document, workspace)


def request_json(session: requests.Session, method: str, url: str, *, headers: dict[str, str], timeout: float,
                 reaching: str, check: str, missing: str, params: dict[str, str] | None = None,
                 body: dict[str, Any] | None = None) -> Any:
    """The JSON a 200 answer carries; else NotFound (404, ``missing`` when the answer says nothing), Unavailable
    (unreachable, 429, 5xx: ``reaching`` names what, ``check`` what to check) or Refused; URLs redacted."""
    try:
        response = session.request(method, url, params=params, headers=headers, timeout=timeout,
                                   data=json.dumps(body).encode() if body is not None else None)
    except requests.RequestException as error:
        raise Unavailable(f"{reaching} at {redact_url(url)} cannot be reached ({type(error).__name__}); "
                          f"check {check} and the network") from None
    if response.status_code == 404:
        raise NotFound(f"{redact_url(url)}: not found ({error_details(response)[1] or missing})")
    if response.status_code != 200:
        code, message = error_details(response)
        error_type = Unavailable if response.status_code in (429,) or response.status_code >= 500 else Refused
        raise error_type(f"{method} {redact_url(url)}: HTTP {response.status_code} {code or ''}: "
                         f"{message or 'no error body'}".replace("  ", " "))
    try:
        return answer_json(response)
    except UnreadableJson as error:
        raise Refused(f"{redact_url(url)}: {error}") from None
